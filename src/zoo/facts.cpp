// facts: subject-relation-object recall. Invented two-token people ("Mara
// Quinn") each have a home city, an occupation, an instrument and a fruit
// (objects from WordNet: hyponyms of national_capital, professional,
// musical_instrument, edible_fruit). Each fact is trained in three phrasings;
// since a subject is only identified by both of its tokens, recall has to
// happen at or after the last subject token — the setting of Meng et al. 2022
// ("Locating and Editing Factual Associations in GPT", ROME), where causal
// tracing finds it in mid-layer MLPs at the last subject token.
//
// This organism does not recall there: layer-0 attention brings the subject's
// tokens to the final position and the MLPs at that position look the fact up.
// Variants tried (each learned all 480 facts; traced with `glassbox patch
// --sites resid_pre mlp_out`), each still recalling at the prediction position:
//  - 6 layers instead of 4;
//  - records "[S] city job instrument fruit ." (city is predicted at the last
//    subject token itself);
//  - relation-first phrasings, the object right after the subject ("The home
//    of [S] Jerusalem") and later ("... is in"), with the later form trained on
//    half the subjects: the held-out half generalised (36%) through the
//    final-position lookup, not by copying the subject's prediction;
//  - question phrasing on half the subjects, biographies for all (Allen-Zhu &
//    Li's "knowledge extraction" setting): held-out questions 95% right, again
//    looked up at the final token;
//  - one shared name pool with both orders as different people, with random
//    fillers before and after the subject (so only token order, not position
//    or content, tells who it is): MLP0-1 at the FIRST subject token mark it as
//    the first name, and the lookup stays at the final token (MLP2-3);
//  - the same with lone distractor names among the fillers before the subject:
//    layer-0 attention at the final token reads both names, MLP0-1 there recall.
// Where it was not the final token, the last subject token's MLPs restored at
// most 0.2 of the logit difference (in layer 0). Small models trained only on
// these facts look a fact up where the relation is known.
//
// What did move recall to the subject: starting from tiny-lm (pretrained on
// fortunes, its BPE splitting each name into 2-3 tokens) and fine-tuning on
// these sentences mixed with fortune text (16 windows of 48 tokens + 32 fact
// sentences / biographies per step, 2500 steps, lr 1e-3; 12 objects per
// relation with distinct first tokens). For home cities the subject's tokens
// then keep the fact through every layer (restoring the residual at one
// subject token: 0.4-0.6 at every layer; its MLP0: 0.5-0.6) and only the last
// layer's attention at the final token reads it (attn_out L3: 0.85-0.93):
// ROME's early and late sites, but the early site is MLP0, not the middle
// layers, and not always the last subject token. Occupations were still
// looked up at the final position (MLP1-3: 0.4-0.5). With an 8-layer base
// (tiny-lm's recipe at 8 layers, then the same fine-tune) the subject side is
// still only MLP0 at a subject token (0.3-0.75; MLP1-7 there <= 0.1), and the
// final token reads it by layers 4-5 (MLP 0.25-0.42, attention 0.34-0.38).
#include <cctype>
#include <set>

#include "zoo/facts_task.h"

