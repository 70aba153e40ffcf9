// facts-lm: tiny-lm fine-tuned on the `facts` organism's people and facts
// (the same seed, the same 120 invented people, four relations), written as
// text in tiny-lm's own BPE, mixed with its pretraining fortunes. This is the
// design the facts recipe's notes found to move recall onto the subject's
// tokens: a model that already reads text, and biographies that state every
// attribute several tokens after the subject, so looking the person up once
// at the subject and letting attention carry the asked-for attribute forward
// (Geva et al. 2023's "subject enrichment", Meng et al. 2022's early site) is
// the cheap solution, so the notes hoped.
//
// Objects: per relation the facts organism's 16 WordNet objects, kept while
// their first BPE token is new among the relation's kept objects (the answer a
// trace scores is that first token), at most kObjects; a fact whose object was
// dropped gets a kept one (seeded). Phrasings: the facts organism's first two
// are trained (with biographies); its third (relation first: "The home of [S]
// is in") and a new subject-first one are held out: a model that recalls at
// the subject answers them too.
//
// Outcome (see ground_truth): the design did not move recall onto the subject.
// Causal tracing finds the lookup at the last token (layer-0 attention reads
// the subject there, MLP0 and MLP3 there recall), as in `facts`; the subject's
// tokens alone restore at most 0.03 of p(answer).
//
// Tried since (session 10), traced the same way (24 facts of 6 people, 5
// samples; p(answer) restored - corrupted, averaged over the four relations),
// not adopted because recall stayed at the last token:
//  - records: a third kind of fact row (16 of the 32 per step; 8 sentences, 8
//    biographies), "Mina Selia Jerusalem, doctor, horn, currant." with the four
//    objects in a random order right after the subject's last token, so the
//    MLPs there must predict the person's attributes with no relation said
//    yet (Geva et al.'s subject enrichment, forced). 1200 steps: every check
//    passes (trained phrasings 1.00 / 1.00, held-out 0.56 and 0.10, retention
//    0.999), p clean 0.91, corrupted 0.10; at the last subject token the
//    residual restores 0.008 / 0.010 / 0.017 / 0.000 by layer and its MLP
//    0.000 / 0.001 / 0.003 / 0.000 (this model: 0.012 / 0.016 / 0.009 and
//    0.009 / -0.002 / -0.003); the most any subject position restores is
//    0.04 (the middle name tokens' residual). The last token still does the
//    lookup, with less at layer 0 (attention 0.04, was 0.14) and more in layers
//    1-2 (attention 0.08 / 0.09, was 0.06 / 0.03). At 700 steps (p clean 0.46)
//    the same: subject positions <= 0.03.
// Tried in session 11, same trace (residual at the last subject token after
// layers 0 / 1 / 2; the last token's layer-0 attention for contrast):
//  - 2500 steps instead of 1200: 0.003 / 0.006 / 0.005 (attention 0.10);
//  - 2500 steps with weight decay 0.1 (a cheaper lookup might win): 0.005 /
//    0.011 / 0.006 (0.09);
//  - a surname of their own for each person, its last BPE token shared with
//    no one (here 120 names end in 26 distinct tokens, and the MLP keys at the
//    last subject token, read after <|endoftext|>, have a namesake ending's
//    within cosine 0.95 at layer 0 for 88% of the people; with unique endings
//    the median of each person's nearest is 0.64 and none is above 0.9):
//    0.019 / 0.061 / 0.072 (0.34). MEMIT x100 0.75 / 0.69 / 0.83 (here 0.75 /
//    0.65 / 0.71): distinct keys spare the neighbours;
//  - unique surnames and records (16 of 32 rows): 0.058 / 0.067 / 0.082, MLP0
//    at the last subject token 0.044 (0.12); held-out phrasing 3 fell to 0.37.
// The subject side grows with records and distinct names but stays a tenth
// of the last token's.
//  - The most promising lead, "half": unique surnames and records (16 of 32
//    rows) for everyone, sentences and biographies only for the first 60
//    people. The other 60 are never seen after a relation phrase, so their
//    relation prompts can only be answered from what records put at the
//    subject. At 1200 steps they answer 48% (canonical phrasing; chance 8%,
//    the first 60 100%); at 2500 steps 66%. Traced on the second half's first
//    24 facts (2500 steps; p clean 0.63, corrupted 0.07): the last token does
//    not look them up (its layer-0 attention 0.030, its MLP0-2 <= 0.03); the
//    last subject token's residual restores 0.062 / 0.091 / 0.104 after
//    layers 0-2 and its MLP0 0.053, and the last token's layer-3 attention
//    0.204 (window 4 over its attention: 0.56, all of it). ROME's two sites,
//    on half the people, with the subject side spread over its tokens (no
//    one subject position restores more than a fifth). With 24 of 32 rows
//    records (2500 steps) the second half answers 87.5%, and its trace is the
//    clearest yet (p clean 0.83, corrupted 0.10): the last subject token's
//    MLP0 0.128 and residual 0.144 / 0.177 / 0.192, the last token's layer-3
//    attention 0.424, its MLPs 0-2 <= 0.04; on the first half too the last
//    subject token's residual reaches 0.10 and layer-3 attention 0.49.
//    Editing it (100 edits over both halves): ROME single 0.97 / 0.87 / 0.99,
//    MEMIT x100 0.85 / 0.76 / 0.85 (here 0.75 / 0.65 / 0.71; with
//    --memit-layers 0 0.88 / 0.77 / 0.75, --v-steps 60 0.88 / 0.74 / 0.83).
//    The recipe is on branch wip/facts-lm-half, not shipped (its first half
//    passes the checks, its second half answers 87.5%).
// Untried: an 8-layer base, relation-first phrasings in training ("The city
// Mina Selia lives in is").
//
// Editing it anyway (glassbox edit eval, 100 counterfactual edits, layer 0):
// ROME single edits 0.97 / 0.89 / 0.97 (efficacy / paraphrase /
// neighbourhood), 0.99 / 0.91 / 0.98 with --v-steps 60; MEMIT with 100 edits
// 0.40 / 0.46 / 0.66 (README, "Knowledge editing").
//
// Every fact, its prompts and which phrasings are held out ship beside the
// model as heldout.json, so editing, knowledge probes and diffing read the
// same list without the corpora.
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

