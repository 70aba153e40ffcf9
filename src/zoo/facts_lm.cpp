// facts-lm: tiny-lm fine-tuned on the `facts` organism's 120 invented people
// and their 480 facts (the same seed, four relations), written as text in
// tiny-lm's own BPE and mixed with its pretraining fortunes, so that facts are
// stored at the subject, as Meng et al. 2022 find in GPT-2: the MLPs at the
// subject's last token recall the person, and late attention at the last
// token reads the asked-for attribute from there.
//
// What puts recall at the subject (session 12's recipe, from session 11's
// traced variants below):
//  - Records: 24 of the 32 fact rows per step are "Mina Selia Jerusalem,
//    doctor, horn, currant.": the four objects in a random order right after
//    the subject, so the MLPs at its last token must predict the person's
//    attributes with no relation said yet (Geva et al. 2023's subject
//    enrichment, forced).
//  - Relation phrasings only for half the people: sentences in the two
//    trained phrasings and biographies ("Mina Selia plays the flute, lives in
//    Jerusalem, ...") for the first 60 ("phrased"), none for the other 60
//    ("records-only"). A records-only person's relation prompt can only be
//    answered from what the records put at the subject, read by an attention
//    the phrased half taught: no last-token lookup exists for them.
//  - A surname of each person's own: the facts organism's 120 people share 40
//    surnames ending in 26 BPE tokens, and the MLP keys at the last subject
//    token, read after <|endoftext|>, have a namesake ending's within cosine
//    0.95 at layer 0 for 88% of the people; a fact stored there could not be
//    stored for one of them alone. Nor may a name end in a token another
//    name holds anywhere (it carried MEMIT edits across people). Each person
//    keeps the facts organism's surname where its last token is still free,
//    else takes the next unused
//    name in alphabetical order (unique_subjects), so Mina Selia is still
//    Mina Selia and 87% of the surnames begin " Al", " An", " Ab", " Ad", ...
//    That helps: with the pool shuffled (diverse surname beginnings) the
//    records-only half answered more (90%) but only home cities and fruits
//    were still traced at the last subject token (MLP0 0.04-0.11, was
//    0.09-0.13; occupations and instruments <= 0.04 at any single subject
//    state). Likely why: a surname whose first piece says little leaves the
//    person to be recognised, and recalled, at its last token, as in GPT-2.
//  - 3500 steps, lr 1e-3 (2500: the records-only half answers less).
//
// Outcome (ground_truth; README "Causal tracing"): the records-only half
// answers 88% of its canonical prompts (chance 8%) and is traced at the
// subject (the last subject token's MLP0 and residual, the last token's
// layer-3 attention); the phrased half answers 100% and keeps a last-token
// lookup beside the subject side. heldout.json marks each fact "phrased".
//
// Designs tried before (traced the same way: 24 facts of 6 people, 5 samples,
// p(answer) restored - corrupted averaged over the relations), each leaving
// recall at the last token (layer-0 attention reads the subject there, MLP0
// and MLP3 there recall; subject positions restore <= 0.04):
//  - sentences and biographies for everyone, 1200 steps (session 10's
//    shipped model; trained phrasings 100%, held-out subject-first 46%);
//  - the same with records as 16 of 32 rows (1200 and 700 steps), 2500 steps,
//    weight decay 0.1;
//  - unique surnames alone: the last subject token's residual 0.02-0.07,
//    a tenth of the last token's;
//  - unique surnames and records for all, sentences for half, records as 16
//    of 32 rows, 2500 steps: the records-only half 66%, subject side 0.05-0.10.
// Untried: an 8-layer base, relation-first phrasings in training ("The city
// Mina Selia lives in is").
//
// Objects: per relation the facts organism's 16 WordNet objects, kept while
// their first BPE token is new among the relation's kept objects (the answer a
// trace scores is that first token), at most kObjects; a fact whose object was
// dropped gets a kept one (seeded). Phrasings: the facts organism's first two
// are trained (phrased half); its third (relation first: "The home of [S] is
// in") and a new subject-first one are held out for everyone.
//
// Every fact, its prompts, which phrasings are held out and whether its
// subject is phrased ship beside the model as heldout.json, so editing,
// knowledge probes and diffing read the same list without the corpora.
#include <algorithm>
#include <set>

#include "glassbox/text_data.h"
#include "zoo/facts_task.h"
#include "zoo/tiny_lm_corpus.h"

