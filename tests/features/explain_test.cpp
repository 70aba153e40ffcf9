// The built-in explainer and simulator on hand-made examples whose answer is
// known, and the statistics behind the scores.
#include "glassbox/features/explain.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>

#include "glassbox/error.h"
#include "glassbox/features/simulate.h"

namespace glassbox::features {
namespace {

const std::vector<std::string> kWords = {" the", " a", " of", " river", " lake", " bank", " money", " walked", " to",
                                         " and", " big", " old", " green", " house", " road", " sky"};

// Random sentences; `act(prev, tok)` says how strongly the feature fires.
ActivationRecord sentence(std::mt19937_64& rng, size_t len,
                          const std::function<float(const std::string&, const std::string&)>& act) {
  ActivationRecord r;
  for (size_t t = 0; t < len; ++t) {
    r.tokens.push_back(kWords[rng() % kWords.size()]);
    r.acts.push_back(act(t ? r.tokens[t - 1] : "", r.tokens[t]));
  }
  return r;
}

FeatureExamples examples(const std::function<float(const std::string&, const std::string&)>& act, uint64_t seed) {
  std::mt19937_64 rng(seed);
  FeatureExamples ex;
  std::vector<ActivationRecord> pool;
  for (int i = 0; i < 400; ++i) pool.push_back(sentence(rng, 12, act));
  for (int i = 0; i < 60; ++i) ex.random.push_back(pool[size_t(i)]);
  std::stable_sort(pool.begin(), pool.end(), [](const auto& a, const auto& b) { return a.max_act() > b.max_act(); });
  for (int i = 0; i < 30; ++i) ex.top.push_back(pool[size_t(i)]);
  for (int i = 100; i < 200; i += 10) ex.quantiles.push_back(pool[size_t(i)]);
  return ex;
}

float water(const std::string&, const std::string& tok) { return tok == " river" ? 5.f : tok == " lake" ? 3.f : 0.f; }
float after_of(const std::string& prev, const std::string&) { return prev == " of" ? 2.f : 0.f; }
float money_bank(const std::string& prev, const std::string& tok) {
  return tok == " bank" && prev == " money" ? 4.f : 0.f;
}

TEST(BuiltinExplainer, NamesTheTokensAFeatureFiresOn) {
  const FeatureExamples ex = examples(water, 1);
  const Explanation e = explain(ex);
  ASSERT_EQ(e.patterns.size(), 2u) << e.text;
  EXPECT_EQ(e.patterns[0].token, " river");
  EXPECT_EQ(e.patterns[1].token, " lake");
  EXPECT_TRUE(e.patterns[0].previous.empty());
  EXPECT_NEAR(e.patterns[0].activation, 1.0, 1e-6);  // " river" always fires at the max
  EXPECT_NEAR(e.patterns[1].activation, 0.6, 1e-6);
  EXPECT_EQ(e.text, R"(tokens " river", " lake")");
  EXPECT_EQ(e.explainer, "builtin");
}

TEST(BuiltinExplainer, ATokenThatIsHalfAUtf8CharacterStillGetsAnExplanation) {
  // Byte-level BPE: "\xC2" alone is the first byte of a two-byte character.
  const std::string half(1, '\xC2');
  const FeatureExamples ex = examples([&](const std::string&, const std::string& tok) { return tok == " lake" ? 2.f : 0.f; }, 3);
  FeatureExamples odd = ex;
  for (auto* list : {&odd.top, &odd.random, &odd.quantiles})
    for (auto& r : *list)
      for (auto& t : r.tokens)
        if (t == " lake") t = half;
  const Explanation e = explain(odd);
  ASSERT_FALSE(e.patterns.empty());
  EXPECT_EQ(e.patterns[0].token, half);  // the pattern keeps the bytes; only the text replaces them
  EXPECT_NE(e.text.find("\xEF\xBF\xBD"), std::string::npos) << e.text;
}

TEST(BuiltinExplainer, FindsAFeatureOfThePreviousToken) {
  const Explanation e = explain(examples(after_of, 2));
  ASSERT_EQ(e.patterns.size(), 1u) << e.text;
  EXPECT_EQ(e.patterns[0].previous, " of");
  EXPECT_EQ(e.patterns[0].token, "");
  EXPECT_EQ(e.text, R"(any token after " of")");
}

TEST(BuiltinExplainer, FindsABigram) {
  const Explanation e = explain(examples(money_bank, 3));
  ASSERT_GE(e.patterns.size(), 1u) << e.text;
  EXPECT_EQ(e.patterns[0].token, " bank");
  EXPECT_EQ(e.patterns[0].previous, " money");
  EXPECT_EQ(e.text, R"(" bank" after " money")");
}

TEST(BuiltinExplainer, SaysSoWhenAFeatureNeverFires) {
  const Explanation e = explain(examples([](const std::string&, const std::string&) { return 0.f; }, 4));
  EXPECT_TRUE(e.patterns.empty());
  EXPECT_EQ(e.text, "never active in its examples");
}

// An empty token string would read as "any token" in a pattern.
TEST(BuiltinExplainer, NeverMakesAPatternThatMatchesEverything) {
  FeatureExamples ex;
  for (int i = 0; i < 8; ++i) {
    ex.top.push_back({{" a", "", " b"}, {0, 1, 0.5f}});
    ex.random.push_back({{" a", " c"}, {0, 0}});
  }
  const Explanation e = explain(ex);
  ASSERT_FALSE(e.patterns.empty());
  for (const TokenPattern& p : e.patterns) EXPECT_FALSE(p.token.empty() && p.previous.empty()) << e.text;
  EXPECT_NO_THROW(explanation_from_json(to_json(e)));
}

TEST(Scores, AGoodExplanationBeatsAWrongOne) {
  const FeatureExamples ex = examples(water, 5);
  const Scores good = score(explain(ex), ex);
  const Scores wrong = score(explain(examples(after_of, 6)), ex);
  EXPECT_GT(good.simulation, 0.95);
  EXPECT_GT(good.detection_auroc, 0.95);
  EXPECT_GT(good.fuzzing_auroc, 0.95);
  EXPECT_GT(good.detection_balanced_accuracy, 0.9);
  EXPECT_GT(good.fuzzing_balanced_accuracy, 0.9);
  EXPECT_LT(wrong.simulation, 0.2);
  EXPECT_LT(wrong.fuzzing_auroc, 0.7);
  EXPECT_GT(good.simulated_tokens, 0);
  EXPECT_GT(good.fuzzing_contexts, 0);
}

TEST(BuiltinSimulator, ReadsFreeTextByTheWordsItNames) {
  Explanation e;
  e.text = "mentions of the word river, and \" lake\"";
  const std::vector<ActivationRecord> recs = {{{" River", " of", " lake", " the", " riverbank"}, {0, 0, 0, 0, 0}}};
  const auto sim = BuiltinSimulator().simulate(e, recs);
  EXPECT_EQ(sim[0], (std::vector<float>{1, 0, 1, 0, 0}));
  const FeatureExamples ex = examples(water, 7);
  EXPECT_GT(score(e, ex).simulation, 0.6);
}

TEST(Explanation, JsonRoundTripsAndRejectsBadPatterns) {
  const Explanation e = explain(examples(money_bank, 8));
  const Explanation back = explanation_from_json(to_json(e));
  EXPECT_EQ(back.text, e.text);
  ASSERT_EQ(back.patterns.size(), e.patterns.size());
  EXPECT_EQ(back.patterns[0].previous, " money");
  EXPECT_EQ(back.patterns[0].activation, e.patterns[0].activation);
  EXPECT_THROW(explanation_from_json({{"text", "x"}, {"patterns", {{{"activation", 1}}}}}), Error);
  EXPECT_THROW(explanation_from_json({{"patterns", nlohmann::json::array()}}), Error);
  EXPECT_THROW(explanation_from_json(nlohmann::json::array()), Error);
}

TEST(SplitExamples, AlternatesRecordsSoExplainingNeverSeesTheScoredHalf) {
  const FeatureExamples ex = examples(water, 9);
  const ExampleSplit s = split_examples(ex);
  EXPECT_EQ(s.train.top.size() + s.holdout.top.size(), ex.top.size());
  EXPECT_EQ(s.holdout.top[0].tokens, ex.top[1].tokens);
  EXPECT_EQ(s.train.random[1].tokens, ex.random[2].tokens);
}

}  // namespace
}  // namespace glassbox::features