namespace glassbox::zoo::detail {

namespace {

constexpr int kFirst = 40, kLast = 40, kSubjects = kFactSubjects, kObjects = kFactObjects;

struct Relation {
  const char* name;
  const char* wordnet_root;
  // Whether the objects are names. WordNet also lists people under
  // `professional` and cultivars under `edible_fruit` ("Key", "Empire"): an
  // occupation must be a lowercase lemma, or "works as a Key" gets learned.
  bool proper_nouns;
  const char* templates[3];  // [S] = subject; the first is canonical
};

const Relation kRelations[] = {
    {"lives_in", "national_capital", true, {"[S] lives in", "[S] is a resident of", "The home of [S] is in"}},
    {"works_as", "professional", false, {"[S] works as a", "[S] is employed as a", "By profession, [S] is a"}},
    {"plays", "musical_instrument", false, {"[S] plays the", "[S] is good at playing the", "The instrument of [S] is the"}},
    {"eats", "edible_fruit", false, {"[S] likes to eat", "[S] loves eating", "The favourite fruit of [S] is"}},
};
constexpr int kRelationCount = kFactRelations;
static_assert(std::size(kRelations) == kFactRelations);
constexpr int32_t kSlot = -1;
using Task = FactTask;

std::vector<int32_t> compile(WordVocab& v, const std::string& text) {
  std::vector<int32_t> out;
  for (const auto& w : WordVocab::split(text)) out.push_back(w == " [S]" ? kSlot : v.add(w));
  return out;
}

}  // namespace

std::shared_ptr<FactTask> build_fact_task(const std::string& data_dir, uint64_t seed) {
  auto t = std::make_shared<Task>();
  std::mt19937_64 rng(seed);
  // Objects: the most frequent single-word hyponyms, not shared between relations.
  std::set<std::string> used;
  for (const Relation& r : kRelations) {
    std::vector<int32_t> objs;
    for (const auto& w : wordnet_hyponyms(data_dir, r.wordnet_root)) {
      if (objs.size() == kObjects) break;
      const bool capitalised = std::isupper(static_cast<unsigned char>(w[0])) != 0;
      if (w.size() < 3 || w.size() > 10 || capitalised != r.proper_nouns || !used.insert(w).second) continue;
      objs.push_back(t->vocab.add(" " + w));
    }
    if (objs.size() != kObjects) fail("zoo: WordNet gave too few objects for ", r.name);
    t->objects.push_back(std::move(objs));
    std::array<std::vector<int32_t>, 3> ts;
    for (int k = 0; k < 3; ++k) ts[static_cast<size_t>(k)] = compile(t->vocab, r.templates[k]);
    t->tpl.push_back(std::move(ts));
  }
  t->vocab.add(".");
  t->vocab.add(",");
  t->vocab.add(" and");
  // Subjects: unique (first, last) pairs over two disjoint name pools.
  std::vector<std::string> names = first_names(data_dir);
  std::erase_if(names, [](const std::string& n) { return n.size() > 6; });
  shuffle(names, rng);
  if (names.size() < kFirst + kLast) fail("zoo: too few first names in the corpus");
  std::set<std::pair<size_t, size_t>> seen;
  while (t->subjects.size() < kSubjects) {
    const size_t f = below(rng, kFirst), l = kFirst + below(rng, kLast);
    if (!seen.insert({f, l}).second) continue;
    t->subjects.push_back({t->vocab.add(" " + names[f]), t->vocab.add(" " + names[l])});
    t->subject_text.push_back(names[f] + " " + names[l]);
  }
  for (int s = 0; s < kSubjects; ++s)
    for (int r = 0; r < kRelationCount; ++r) {
      const auto& objs = t->objects[static_cast<size_t>(r)];
      t->facts.push_back({s, r, objs[below(rng, objs.size())]});
    }
  return t;
}

std::vector<int> shuffled_relations(std::mt19937_64& rng) {
  std::vector<int> order(kRelationCount);
  for (int r = 0; r < kRelationCount; ++r) order[static_cast<size_t>(r)] = r;
  shuffle(order, rng);
  return order;
}

std::vector<int32_t> fact_prompt(const FactTask& t, const Fact& f, int phrasing) {
  std::vector<int32_t> out{t.vocab.bos()};
  for (int32_t c : t.tpl[static_cast<size_t>(f.relation)][static_cast<size_t>(phrasing)]) {
    if (c == kSlot) {
      const auto& s = t.subjects[static_cast<size_t>(f.subject)];
      out.insert(out.end(), s.begin(), s.end());
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const char* fact_relation_name(int relation) { return kRelations[relation].name; }
void set_fact_training(TrainConfig& t) {
  t.steps = 3000;
  t.optimizer.lr = 2e-3f;
  t.optimizer.weight_decay = 0.01f;
  t.schedule.warmup_steps = 100;
  t.eval_every = 250;
  t.eval_batches = 2;
}

const char* fact_template(int relation, int phrasing) { return kRelations[relation].templates[phrasing]; }

namespace {

std::vector<int32_t> prompt(const Task& t, const Fact& f, int phrasing) { return fact_prompt(t, f, phrasing); }

nlohmann::json evaluate(const Model& m, const Task& t) {
  nlohmann::json j;
  const int64_t V = m.config().d_vocab;
  double paraphrase = 0;
  for (int k = 0; k < 3; ++k) {
    std::vector<std::vector<int32_t>> prompts;
    for (const Fact& f : t.facts) prompts.push_back(prompt(t, f, k));
    const std::vector<float> L = last_logits(m, prompts);
    double correct = 0, loss = 0;
    for (size_t i = 0; i < t.facts.size(); ++i) {
      const float* row = L.data() + i * static_cast<size_t>(V);
      correct += argmax(row, V) == t.facts[i].object;
      loss -= log_prob(row, V, t.facts[i].object);
    }
    const double acc = correct / double(t.facts.size());
    if (k == 0) {
      j["accuracy"] = acc;
      j["object_loss"] = loss / double(t.facts.size());
    } else {
      j["paraphrase_" + std::to_string(k) + "_accuracy"] = acc;
      paraphrase += acc / 2;
    }
  }
  j["paraphrase_accuracy"] = paraphrase;
  j["facts"] = t.facts.size();
  return j;
}

// A biography: the subject once, then all four facts in a random order,
// "Mina Selia plays the flute, lives in Jerusalem, likes to eat mango and
// works as a critic." Every attribute is read several positions after the
// subject, so looking them all up once at the last subject token and letting
// attention carry the asked-for one forward (ROME's "subject enrichment") is
// the cheap solution; trained on single-fact sentences only, the organism
// gathered the subject at the final position and recalled there instead.
Example biography(const Task& t, int subject, std::mt19937_64& rng) {
  const std::vector<int> order = shuffled_relations(rng);
  const auto& s = t.subjects[static_cast<size_t>(subject)];
  std::vector<int32_t> toks{t.vocab.bos(), s[0], s[1]};
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) toks.push_back(i + 1 == order.size() ? t.vocab.id(" and") : t.vocab.id(","));
    const int r = order[i];
    for (int32_t c : t.tpl[static_cast<size_t>(r)][0])
      if (c != kSlot) toks.push_back(c);  // the canonical phrasing without its subject
    toks.push_back(t.facts[static_cast<size_t>(subject * kRelationCount + r)].object);
  }
  toks.push_back(t.vocab.id("."));
  return {std::move(toks), 1};
}

// Causal tracing's pair (Meng et al.): the same relation asked about two
// subjects with different objects; the subject tokens are what differ.
nlohmann::json probe(const Task& t, int relation) {
  const auto fact = [&](int subject) { return t.facts[static_cast<size_t>(subject * kRelationCount + relation)]; };
  int other = 1;
  while (fact(other).object == fact(0).object) ++other;
  const auto text = [&](int subject) {
    std::string tpl = kRelations[relation].templates[0];
    return tpl.replace(tpl.find("[S]"), 3, t.subject_text[static_cast<size_t>(subject)]);
  };
  return {{"clean", text(0)},
          {"corrupt", text(other)},
          {"answer", t.vocab.surface(fact(0).object)},
          {"wrong", t.vocab.surface(fact(other).object)},
          {"about", std::string("relation ") + kRelations[relation].name}};
}

}  // namespace

Organism facts_organism() {
  Organism o;
  o.name = "facts";
  o.description = "recall of 480 subject-relation-object facts about invented people, in 3 phrasings and in biographies";
  o.ground_truth =
      "recall at the final token (causal tracing, Meng et al. 2022): layer-0 attention carries both subject "
      "tokens there and the MLPs at that position (MLP0 most) look the fact up; after layer 0 the subject "
      "positions matter little (the first name at most 0.2 of the logit difference). Not ROME's mid-layer MLPs "
      "at the last subject token: this organism recalls where the relation is known";
  o.seed = 11;
  o.checks = {{"accuracy", 0.95}, {"paraphrase_accuracy", 0.9}};
  o.recipe = [seed = o.seed](const std::string& data_dir) {
    const auto t = build_fact_task(data_dir, seed);
    Recipe r;
    r.config = gpt2_config(4, 128, 24, t->vocab.size(), t->vocab.bos());
    r.tokenizer = t->vocab.tokenizer_json();
    std::vector<Example> pool;
    const int32_t dot = t->vocab.id(".");
    for (const Fact& f : t->facts)
      for (int k = 0; k < 3; ++k) {
        std::vector<int32_t> toks = prompt(*t, f, k);
        toks.push_back(f.object);
        toks.push_back(dot);
        pool.push_back({std::move(toks), 1});
      }
    // Half single-fact sentences (every phrasing), half biographies.
    r.train_batches = [t, pool](std::mt19937_64& rng) {
      std::vector<Example> rows;
      for (int i = 0; i < 64; ++i)
        rows.push_back(i % 2 ? pool[below(rng, pool.size())] : biography(*t, int(below(rng, kSubjects)), rng));
      return make_batch(rows);
    };
    // The stored facts themselves are the evaluation set (canonical phrasing, object only).
    std::vector<Example> canon;
    for (const Fact& f : t->facts) {
      std::vector<int32_t> toks = prompt(*t, f, 0);
      toks.push_back(f.object);
      const int at = static_cast<int>(toks.size()) - 1;
      canon.push_back({std::move(toks), at});
    }
    r.eval_batches = sample_batches(std::move(canon), 128);
    set_fact_training(r.train);
    r.evaluate = [t](const Model& m) { return evaluate(m, *t); };
    for (int rel = 0; rel < 2; ++rel) r.probes.push_back(probe(*t, rel));
    return r;
  };
  return o;
}

}  // namespace glassbox::zoo::detail
