// facts-lm: the shipped model answers its facts (trained and held-out
// phrasings) from nothing but its own files and heldout.json; the fact list
// is what the recipe says (every fact of the facts organism's people, each
// relation's objects with distinct first tokens, surnames with endings of
// their own, half the people phrased); the manifest entry records the checks.
// Retraining is opt-in (about 10 minutes on two idle cores):
//   GLASSBOX_RETRAIN_FACTS_LM=1 build-dev/tests/test_zoo --gtest_filter=FactsLm.*
// The causal-tracing ground truth is tested with the tracer
// (tests/analysis/causal_trace_test.cpp).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <set>

#include "glassbox/model.h"
#include "glassbox/threads.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"
#include "zoo/detail.h"

namespace fs = std::filesystem;
using namespace glassbox;
using nlohmann::json;

namespace {

fs::path dir() { return fs::path(zoo::models_dir()) / "facts-lm"; }

#define REQUIRE_FACTS_LM() \
  if (!fs::exists(dir() / "model.safetensors")) GTEST_SKIP() << "facts-lm is not shipped (glassbox zoo train facts-lm)"

json facts_list() {
  std::ifstream in(dir() / "heldout.json");
  return json::parse(in);
}

// Accuracy of the model's top token against each fact's answer, prompt k;
// only the facts `keep` accepts.
double accuracy(const Model& m, const json& facts, int k, const std::function<bool(const json&)>& keep = {}) {
  const Tokenizer& tok = *m.tokenizer();
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int32_t> answers;
  for (const auto& f : facts) {
    if (keep && !keep(f)) continue;
    std::vector<int32_t> ids = tok.encode(f["prompts"][size_t(k)].get<std::string>(), false);
    ids.insert(ids.begin(), tok.bos_id());
    prompts.push_back(std::move(ids));
    const auto a = tok.encode(f["answer"].get<std::string>(), false);
    EXPECT_EQ(a.size(), 1u) << f["answer"];
    answers.push_back(a.at(0));
  }
  const std::vector<float> L = zoo::detail::last_logits(m, prompts);
  const int64_t V = m.config().d_vocab;
  double ok = 0;
  for (size_t i = 0; i < answers.size(); ++i)
    ok += zoo::detail::argmax(L.data() + i * size_t(V), V) == answers[i];
  return ok / double(answers.size());
}

TEST(FactsLm, AnswersTrainedAndHeldOutPhrasings) {
  REQUIRE_FACTS_LM();
  set_num_threads(2);
  const Model m = Model::load(dir().string());
  const json list = facts_list();
  const json& facts = list["facts"];
  ASSERT_EQ(facts.size(), 480u);
  const json entry = zoo::read_manifest()["organisms"]["facts-lm"];
  // The canonical phrasing and the held-out subject-first one (the checked metrics), as the manifest records them.
  const double canonical = accuracy(m, facts, 0), heldout = accuracy(m, facts, 3);
  EXPECT_GE(canonical, 0.9);
  EXPECT_NEAR(canonical, entry["metrics"]["accuracy"].get<double>(), 1e-9);
  // The records-only half never saw a relation prompt, yet answers most of them.
  const auto records_only = [](const json& f) { return !f["phrased"].get<bool>(); };
  const double unphrased = accuracy(m, facts, 0, records_only);
  EXPECT_GE(unphrased, 0.75);
  EXPECT_NEAR(unphrased, entry["metrics"]["records_only_accuracy"].get<double>(), 1e-9);
  EXPECT_GE(accuracy(m, facts, 0, [](const json& f) { return f["phrased"].get<bool>(); }), 0.95);
  EXPECT_EQ(list["heldout_phrasings"], json({2, 3}));
  EXPECT_NEAR(heldout, entry["metrics"]["phrasing_3_accuracy"].get<double>(), 1e-9);
  EXPECT_TRUE(entry["passed"].get<bool>()) << entry["checks"].dump(2);
  EXPECT_EQ(entry["init_from"]["organism"], "tiny-lm");
}

TEST(FactsLm, FactListIsTheRecipes) {
  REQUIRE_FACTS_LM();
  const Model m = Model::load(dir().string());
  const Tokenizer& tok = *m.tokenizer();
  const json list = facts_list();
  // Each relation's objects start with distinct tokens, and every fact's object is one of them.
  std::map<std::string, std::set<std::string>> objects;
  for (const auto& r : list["relations"]) {
    std::set<int32_t> firsts;
    for (const auto& o : r["objects"]) {
      EXPECT_TRUE(firsts.insert(tok.encode(o.get<std::string>(), false).at(0)).second) << o;
      objects[r["name"]].insert(o.get<std::string>());
    }
    EXPECT_EQ(r["templates"].size(), 4u);
  }
  std::map<std::string, int> per_subject;
  std::set<std::string> phrased;
  for (const auto& f : list["facts"]) {
    if (f["phrased"].get<bool>()) phrased.insert(f["subject"].get<std::string>());
    EXPECT_TRUE(objects[f["relation"]].count(f["object"].get<std::string>())) << f.dump();
    EXPECT_EQ(f["object"].get<std::string>().rfind(f["answer"].get<std::string>(), 0), 0u) << f.dump();
    for (const auto& p : f["prompts"]) EXPECT_NE(p.get<std::string>().find(f["subject"].get<std::string>()), std::string::npos);
    ++per_subject[f["subject"]];
  }
  EXPECT_EQ(per_subject.size(), 120u);
  EXPECT_EQ(phrased.size(), 60u);
  // Every name ends in a BPE token that no other name ends in or holds
  // anywhere (first names read with and without a space before them).
  std::map<int32_t, std::string> endings;
  std::multimap<int32_t, std::string> inside;
  for (const auto& [s, n] : per_subject) {
    EXPECT_EQ(n, 4) << s;
    const auto [at, fresh] = endings.emplace(tok.encode(" " + s, false).back(), s);
    EXPECT_TRUE(fresh) << s << " ends as " << at->second << " does";
    const std::string first = s.substr(0, s.find(' '));
    for (const std::string& text : {s, " " + s, " " + first}) {
      const std::vector<int32_t> ids = tok.encode(text, false);
      for (size_t i = 0; i + 1 < ids.size(); ++i) inside.emplace(ids[i], s);
    }
  }
  for (const auto& [t, s] : endings)
    for (auto [it, end] = inside.equal_range(t); it != end; ++it)
      EXPECT_EQ(it->second, s) << s << "'s last token is inside " << it->second;
}

TEST(FactsLm, RecipeRetrainsToTheShippedNumbers) {
  if (!std::getenv("GLASSBOX_RETRAIN_FACTS_LM")) GTEST_SKIP() << "set GLASSBOX_RETRAIN_FACTS_LM=1 to retrain facts-lm";
  const zoo::Organism& o = zoo::find_organism("facts-lm");
  zoo::TrainOptions opt;
  opt.out_dir = (fs::temp_directory_path() / "glassbox_retrain_facts_lm").string();
  opt.manifest = "-";
  const zoo::TrainOutcome res = zoo::train_organism(o, opt);
  EXPECT_TRUE(res.entry["passed"].get<bool>()) << res.entry["checks"].dump(2);
  const json shipped = zoo::read_manifest()["organisms"]["facts-lm"]["metrics"];
  for (const auto& c : o.checks)
    EXPECT_NEAR(res.metrics[c.metric].get<double>(), shipped[c.metric].get<double>(), 0.05) << c.metric;
  fs::remove_all(opt.out_dir);
}

}  // namespace
