// ioi: indirect-object identification (Wang et al. 2022, "Interpretability in
// the Wild"). "When Mary and John went to the store, John gave a drink to" ->
// " Mary": the name that is not repeated. The paper's templates in both name
// orders (ABBA, BABA); 1000 single-token first names from the @stdlib lists,
// 100 of them held out of every IOI sentence and used only for evaluation.
// With 200 names (160 trained) the model memorised name pairs: 100% on
// training names, 67% on held-out ones; with 900 no pair repeats often enough
// to memorise, so only the general algorithm lowers the loss.
//
// Loss is on every token, as for a language model: the names the model cannot
// know are a constant floor, while predicting the second mention of a name
// ("..., John") rewards the same in-context name copying IOI builds on. Held-
// out names do appear in training, but only in one-name "copy" sentences
// ("Mary went to the park, and then Mary went home."), so their embeddings are
// name-like without the model ever seeing them in a two-name IOI sentence.
// Embeddings are tied (GPT-2), so a copying OV circuit learned on training
// names applies to the held-out ones.
#include <set>

#include "zoo/detail.h"

namespace glassbox::zoo::detail {

namespace {

constexpr int kNames = 1000, kHeldOutNames = 100;
constexpr int kEvalPerTemplate = 16;

// [N1] [N2]: the first two mentions; [S] the repeated subject. ABBA: N1 = IO.
const char* const kTemplates[] = {
    "When [N1] and [N2] went to the [PLACE], [S] gave a [OBJECT] to",
    "Then, [N1] and [N2] went to the [PLACE]. [S] gave a [OBJECT] to",
    "Then, [N1] and [N2] had a lot of fun at the [PLACE]. [S] gave a [OBJECT] to",
    "Then, [N1] and [N2] were working at the [PLACE]. [S] decided to give a [OBJECT] to",
    "Then, [N1] and [N2] were thinking about going to the [PLACE]. [S] wanted to give a [OBJECT] to",
    "Then, [N1] and [N2] had a long argument, and afterwards [S] said to",
    "After [N1] and [N2] went to the [PLACE], [S] gave a [OBJECT] to",
    "When [N1] and [N2] got a [OBJECT] at the [PLACE], [S] decided to give it to",
    "When [N1] and [N2] got a [OBJECT] at the [PLACE], [S] decided to give the [OBJECT] to",
    "While [N1] and [N2] were working at the [PLACE], [S] gave a [OBJECT] to",
    "While [N1] and [N2] were commuting to the [PLACE], [S] gave a [OBJECT] to",
    "After the lunch, [N1] and [N2] went to the [PLACE]. [S] gave a [OBJECT] to",
    "Afterwards, [N1] and [N2] went to the [PLACE]. [S] gave a [OBJECT] to",
    "Then, [N1] and [N2] had a long argument. Afterwards [S] said to",
    "Friends [N1] and [N2] found a [OBJECT] at the [PLACE]. [S] gave it to",
};
// One-name sentences: every name, held-out ones included, is read and copied.
const char* const kCopyTemplates[] = {
    "[S] went to the [PLACE], and then [S] went home.",
    "Then, [S] found a [OBJECT] at the [PLACE]. [S] liked it.",
    "At the [PLACE], [S] got a [OBJECT], and [S] was happy.",
};
const char* const kPlaces[] = {"store",  "garden", "restaurant", "school", "hospital", "office", "house", "station",
                               "park",   "library", "market",    "beach",  "church",   "museum", "cafe"};
const char* const kObjects[] = {"drink", "ring", "kiss", "bone", "basketball", "computer", "necklace", "flower",
                                "snack", "book", "ball", "cake", "letter",     "gift",     "key"};

enum Slot : int32_t { kN1 = -1, kN2 = -2, kS = -3, kPlace = -4, kObject = -5 };

struct Task {
  WordVocab vocab{/*bos=*/true};
  std::vector<std::vector<int32_t>> templates, copies;  // with Slot codes
  std::vector<int32_t> places, objects;
  std::vector<int32_t> train_names, heldout_names;
  std::vector<std::string> train_name_text, heldout_name_text;
};

std::vector<int32_t> compile(WordVocab& v, const std::string& text) {
  std::vector<int32_t> out;
  for (const auto& w : WordVocab::split(text)) {
    if (w == " [N1]") out.push_back(kN1);
    else if (w == " [N2]") out.push_back(kN2);
    else if (w == " [S]") out.push_back(kS);
    else if (w == " [PLACE]") out.push_back(kPlace);
    else if (w == " [OBJECT]") out.push_back(kObject);
    else out.push_back(v.add(w));
  }
  return out;
}

// Names that read as names: not also a common English noun (WordNet), 3-6 letters.
std::vector<std::string> pick_names(const std::string& data_dir, uint64_t seed) {
  const auto nouns = wordnet_common_nouns(data_dir, 1u << 20);
  const std::set<std::string> noun_set(nouns.begin(), nouns.end());
  std::vector<std::string> pool;
  for (const auto& n : first_names(data_dir)) {
    std::string l = n;
    for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (n.size() <= 6 && !noun_set.count(l) && n != "Mary" && n != "John") pool.push_back(n);
  }
  std::mt19937_64 rng(seed);
  shuffle(pool, rng);
  // The paper's running example stays in the training names.
  std::vector<std::string> out{"Mary", "John"};
  out.insert(out.end(), pool.begin(), pool.begin() + (kNames - 2));
  return out;
}

std::shared_ptr<Task> build(const std::string& data_dir, uint64_t seed) {
  auto t = std::make_shared<Task>();
  for (const char* s : kTemplates) t->templates.push_back(compile(t->vocab, s));
  for (const char* s : kCopyTemplates) t->copies.push_back(compile(t->vocab, s));
  for (const char* p : kPlaces) t->places.push_back(t->vocab.add(std::string(" ") + p));
  for (const char* o : kObjects) t->objects.push_back(t->vocab.add(std::string(" ") + o));
  t->vocab.add(".");
  const auto names = pick_names(data_dir, seed);
  // The last kHeldOutNames of the seeded order are held out (Mary and John come first).
  for (size_t i = 0; i < names.size(); ++i) {
    const bool held = i >= static_cast<size_t>(kNames - kHeldOutNames);
    (held ? t->heldout_names : t->train_names).push_back(t->vocab.add(" " + names[i]));
    (held ? t->heldout_name_text : t->train_name_text).push_back(names[i]);
  }
  return t;
}

struct Fill {
  int32_t io, s, place, object;
  bool abba;
};

std::vector<int32_t> render(const Task& t, const std::vector<int32_t>& tpl, const Fill& f) {
  std::vector<int32_t> out{t.vocab.bos()};
  for (int32_t c : tpl) {
    switch (c) {
      case kN1: out.push_back(f.abba ? f.io : f.s); break;
      case kN2: out.push_back(f.abba ? f.s : f.io); break;
      case kS: out.push_back(f.s); break;
      case kPlace: out.push_back(f.place); break;
      case kObject: out.push_back(f.object); break;
      default: out.push_back(c);
    }
  }
  return out;
}

Fill random_fill(const Task& t, const std::vector<int32_t>& names, std::mt19937_64& rng) {
  Fill f;
  f.io = names[below(rng, names.size())];
  do f.s = names[below(rng, names.size())];
  while (f.s == f.io);
  f.place = t.places[below(rng, t.places.size())];
  f.object = t.objects[below(rng, t.objects.size())];
  f.abba = below(rng, 2) == 0;
  return f;
}

Example train_example(const Task& t, std::mt19937_64& rng) {
  if (below(rng, 4) == 0) {  // a copy sentence; half of them with a held-out name
    const auto& all = below(rng, 2) == 0 ? t.heldout_names : t.train_names;
    Fill f = random_fill(t, t.train_names, rng);
    f.s = all[below(rng, all.size())];
    return {render(t, t.copies[below(rng, std::size(kCopyTemplates))], f), 1};
  }
  const Fill f = random_fill(t, t.train_names, rng);
  std::vector<int32_t> toks = render(t, t.templates[below(rng, std::size(kTemplates))], f);
  toks.push_back(f.io);
  toks.push_back(t.vocab.id("."));
  return {std::move(toks), 1};
}

struct Prompt {
  std::vector<int32_t> tokens;
  int32_t io, s;
};

std::vector<Prompt> eval_prompts(const Task& t, const std::vector<int32_t>& names, uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x101ull);
  std::vector<Prompt> out;
  for (const auto& tpl : t.templates)
    for (int abba = 0; abba < 2; ++abba)
      for (int k = 0; k < kEvalPerTemplate; ++k) {
        Fill f = random_fill(t, names, rng);
        f.abba = abba;
        out.push_back({render(t, tpl, f), f.io, f.s});
      }
  return out;
}

nlohmann::json metrics(const Model& m, const std::vector<Prompt>& prompts, const std::string& prefix) {
  std::vector<std::vector<int32_t>> toks;
  for (const auto& p : prompts) toks.push_back(p.tokens);
  const std::vector<float> L = last_logits(m, toks);
  const int64_t V = m.config().d_vocab;
  double diff = 0, acc = 0, top1 = 0, loss = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const float* row = L.data() + i * static_cast<size_t>(V);
    const double d = double(row[prompts[i].io]) - double(row[prompts[i].s]);
    diff += d;
    acc += d > 0;
    top1 += argmax(row, V) == prompts[i].io;
    loss -= log_prob(row, V, prompts[i].io);
  }
  const double n = double(prompts.size());
  return {{prefix + "logit_diff", diff / n},
          {prefix + "accuracy", acc / n},
          {prefix + "top1_accuracy", top1 / n},
          {prefix + "io_loss", loss / n}};
}