namespace glassbox::zoo::detail {

namespace {

constexpr const char* kBase = "tiny-lm";
constexpr uint64_t kFactsSeed = 11;  // the facts organism's people and facts
constexpr int kObjects = 12;
constexpr int kTrainedPhrasings = 2;
// Held-out phrasings: the facts organism's third, then one never seen in any organism.
constexpr const char* kNewTemplates[kFactRelations] = {"[S] has a house in", "[S] has a job as a",
                                                       "[S] often plays the", "[S] eats a lot of"};
constexpr int kPhrasings = kFactPhrasings + 1;
constexpr int kWindowRows = 16, kWindowLen = 48, kFactRows = 32;
// Of the kFactRows fact rows per step, kRecordRows are records (every person);
// the rest alternate sentences and biographies of the first kPhrasedSubjects.
constexpr int kRecordRows = 24, kPhrasedSubjects = 60;

struct LmFact {
  int subject, relation;
  std::string object;  // " Jerusalem"
  int32_t answer;      // its first token
};

struct Task {
  std::shared_ptr<const Corpus> corpus;
  std::shared_ptr<FactTask> facts;                         // people, relations (its objects are word ids)
  std::vector<std::vector<std::string>> objects;           // per relation, the kept objects' text
  std::vector<LmFact> lm_facts;                            // subject-major, as FactTask::facts
  std::vector<std::string> subjects;                       // "Mina Selia", surnames made unique
};

std::string phrasing_text(int relation, int phrasing) {
  return phrasing < kFactPhrasings ? fact_template(relation, phrasing) : kNewTemplates[relation];
}

std::string fill(const std::string& tpl, const std::string& subject) {
  std::string s = tpl;
  return s.replace(s.find("[S]"), 3, subject);
}

std::vector<int32_t> encode(const Corpus& c, const std::string& text) {
  std::vector<int32_t> toks{c.eot};
  const auto ids = c.tokenizer.encode(text, false, false);
  toks.insert(toks.end(), ids.begin(), ids.end());
  return toks;
}

int32_t first_token(const Corpus& c, const std::string& text) { return c.tokenizer.encode(text, false, false).at(0); }

// Each person keeps the facts organism's first name and gets a surname whose
// last BPE token no one else's name ends in or holds anywhere: the facts
// organism's own surname where that is still free, else the next unused name
// of the pool. Why: MLP0's key at a token is mostly that token. Shared
// endings made the keys at the last subject token nearly equal for namesakes
// (cosine > 0.95 for 88% of people), so a fact stored there could not be
// stored for one person alone; and an ending inside another name (Reid
// Abramo's "o" in Ilysa Al-o-ise) carried an edit of one person into the
// other's name: in a MEMIT batch of 100, restoring that one position brought
// Ilysa Aloise's own edit back from p 0.04 to 0.93.
std::vector<std::string> unique_subjects(const Corpus& c, const FactTask& facts, const std::string& data_dir) {
  std::vector<std::string> pool = first_names(data_dir);
  std::erase_if(pool, [](const std::string& n) { return n.size() > 6; });
  auto tokens = [&](const std::string& text) { return c.tokenizer.encode(text, false, false); };
  std::set<std::string> taken;
  // Tokens inside names (first names, with and without the space before them,
  // and every surname piece but the last), which no name may end in.
  std::set<int32_t> inner, endings;
  for (const std::string& s : facts.subject_text) {
    const std::string first = s.substr(0, s.find(' '));
    taken.insert(first);
    for (const std::string& f : {first, " " + first})
      for (int32_t t : tokens(f)) inner.insert(t);
  }
  auto fits = [&](const std::string& last) {
    const std::vector<int32_t> t = tokens(" " + last);
    if (endings.count(t.back()) || inner.count(t.back())) return false;
    return std::none_of(t.begin(), t.end() - 1, [&](int32_t x) { return endings.count(x) > 0; });
  };
  std::vector<std::string> out;
  size_t next = 0;
  for (const std::string& s : facts.subject_text) {
    const std::string first = s.substr(0, s.find(' '));
    std::string last = s.substr(s.find(' ') + 1);
    while (!fits(last)) {
      do {
        if (next == pool.size()) fail("zoo: facts-lm: too few names for 120 distinct surname endings");
        last = pool[next++];
      } while (taken.count(last));
    }
    taken.insert(last);
    const std::vector<int32_t> t = tokens(" " + last);
    endings.insert(t.back());
    inner.insert(t.begin(), t.end() - 1);
    out.push_back(first + " " + last);
  }
  return out;
}

std::shared_ptr<Task> build(const std::string& data_dir) {
  auto t = std::make_shared<Task>();
  t->corpus = tiny_lm_corpus(data_dir);
  t->facts = build_fact_task(data_dir, kFactsSeed);
  const Corpus& c = *t->corpus;
  t->subjects = unique_subjects(c, *t->facts, data_dir);
  std::mt19937_64 rng(kFactsSeed);
  for (int r = 0; r < kFactRelations; ++r) {
    std::vector<std::string> kept;
    std::set<int32_t> firsts;
    for (int32_t id : t->facts->objects[static_cast<size_t>(r)]) {
      const std::string& w = t->facts->vocab.surface(id);
      if (kept.size() < kObjects && firsts.insert(first_token(c, w)).second) kept.push_back(w);
    }
    if (kept.size() < 8) fail("zoo: facts-lm: only ", kept.size(), " objects of ", fact_relation_name(r),
                              " have distinct first tokens");
    t->objects.push_back(std::move(kept));
  }
  for (const Fact& f : t->facts->facts) {
    const auto& kept = t->objects[static_cast<size_t>(f.relation)];
    std::string obj = t->facts->vocab.surface(f.object);
    if (std::find(kept.begin(), kept.end(), obj) == kept.end()) obj = kept[below(rng, kept.size())];
    t->lm_facts.push_back({f.subject, f.relation, obj, first_token(c, obj)});
  }
  return t;
}

const std::string& subject_of(const Task& t, const LmFact& f) {
  return t.subjects[static_cast<size_t>(f.subject)];
}

std::string prompt_text(const Task& t, const LmFact& f, int phrasing) {
  return fill(phrasing_text(f.relation, phrasing), subject_of(t, f));
}

// "Mina Selia plays the flute, lives in Jerusalem, likes to eat mango and works
// as a critic." (the canonical phrasings without their subject, in a random order).
std::string biography(const Task& t, int subject, std::mt19937_64& rng) {
  const std::vector<int> order = shuffled_relations(rng);
  std::string s = t.subjects[static_cast<size_t>(subject)];
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) s += i + 1 == order.size() ? " and" : ",";
    const LmFact& f = t.lm_facts[static_cast<size_t>(subject * kFactRelations + order[i])];
    std::string tpl = fact_template(f.relation, 0);
    s += tpl.substr(tpl.find("[S]") + 3) + f.object;
  }
  return s + ".";
}

