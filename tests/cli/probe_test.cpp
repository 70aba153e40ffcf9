// glassbox probe, run as a user runs it: a JSONL label file on a tiny random
// model (the label is the last character, so it is in the embedding), and the
// ioi organism's indirect object (skipped when the organism is not shipped).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "make_tiny_model.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace glassbox::cli_test;

namespace {

class ProbeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = fresh_temp_dir("probe-cli");
    glassbox::cli::TinyModelOptions o;
    o.n_layer = 2;
    o.n_embd = 32;
    o.n_positions = 32;
    glassbox::cli::make_tiny_gpt2((tmp_ / "tiny").string(), o);
    std::ofstream f(tmp_ / "labels.jsonl");
    const char* stems[] = {"the cat ", "a dog ", "my old hat ", "some tea ", "one ", "big red "};
    for (int i = 0; i < 48; ++i)
      f << "{\"text\": \"" << stems[i % 6] << (i % 2 ? "x" : "y") << i % 7 << "\", \"label\": \""
        << (i % 2 ? "ex" : "why") << "\"}\n";
  }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }

  static CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_); }
  static std::string tiny() { return "--model " + quoted(tmp_ / "tiny"); }
  static inline fs::path tmp_;
};

TEST_F(ProbeCli, JsonlTaskJsonAndHtml) {
  // The label is the second-to-last character: in the embedding at position -2.
  const CliRun r = glassbox("probe " + tiny() + " --task labels.jsonl --sites resid_pre,mlp_out --position -2 --json --html probes.html");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["classes"], json({"ex", "why"}));
  EXPECT_EQ(j["n_examples"], 48);
  EXPECT_EQ(j["n_test"], 12);
  ASSERT_EQ(j["cells"].size(), 4u);  // 2 sites x 2 layers
  EXPECT_EQ(j["cells"][0]["hook"], "blocks.0.hook_resid_pre");
  EXPECT_GE(j["cells"][0]["accuracy"].get<double>(), 0.9);
  EXPECT_TRUE(j["cells"][0]["selectivity"].is_number());
  const std::string html = slurp(tmp_ / "probes.html");
  EXPECT_NE(html.find("held-out accuracy of logistic probes by layer"), std::string::npos);
  EXPECT_NE(html.find("(control task)"), std::string::npos);
}

TEST_F(ProbeCli, HumanTableAndKinds) {
  for (const char* kind : {"ridge", "mass-mean"}) {
    const CliRun r = glassbox("probe " + tiny() + " --task labels.jsonl --sites resid_pre --position -2 --kind " + kind);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("blocks.1.hook_resid_pre"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::string(kind) + " probes"), std::string::npos) << r.out;
  }
}

TEST_F(ProbeCli, BadInputIsAClearError) {
  CliRun r = glassbox("probe " + tiny() + " --task nonsense");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("unknown task 'nonsense'"), std::string::npos) << r.err;
  r = glassbox("probe " + tiny() + " --task labels.jsonl --sites pattern");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("not by position"), std::string::npos) << r.err;
  r = glassbox("probe " + tiny() + " --task labels.jsonl --kind svm");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("probe kind 'svm'"), std::string::npos) << r.err;
  r = glassbox("probe " + tiny() + " --task labels.jsonl --position S2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("no position named 'S2'"), std::string::npos) << r.err;
  r = glassbox("probe " + tiny() + " --task ioi-io");
  EXPECT_NE(r.code, 0);  // not the ioi organism's vocabulary
  EXPECT_NE(r.err.find("models/ioi"), std::string::npos) << r.err;
}

TEST_F(ProbeCli, IoiIndirectObjectByLayer) {
  const fs::path ioi = fs::path(GLASSBOX_SOURCE_DIR) / "models/ioi";
  if (!fs::exists(ioi / "model.safetensors")) GTEST_SKIP() << "no trained ioi in models/ (glassbox zoo train ioi)";
  const CliRun r = glassbox("probe --model " + quoted(ioi) +
                            " --task ioi-io --sites resid_pre --position end --limit 200 --no-control --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n_examples"], 200);
  EXPECT_LT(j["cells"][0]["accuracy"].get<double>(), 0.5);   // blocks.0: only " to" at the final position
  EXPECT_GE(j["cells"][3]["accuracy"].get<double>(), 0.95);  // blocks.3: the answer is there
  EXPECT_TRUE(j["cells"][3]["control"].is_null());
}

}  // namespace