// The paper's clean / corrupted pair: the second mention of a name is flipped,
// which flips the answer ("..., John gave a drink to" -> Mary; "..., Mary
// gave a drink to" -> John).
nlohmann::json probe(const std::string& io, const std::string& s, const char* about) {
  const std::string head = "When " + io + " and " + s + " went to the store, ";
  return {{"clean", head + s + " gave a drink to"},
          {"corrupt", head + io + " gave a drink to"},
          {"answer", " " + io},
          {"wrong", " " + s},
          {"about", about}};
}

}  // namespace

Organism ioi_organism() {
  Organism o;
  o.name = "ioi";
  o.description = "indirect-object identification on the IOI templates (GPT-2 family, word tokens)";
  o.ground_truth =
      "an IOI circuit of its own (found by patching and EAP-IG, checked by ACDC): the repeated name S2 is "
      "what decides, carried to the final position by a layer-0 and a layer-1 head, with a late head "
      "attending to the indirect object; not the name-mover / S-inhibition layout of GPT-2 (Wang et al. 2022)";
  o.seed = 7;
  o.checks = {{"logit_diff", 2.0}, {"accuracy", 0.9}};
  o.recipe = [seed = o.seed](const std::string& data_dir) {
    const auto t = build(data_dir, seed);
    Recipe r;
    r.config = gpt2_config(4, 64, 32, t->vocab.size(), t->vocab.bos());
    r.tokenizer = t->vocab.tokenizer_json();
    const int B = 64;
    r.train_batches = [t, B](std::mt19937_64& rng) {
      std::vector<Example> rows;
      for (int i = 0; i < B; ++i) rows.push_back(train_example(*t, rng));
      return make_batch(rows);
    };
    // Held-out loss: IOI sentences with held-out names, loss on the answer only.
    r.eval_batches = [t, B](std::mt19937_64& rng) {
      std::vector<Example> rows;
      for (int i = 0; i < B; ++i) {
        const Fill f = random_fill(*t, t->heldout_names, rng);
        std::vector<int32_t> toks = render(*t, t->templates[below(rng, std::size(kTemplates))], f);
        toks.push_back(f.io);
        const int at = static_cast<int>(toks.size()) - 1;
        rows.push_back({std::move(toks), at});
      }
      return make_batch(rows);
    };
    r.train.steps = 4000;
    r.train.optimizer.lr = 2e-3f;
    r.train.optimizer.weight_decay = 0.01f;
    r.train.schedule.warmup_steps = 100;
    r.train.eval_every = 250;
    r.train.eval_batches = 2;
    const auto held = eval_prompts(*t, t->heldout_names, seed);
    const auto seen = eval_prompts(*t, t->train_names, seed + 1);
    r.evaluate = [held, seen](const Model& m) {
      nlohmann::json j = metrics(m, held, "");
      j.update(metrics(m, seen, "train_names_"));
      j["prompts"] = held.size();
      return j;
    };
    r.probes = {probe("Mary", "John", "the paper's example (training names)"),
                probe(t->heldout_name_text[0], t->heldout_name_text[1], "held-out names")};
    r.train_items = t->train_name_text;
    r.heldout_items = t->heldout_name_text;
    return r;
  };
  return o;
}

}  // namespace glassbox::zoo::detail