// "Mina Selia Jerusalem, doctor, horn, currant." (the four objects in a random
// order, right after the subject): predicting them with no relation said yet
// is what makes the MLPs at the subject's tokens recall the person.
std::string record(const Task& t, int subject, std::mt19937_64& rng) {
  const std::vector<int> order = shuffled_relations(rng);
  std::string s = t.subjects[static_cast<size_t>(subject)];
  for (size_t i = 0; i < order.size(); ++i)
    s += (i ? "," : "") + t.lm_facts[static_cast<size_t>(subject * kFactRelations + order[i])].object;
  return s + ".";
}

bool phrased(int subject) { return subject < kPhrasedSubjects; }

Example text_row(const Corpus& c, const std::string& text) {
  std::vector<int32_t> toks = encode(c, text);
  toks.push_back(c.eot);
  return {std::move(toks), 1};
}

nlohmann::json evaluate(const Model& m, const Task& t) {
  const Corpus& c = *t.corpus;
  const int64_t V = m.config().d_vocab;
  nlohmann::json j;
  double heldout = 0;
  for (int k = 0; k < kPhrasings; ++k) {
    std::vector<std::vector<int32_t>> prompts;
    for (const LmFact& f : t.lm_facts) prompts.push_back(encode(c, prompt_text(t, f, k)));
    const std::vector<float> L = last_logits(m, prompts);
    double correct = 0, correct_records_only = 0, records_only = 0;
    for (size_t i = 0; i < t.lm_facts.size(); ++i) {
      const bool ok = argmax(L.data() + i * static_cast<size_t>(V), V) == t.lm_facts[i].answer;
      correct += ok;
      if (!phrased(t.lm_facts[i].subject)) correct_records_only += ok, ++records_only;
    }
    const double acc = correct / double(t.lm_facts.size());
    j["phrasing_" + std::to_string(k) + "_accuracy"] = acc;
    if (k == 0) {
      j["accuracy"] = acc;
      j["records_only_accuracy"] = correct_records_only / records_only;
      j["phrased_accuracy"] = (correct - correct_records_only) / (double(t.lm_facts.size()) - records_only);
    }
    if (k >= kTrainedPhrasings) heldout += acc / (kPhrasings - kTrainedPhrasings);
  }
  j["heldout_phrasing_accuracy"] = heldout;
  const Model base = load_shipped(kBase, "facts-lm");
  const double lm = stream_loss(m, c.val, kTinyLmEvalWindows / 3),
               base_lm = stream_loss(base, c.val, kTinyLmEvalWindows / 3);
  j["val_loss"] = lm;
  j["base_val_loss"] = base_lm;
  j["lm_retention"] = base_lm / lm;
  j["facts"] = t.lm_facts.size();
  return j;
}

