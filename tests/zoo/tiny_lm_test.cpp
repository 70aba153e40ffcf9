// The tiny-lm organisms: the shipped models meet their checks, the shipped
// tokenizer is the one the recipe builds and round-trips text, and the data
// is a pure function of the corpus.
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include <gtest/gtest.h>

#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using namespace glassbox;

namespace {

bool have_corpus() { return fs::exists(fs::path(zoo::data_dir()) / "fortunes" / "computers"); }

#define REQUIRE_CORPUS()                                                                         \
  if (!have_corpus()) GTEST_SKIP() << "no fortunes in " << zoo::data_dir() << "; run scripts/zoo-data.sh"

std::string shipped(const std::string& name) { return (fs::path(zoo::models_dir()) / name).string(); }

// Organisms that do not ship yet are reported, not failed (see models/manifest.json).
#define REQUIRE_SHIPPED(name)                                                  \
  if (!fs::exists(fs::path(shipped(name)) / "model.safetensors"))              \
  GTEST_SKIP() << name << " is not shipped (glassbox zoo train " << name << ")"

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

void expect_passed(const nlohmann::json& report) {
  EXPECT_TRUE(report["passed"].get<bool>()) << report.dump(2);
}

}  // namespace

TEST(TinyLm, ShippedModelBeatsTheUnigramBaseline) {
  REQUIRE_CORPUS();
  REQUIRE_SHIPPED("tiny-lm");
  const nlohmann::json r = zoo::evaluate_organism(zoo::find_organism("tiny-lm"));
  expect_passed(r);
  const auto& m = r["metrics"];
  EXPECT_LT(m["val_ppl"].get<double>(), m["unigram_ppl"].get<double>());
  // The same numbers as when it was trained: evaluation is deterministic.
  const auto man = zoo::read_manifest()["organisms"]["tiny-lm"]["metrics"];
  EXPECT_NEAR(m["val_loss"].get<double>(), man["val_loss"].get<double>(), 1e-4);
}

TEST(TinyLmChat, ShippedModelAnswersInStyleAndDiffersAtTheResponseStart) {
  REQUIRE_CORPUS();
  REQUIRE_SHIPPED("tiny-lm");
  REQUIRE_SHIPPED("tiny-lm-chat");
  const nlohmann::json r = zoo::evaluate_organism(zoo::find_organism("tiny-lm-chat"));
  expect_passed(r);
  const auto& m = r["metrics"];
  EXPECT_LE(m["base_style_rate"].get<double>(), 0.05);
  EXPECT_GT(m["kl_response_start"].get<double>(), m["kl_continuation"].get<double>());
  EXPECT_EQ(zoo::read_manifest()["organisms"]["tiny-lm-chat"]["init_from"]["organism"], "tiny-lm");
}

TEST(TinyLm, ShippedTokenizerIsTheOneTheRecipeBuilds) {
  REQUIRE_CORPUS();
  REQUIRE_SHIPPED("tiny-lm");
  REQUIRE_SHIPPED("tiny-lm-chat");
  const zoo::Recipe r = zoo::find_organism("tiny-lm").recipe(zoo::data_dir());
  EXPECT_EQ(read_json(shipped("tiny-lm") + "/tokenizer.json"), r.tokenizer);
  EXPECT_EQ(read_json(shipped("tiny-lm-chat") + "/tokenizer.json"), r.tokenizer);
  EXPECT_EQ(read_json(shipped("tiny-lm") + "/config.json"), r.config);
  EXPECT_EQ(r.config["vocab_size"], 2048);
}

TEST(TinyLm, TokenizerRoundTripsText) {
  REQUIRE_SHIPPED("tiny-lm");
  const Tokenizer tok = Tokenizer::from_file(shipped("tiny-lm") + "/tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 2048);
  const std::vector<std::string> texts = {
      "A journey of a thousand miles begins with a single step.\n\t\t-- Lao Tsu",
      "User: What is the meaning of life?\nAssistant: Indeed, friend! 42.",
      "Ünïcödé, emoji \xF0\x9F\x98\x80 and   odd   spacing\r\n",
      "",
  };
  for (const auto& t : texts) EXPECT_EQ(tok.decode(tok.encode(t, false)), t) << t;
  // Common words are single tokens; the separator is one special token.
  EXPECT_EQ(tok.encode(" the", false).size(), 1u);
  const auto eot = tok.encode("<|endoftext|>", false);
  ASSERT_EQ(eot.size(), 1u);
  EXPECT_EQ(eot[0], 0);
}

TEST(TinyLm, DataIsAPureFunctionOfTheCorpusAndHoldsOutUnseenFortunes) {
  REQUIRE_CORPUS();
  const zoo::Recipe r = zoo::find_organism("tiny-lm").recipe(zoo::data_dir());
  std::mt19937_64 a(7), b(7);
  const TrainBatch x = r.train_batches(a), y = r.train_batches(b);
  EXPECT_EQ(x.batch.tokens, y.batch.tokens);
  EXPECT_EQ(x.targets, y.targets);
  ASSERT_FALSE(r.heldout_items.empty());
  const double frac = double(r.heldout_items.size()) / double(r.heldout_items.size() + r.train_items.size());
  EXPECT_NEAR(frac, 0.05, 0.001);
  const std::set<std::string> train(r.train_items.begin(), r.train_items.end());
  for (const auto& h : r.heldout_items) EXPECT_FALSE(train.count(h)) << h;
}

TEST(TinyLmChat, LossFallsOnlyOnTheResponse) {
  REQUIRE_CORPUS();
  REQUIRE_SHIPPED("tiny-lm");
  const zoo::Recipe r = zoo::find_organism("tiny-lm-chat").recipe(zoo::data_dir());
  EXPECT_EQ(r.init_from, "tiny-lm");
  const Tokenizer tok = Tokenizer::from_file(shipped("tiny-lm") + "/tokenizer.json");
  const int32_t marker = tok.encode(" Indeed", false).front();
  std::mt19937_64 rng(3);
  const TrainBatch tb = r.train_batches(rng);
  for (int64_t row = 0; row < tb.batch.B; ++row) {
    // Targets are -1 up to "Assistant:"; the first one is the marker's first token.
    int64_t first = -1;
    for (int64_t t = 0; t < tb.batch.T && first < 0; ++t)
      if (tb.targets[static_cast<size_t>(row * tb.batch.T + t)] >= 0) first = t;
    ASSERT_GE(first, 0);
    EXPECT_EQ(tb.targets[static_cast<size_t>(row * tb.batch.T + first)], marker);
    std::vector<int32_t> prompt(tb.batch.tokens.begin() + row * tb.batch.T,
                                tb.batch.tokens.begin() + row * tb.batch.T + first + 1);
    const std::string text = tok.decode(prompt);
    EXPECT_EQ(text.rfind("<|endoftext|>User: ", 0), 0u) << text;
    EXPECT_EQ(text.substr(text.size() - 11), "\nAssistant:") << text;
  }
}
