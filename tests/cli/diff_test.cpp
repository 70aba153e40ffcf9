// glassbox diff, run as a user runs it: tiny-lm against tiny-lm-chat on the
// chat organism's own held-out prompts (--json and --html), on prompts given
// in a JSON Lines file, and the errors for models that cannot be compared.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"
#include "glassbox/features/saelens.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

class DiffCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shipped("tiny-lm") || !shipped("tiny-lm-chat")) GTEST_SKIP() << "no shipped tiny-lm / tiny-lm-chat";
    tmp_ = fresh_temp_dir("diff-cli");
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_, "OMP_NUM_THREADS=1"); }
  std::string models() {
    return "--base " + quoted(source_path("models/tiny-lm")) + " --tuned " + quoted(source_path("models/tiny-lm-chat"));
  }
  fs::path tmp_;
};

}  // namespace

TEST_F(DiffCli, TheChatModelDiffersAtTheStartOfItsResponses) {
  const CliRun r = glassbox("diff " + models() + " --chat 8 --max-new-tokens 14 --json --html diff.html");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  EXPECT_EQ(j["technique"], "model_diff");
  EXPECT_EQ(j["n_prompts"], 8);
  EXPECT_EQ(j["start_positions"], 8);  // the 7-token marker and the token after it
  EXPECT_GE(j["kl"]["start_over_rest"].get<double>(), 5.0);
  EXPECT_NE(j["summary"].get<std::string>().find("concentrates at the response start"), std::string::npos);
  EXPECT_EQ(j["components"].size(), 8u);  // attn_out and mlp_out at 4 layers
  EXPECT_TRUE(j["lens"]["start"][0]["promoted"][0].contains("text"));
  const std::string html = slurp(tmp_ / "diff.html");
  EXPECT_NE(html.find("KL(tuned || base) by response position"), std::string::npos);
  EXPECT_NE(html.find("relative Frobenius norm"), std::string::npos);
}

TEST_F(DiffCli, PromptsAndResponsesFromAFile) {
  std::ofstream(tmp_ / "p.jsonl") << R"({"prompt": "<|endoftext|>User: A fool and his money\nAssistant:", "response": " Indeed, friend! are soon parted."})"
                                  << "\n"
                                  << R"({"prompt": "The cat sat on the mat and"})" << "\n";
  const CliRun r = glassbox("diff " + models() + " --prompts-file p.jsonl --no-patching --start 2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("KL(tuned || base) by response position"), std::string::npos);
  EXPECT_NE(r.out.find("blocks.0.attn.W_Q"), std::string::npos);
}

TEST_F(DiffCli, ModelsThatCannotBeComparedAreClearErrors) {
  const CliRun r = glassbox("diff --base " + quoted(source_path("models/tiny-lm")) + " --tuned " +
                            quoted(source_path("models/ioi")) + " 'hello'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("d_vocab"), std::string::npos) << r.err;
  const CliRun bad = glassbox("diff " + models() + " --prompts-file missing.jsonl");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("missing.jsonl"), std::string::npos) << bad.err;
}

// --crosscoder: the plumbing from a SAELens directory to the JSON and the page
// (a random crosscoder: what it finds is tested in CrosscoderDiff, here only
// that every latent is accounted for), and a one-source SAE refused.
TEST_F(DiffCli, CrosscoderLatentsJoinTheReport) {
  using namespace glassbox::features;
  SaeConfig c;
  c.arch = SaeArch::TopK;
  c.d_in = 128;
  c.d_sae = 32;
  c.k = 4;
  c.n_sources = 2;
  c.source_names = {"tiny-lm/blocks.1.hook_resid_post", "tiny-lm-chat/blocks.1.hook_resid_post"};
  c.hook_name = c.source_names[0];
  save_saelens(Sae::init(c, 7), (tmp_ / "xc").string());
  const CliRun r = glassbox("diff " + models() + " --chat 4 --max-new-tokens 10 --no-patching --crosscoder xc --json --html d.html");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto x = r.js()["crosscoder"];
  EXPECT_EQ(x["technique"], "crosscoder_diff");
  EXPECT_EQ(x["tuned_hook"], "blocks.1.hook_resid_post");
  int64_t latents = 0;
  for (const auto& n : x["relative_norm_histogram"]) latents += n.get<int64_t>();
  EXPECT_EQ(latents, 32);
  EXPECT_EQ(x["positions"]["start"].get<int64_t>(), 4 * 8);
  EXPECT_NE(x["summary"].get<std::string>().find("crosscoder latents"), std::string::npos);
  EXPECT_NE(slurp(tmp_ / "d.html").find("Crosscoder latents"), std::string::npos);

  c.n_sources = 1;
  c.source_names.clear();
  save_saelens(Sae::init(c, 7), (tmp_ / "sae").string());
  const CliRun bad = glassbox("diff " + models() + " --chat 2 --no-patching --crosscoder sae");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("two sources"), std::string::npos) << bad.err;
}
