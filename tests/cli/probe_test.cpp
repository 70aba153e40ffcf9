// glassbox probe, run as a user runs it: a JSONL label file on a tiny random
// model (the label is the last character, so it is in the embedding), and the
// ioi organism's indirect object (skipped when the organism is not shipped).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "make_tiny_model.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ProbeCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = fs::temp_directory_path() / ("glassbox-probe-cli-" + std::to_string(getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
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

  struct Result {
    int code = -1;
    std::string out, err;
  };
  static Result glassbox(const std::string& args) {
    const fs::path out = tmp_ / "out.txt", err = tmp_ / "err.txt";
    const std::string cmd = "cd '" + tmp_.string() + "' && '" + std::string(GLASSBOX_BINARY_DIR) + "/glassbox' " +
                            args + " >'" + out.string() + "' 2>'" + err.string() + "'";
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  }
  static std::string tiny() { return "--model '" + (tmp_ / "tiny").string() + "'"; }
  static inline fs::path tmp_;
};

TEST_F(ProbeCli, JsonlTaskJsonAndHtml) {
  // The label is the second-to-last character: in the embedding at position -2.
  const Result r = glassbox("probe " + tiny() + " --task labels.jsonl --sites resid_pre,mlp_out --position -2 --json --html probes.html");
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
    const Result r = glassbox("probe " + tiny() + " --task labels.jsonl --sites resid_pre --position -2 --kind " + kind);
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("blocks.1.hook_resid_pre"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(std::string(kind) + " probes"), std::string::npos) << r.out;
  }
}

TEST_F(ProbeCli, BadInputIsAClearError) {
  Result r = glassbox("probe " + tiny() + " --task nonsense");
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
  const Result r = glassbox("probe --model '" + ioi.string() +
                            "' --task ioi-io --sites resid_pre --position end --limit 200 --no-control --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["n_examples"], 200);
  EXPECT_LT(j["cells"][0]["accuracy"].get<double>(), 0.5);   // blocks.0: only " to" at the final position
  EXPECT_GE(j["cells"][3]["accuracy"].get<double>(), 0.95);  // blocks.3: the answer is there
  EXPECT_TRUE(j["cells"][3]["control"].is_null());
}

}  // namespace