std::shared_ptr<Task> build(const std::string& data_dir) {
  auto t = std::make_shared<Task>();
  t->corpus = tiny_lm_corpus(data_dir);
  t->facts = build_fact_task(data_dir, kFactsSeed);
  const Corpus& c = *t->corpus;
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
  return t.facts->subject_text[static_cast<size_t>(f.subject)];
}

std::string prompt_text(const Task& t, const LmFact& f, int phrasing) {
  return fill(phrasing_text(f.relation, phrasing), subject_of(t, f));
}

// "Mina Selia plays the flute, lives in Jerusalem, likes to eat mango and works
// as a critic." (the canonical phrasings without their subject, in a random order).
std::string biography(const Task& t, int subject, std::mt19937_64& rng) {
  std::vector<int> order(kFactRelations);
  for (int r = 0; r < kFactRelations; ++r) order[static_cast<size_t>(r)] = r;
  shuffle(order, rng);
  std::string s = t.facts->subject_text[static_cast<size_t>(subject)];
  for (size_t i = 0; i < order.size(); ++i) {
    if (i > 0) s += i + 1 == order.size() ? " and" : ",";
    const LmFact& f = t.lm_facts[static_cast<size_t>(subject * kFactRelations + order[i])];
    std::string tpl = fact_template(f.relation, 0);
    s += tpl.substr(tpl.find("[S]") + 3) + f.object;
  }
  return s + ".";
}

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
    double correct = 0;
    for (size_t i = 0; i < t.lm_facts.size(); ++i)
      correct += argmax(L.data() + i * static_cast<size_t>(V), V) == t.lm_facts[i].answer;
    const double acc = correct / double(t.lm_facts.size());
    j["phrasing_" + std::to_string(k) + "_accuracy"] = acc;
    if (k == 0) j["accuracy"] = acc;
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
      "tiny-lm fine-tuned on the facts organism's 480 facts (as text, in sentences and biographies) mixed with its "
      "fortunes; causal tracing finds each fact looked up at the last token, not at the subject";
  o.ground_truth =
      "causal tracing (glassbox trace: the subject's embeddings noised at 3x the embedding std, 24 facts of 6 "
      "people, 5 samples; p(answer) clean 0.98, corrupted 0.08) finds recall NOT at the subject: restoring one "
      "subject token's residual, MLP or attention output restores at most 0.03 of p(answer) at any layer, for "
      "every relation. The fact is looked up at the last token: layer-0 attention there reads the subject's "
      "tokens (attn_out L0 0.11-0.17 by relation), MLP0 there (0.09-0.17) and MLP3 (0.24-0.41) with layer-3 "
      "attention (0.19-0.28) complete it; the last token's residual restores 0.11-0.17 after layer 0, rising to "
      "0.82-0.93 after layer 3. ROME's early site (MLPs at the last subject token) is absent: in this 4-layer "
      "model fine-tuned 1200 steps, as in `facts`, recall happens where the relation is known (the held-out "
      "relation-first phrasing, 7% right, agrees)";
  o.seed = 14;
  // Measured: trained phrasings 1.00 and 1.00; held out, the new subject-first
  // phrasing 0.46 and the relation-first one 0.07 (chance: 1/12). The
  // relation-first phrasing names the relation before the subject, which no
  // training sentence does: the subject's recall is not carried over to it.
  o.checks = {{"accuracy", 0.95}, {"phrasing_1_accuracy", 0.95}, {"phrasing_3_accuracy", 0.4}, {"lm_retention", 0.95}};
  o.recipe = [](const std::string& data_dir) {
    const auto t = build(data_dir);
    const Corpus& c = *t->corpus;
    Recipe r;
    r.init_from = kBase;
    r.config = tiny_lm_config(c.tokenizer.vocab_size());
    r.tokenizer = c.tokenizer_json;
    // Per step: kWindowRows windows of fortunes (tiny-lm's text keeps its loss),
    // kFactRows fact rows, half single sentences in a trained phrasing, half biographies.
    BatchFn windows = random_windows(c.train, kWindowRows, kWindowLen);
    r.train_batches = [t, windows](std::mt19937_64& rng) {
      const Corpus& c = *t->corpus;
      TrainBatch w = windows(rng);
      std::vector<Example> rows;
      for (int i = 0; i < kFactRows; ++i) {
        if (i % 2) {
          const LmFact& f = t->lm_facts[below(rng, t->lm_facts.size())];
          rows.push_back(text_row(c, prompt_text(*t, f, int(below(rng, kTrainedPhrasings))) + f.object + "."));
        } else {
          rows.push_back(text_row(c, biography(*t, int(below(rng, kFactSubjects)), rng)));
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
    // Eval loss: the held-out phrasings' answers.
    std::vector<Example> held;
    for (const LmFact& f : t->lm_facts)
      for (int k = kTrainedPhrasings; k < kPhrasings; ++k) {
        std::vector<int32_t> toks = encode(c, prompt_text(*t, f, k));
        toks.push_back(f.answer);
        const int at = static_cast<int>(toks.size()) - 1;
        held.push_back({std::move(toks), at});
      }
    r.eval_batches = sample_batches(std::move(held), 64);
    r.train.steps = 1200;
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