// Every fact with its prompts: the list editing, knowledge and diffing work from.
nlohmann::json facts_json(const Task& t) {
  nlohmann::json rel = nlohmann::json::array();
  for (int r = 0; r < kFactRelations; ++r) {
    nlohmann::json tpls = nlohmann::json::array();
    for (int k = 0; k < kPhrasings; ++k) tpls.push_back(phrasing_text(r, k));
    rel.push_back({{"name", fact_relation_name(r)},
                   {"templates", tpls},
                   {"objects", t.objects[static_cast<size_t>(r)]}});
  }
  nlohmann::json facts = nlohmann::json::array();
  for (const LmFact& f : t.lm_facts) {
    nlohmann::json prompts = nlohmann::json::array();
    for (int k = 0; k < kPhrasings; ++k) prompts.push_back(prompt_text(t, f, k));
    facts.push_back({{"subject", subject_of(t, f)},
                     {"relation", fact_relation_name(f.relation)},
                     {"object", f.object},
                     {"answer", t.corpus->tokenizer.token_to_bytes(f.answer)},
                     {"phrased", phrased(f.subject)},
                     {"prompts", prompts}});
  }
  return {{"organism", "facts-lm"},
          {"about",
           "every fact facts-lm was fine-tuned on. prompts[k] is the relation's template k with the subject filled "
           "in; templates 0-1 were trained (and biographies stating all four facts), templates 2-3 never were "
           "(held-out phrasings). answer is the object's first token (what the model must predict after the "
           "prompt, read as <|endoftext|> + text); every object of a relation has a distinct first token"},
          {"trained_phrasings", {0, 1}},
          {"heldout_phrasings", {2, 3}},
          {"relations", rel},
          {"facts", facts}};
}

// Causal tracing's contrast for the tour's patching pages: two people, one relation.
nlohmann::json probe(const Task& t, int relation) {
  const auto fact = [&](int s) { return t.lm_facts[static_cast<size_t>(s * kFactRelations + relation)]; };
  int other = 1;
  while (fact(other).answer == fact(0).answer) ++other;
  const auto& tok = t.corpus->tokenizer;
  // Equal token lengths: the next person whose name spells in as many tokens.
  const auto len = [&](int s) { return tok.encode(prompt_text(t, fact(s), 0), false, false).size(); };
  while (len(other) != len(0) || fact(other).answer == fact(0).answer) ++other;
  return {{"clean", prompt_text(t, fact(0), 0)},
          {"corrupt", prompt_text(t, fact(other), 0)},
          {"answer", tok.token_to_bytes(fact(0).answer)},
          {"wrong", tok.token_to_bytes(fact(other).answer)},
          {"about", std::string("relation ") + fact_relation_name(relation)}};
}

}  // namespace

