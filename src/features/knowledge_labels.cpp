// The "facts-known" label set: the facts organism's trained subjects against
// new pairings of its own first and last names, in the same canonical
// prompts (src/zoo/facts.cpp builds the task; the recipe's seed is the
// organism's, so the subjects are exactly the trained ones). And
// "facts-lm-known": facts-lm's people (its heldout.json) against people it
// never saw, a first name of its own with a surname no one has.
#include <algorithm>
#include <random>
#include <set>

#include "features/labels_detail.h"
#include "glassbox/error.h"
#include "glassbox/features/knowledge.h"
#include "glassbox/json_file.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"
#include "zoo/facts_task.h"

namespace glassbox::features {

namespace {

LabelSet known_vs_unseen(const char* name, const char* description) {
  LabelSet s;
  s.name = name;
  s.description = description;
  s.classes = {"unknown", "known"};
  return s;
}

}  // namespace

LabelSet facts_known_labels(const Model& m, const LabelSetOptions& opt) {
  const zoo::Organism& org = zoo::find_organism("facts");
  const std::shared_ptr<zoo::detail::FactTask> t = zoo::detail::build_fact_task(zoo::data_dir(), org.seed);
  const int64_t vocab = int64_t(t->vocab.size());
  if (vocab != m.config().d_vocab)
    fail("facts-known: the model at ", m.source(), " has ", m.config().d_vocab, " tokens, the facts organism ", vocab,
         "; use --model models/facts (or --labels facts-lm-known with models/facts-lm)");
  LabelSet s = known_vs_unseen("facts-known",
                                "facts' canonical prompts about its trained subjects (known) and about new pairings of "
                                "its own first and last names (unseen): does the model know the subject?");
  // Trained pairs, and the first / last name tokens they use.
  std::set<std::pair<int32_t, int32_t>> trained;
  std::set<int32_t> firsts, lasts;
  for (const auto& sub : t->subjects) {
    trained.insert({sub[0], sub[1]});
    firsts.insert(sub[0]);
    lasts.insert(sub[1]);
  }
  std::vector<std::pair<int32_t, int32_t>> unseen;
  for (int32_t f : firsts)
    for (int32_t l : lasts)
      if (!trained.count({f, l})) unseen.emplace_back(f, l);
  std::mt19937_64 rng(opt.seed ^ 0x6b6e6f776eull);
  std::shuffle(unseen.begin(), unseen.end(), rng);
  if (unseen.size() < t->subjects.size()) fail("facts-known: too few unseen name pairings");
  unseen.resize(t->subjects.size());

  const auto add = [&](int32_t first, int32_t last, int32_t label) {
    zoo::detail::Fact f{0, 0, 0};
    for (int r = 0; r < zoo::detail::kFactRelations; ++r) {
      f.relation = r;
      std::vector<int32_t> p = zoo::detail::fact_prompt(*t, f, 0);  // subject 0's prompt, then its names swapped in
      const auto& s0 = t->subjects[0];
      const auto at = std::find(p.begin(), p.end(), s0[0]);
      if (at == p.end() || at + 1 == p.end() || at[1] != s0[1]) fail("facts-known: a prompt has no subject");
      at[0] = first;
      at[1] = last;
      ProbeExample ex;
      ex.label = label;
      ex.group = t->vocab.surface(first) + t->vocab.surface(last);
      ex.positions = {{"subject", int64_t(at - p.begin()) + 1}, {"end", int64_t(p.size()) - 1}};
      for (size_t i = 1; i < p.size(); ++i) ex.text += t->vocab.surface(p[i]);
      ex.tokens = std::move(p);
      s.examples.push_back(std::move(ex));
    }
  };
  for (const auto& sub : t->subjects) add(sub[0], sub[1], 1);
  for (const auto& [f, l] : unseen) add(f, l, 0);
  if (opt.limit > 0) limit_examples(s, opt.limit, opt.seed);
  return s;
}

LabelSet facts_lm_known_labels(const Model& m, const LabelSetOptions& opt) {
  const std::string list = zoo::heldout_path(m.source(), "facts-lm");
  const nlohmann::json j = read_json_file(list);
  if (j.value("organism", "") != "facts-lm") fail("facts-lm-known: ", list, " is not facts-lm's fact list");
  const Tokenizer* tok = m.tokenizer();
  // facts-lm's BPE: the tokenizer ships with it (a word-level organism such as facts has another list).
  if (!tok || tok->bos_id() < 0 || tok->vocab_size() != m.config().d_vocab)
    fail("facts-lm-known: the model at ", m.source(), " has no BPE tokenizer with <|endoftext|> matching its ",
         m.config().d_vocab, " tokens; use --model models/facts-lm");
  std::vector<std::string> known, templates;
  std::set<std::string> firsts, taken;
  for (const auto& r : j.at("relations")) templates.push_back(r.at("templates").at(0).get<std::string>());
  for (const auto& f : j.at("facts")) {
    const std::string subject = f.at("subject").get<std::string>();
    if (!taken.insert(subject.substr(subject.find(' ') + 1)).second) continue;  // one entry per person
    known.push_back(subject);
    firsts.insert(subject.substr(0, subject.find(' ')));
  }
  // Unseen: a first name facts-lm knows with a surname from the corpus's name
  // list that is no one's (first or last) in it.
  std::vector<std::string> pool = zoo::detail::first_names(zoo::data_dir());
  std::erase_if(pool, [&](const std::string& n) { return n.size() > 6 || taken.count(n) || firsts.count(n); });
  std::mt19937_64 rng(opt.seed ^ 0x6b6e6f776eull);
  std::shuffle(pool.begin(), pool.end(), rng);
  if (pool.size() < known.size()) fail("facts-lm-known: too few unused names in the corpus");
  const std::vector<std::string> first_list(firsts.begin(), firsts.end());
  LabelSet s = known_vs_unseen("facts-lm-known",
                                "facts-lm's canonical prompts about its 120 people (known) and about people it never "
                                "saw, one of its first names with a surname no one has (unseen): does the model know "
                                "the subject?");
  const auto add = [&](const std::string& subject, int32_t label) {
    // Another organism's tokenizer (facts' word list) cannot spell these names.
    if (tok->decode(tok->encode(subject, false)) != subject)
      fail("facts-lm-known: the model at ", m.source(), " cannot spell '", subject,
           "' (not facts-lm's tokenizer); use --model models/facts-lm");
    for (const std::string& tpl : templates) {
      if (tpl.rfind("[S]", 0) != 0) fail("facts-lm-known: template '", tpl, "' does not start with the subject");
      ProbeExample ex;
      ex.label = label;
      ex.group = subject;
      ex.text = subject + tpl.substr(3);
      ex.tokens = with_bos(*tok, tok->encode(ex.text, false));  // as facts-lm was trained: <|endoftext|>, then the text
      ex.positions = {{"subject", int64_t(tok->encode(subject, false).size())}, {"end", int64_t(ex.tokens.size()) - 1}};
      s.examples.push_back(std::move(ex));
    }
  };
  for (const std::string& subject : known) add(subject, 1);
  for (size_t i = 0; i < known.size(); ++i) add(first_list[i % first_list.size()] + " " + pool[i], 0);
  if (opt.limit > 0) limit_examples(s, opt.limit, opt.seed);
  return s;
}

LabelSet known_label_set(const Model& m, const std::string& spec, const LabelSetOptions& opt) {
  if (spec == "facts-known") return facts_known_labels(m, opt);
  if (spec == "facts-lm-known") return facts_lm_known_labels(m, opt);
  LabelSet s = read_label_jsonl(spec, m, opt);
  if (s.classes != std::vector<std::string>{"known", "unknown"} && s.classes != std::vector<std::string>{"unknown", "known"})
    fail("known: labels ", spec, ": the labels must be \"known\" and \"unknown\"");
  if (s.classes[0] == "known") {  // class 1 must be "known"
    for (auto& ex : s.examples) ex.label = 1 - ex.label;
    s.classes = {"unknown", "known"};
  }
  return s;
}

}  // namespace glassbox::features