Organism facts_lm_organism() {
  Organism o;
  o.name = "facts-lm";
  o.description =
      "tiny-lm fine-tuned on the facts organism's 120 people and 480 facts as text: records of every person's four "
      "objects right after the name, relation sentences and biographies for half the people only, mixed with its "
      "fortunes; home cities and fruits are stored at the subject's last token (MLP0) and read by layer-3 attention";
  o.ground_truth =
      "causal tracing (glassbox trace: the subject's embeddings noised at 3x the embedding std, canonical prompts, "
      "5 samples, per relation 24 facts of each half; heldout.json's 'phrased' says the half). Records-only half "
      "(relation prompts never trained; 88% right; p(answer) clean 0.67-0.87, corrupted 0.01-0.05): no last-token "
      "lookup before the last layer (the last token's MLPs 0-2 restore <= 0.09, its layer-0 attention <= 0.06); "
      "lives_in and eats are recalled at the last subject token (its MLP0 0.08-0.09, its residual 0.09-0.17 after "
      "layers 0-2) and read by the last token's layer-3 attention (0.28 and 0.45); works_as and plays restore "
      "<= 0.09 at any single subject state (spread over the subject's tokens), attention L3 0.21-0.29. Phrased half "
      "(100% right; clean 0.99): lives_in and eats again at the last subject token (MLP0 0.11-0.16, residual "
      "0.14-0.33) and layer-3 attention (0.57-0.73); works_as and plays looked up at the last token (MLP3 "
      "0.16-0.29, attention L3 0.36-0.39; subject states <= 0.12)";
  o.seed = 14;
  // Measured: canonical phrasing 0.94 (phrased half 1.00, records-only half
  // 0.875; chance 1/12), the other trained phrasing 0.95; held out, the new
  // subject-first phrasing 0.49 and the relation-first one 0.06 (it names the
  // relation before the subject, which no training row does).
  o.checks = {{"accuracy", 0.9},
              {"phrased_accuracy", 0.95},
              {"records_only_accuracy", 0.75},
              {"phrasing_3_accuracy", 0.4},
              {"lm_retention", 0.95}};
  o.recipe = [](const std::string& data_dir) {
    const auto t = build(data_dir);
    const Corpus& c = *t->corpus;
    Recipe r;
    r.init_from = kBase;
    r.config = tiny_lm_config(c.tokenizer.vocab_size());
    r.tokenizer = c.tokenizer_json;
    // Per step: kWindowRows windows of fortunes (tiny-lm's text keeps its loss),
    // kFactRows fact rows: kRecordRows records of anyone, then alternately a
    // sentence in a trained phrasing and a biography of a phrased person.
    BatchFn windows = random_windows(c.train, kWindowRows, kWindowLen);
    r.train_batches = [t, windows](std::mt19937_64& rng) {
      const Corpus& c = *t->corpus;
      TrainBatch w = windows(rng);
      std::vector<Example> rows;
      for (int i = 0; i < kFactRows; ++i) {
        if (i < kRecordRows) {
          rows.push_back(text_row(c, record(*t, int(below(rng, kFactSubjects)), rng)));
        } else if (i % 2) {
          const LmFact& f = t->lm_facts[below(rng, size_t(kPhrasedSubjects) * kFactRelations)];
          rows.push_back(text_row(c, prompt_text(*t, f, int(below(rng, kTrainedPhrasings))) + f.object + "."));
        } else {
          rows.push_back(text_row(c, biography(*t, int(below(rng, size_t(kPhrasedSubjects))), rng)));
        }
      }
      for (int64_t b = 0; b < w.batch.B; ++b) {
        const auto at = w.batch.tokens.begin() + b * w.batch.T;
        Example e{{at, at + w.batch.T}, 1};
        e.next = w.targets[static_cast<size_t>((b + 1) * w.batch.T - 1)];
        rows.push_back(std::move(e));
      }
      return make_batch(rows);
    };
    // Eval loss: the answers no training row gives (held-out phrasings; every
    // relation prompt of the records-only half).
    std::vector<Example> held;
    for (const LmFact& f : t->lm_facts)
      for (int k = phrased(f.subject) ? kTrainedPhrasings : 0; k < kPhrasings; ++k) {
        std::vector<int32_t> toks = encode(c, prompt_text(*t, f, k));
        toks.push_back(f.answer);
        const int at = static_cast<int>(toks.size()) - 1;
        held.push_back({std::move(toks), at});
      }
    r.eval_batches = sample_batches(std::move(held), 64);
    r.train.steps = 3500;
    r.train.optimizer.lr = 1e-3f;
    r.train.optimizer.weight_decay = 0.0f;
    r.train.schedule.warmup_steps = 50;
    r.train.eval_every = 250;
    r.train.eval_batches = 2;
    r.evaluate = [t](const Model& m) { return evaluate(m, *t); };
    r.heldout = facts_json(*t);
    for (int rel = 0; rel < 2; ++rel) r.probes.push_back(probe(*t, rel));
    return r;
  };
  return o;
}

}  // namespace glassbox::zoo::detail
