// glassbox edit, run as a user runs it, on the shipped facts organism: one
// ROME edit saved as a checkpoint and as an edit file, the edit file applied
// again, a small eval table with --json / --html, and the errors a user meets.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

class EditCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shipped("facts") || !fs::exists(source_path("data/zoo-src/wordnet")))
      GTEST_SKIP() << "no shipped facts organism or no corpora";
    tmp_ = fresh_temp_dir("edit-cli");
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_); }
  std::string model() { return "--model " + quoted(source_path("models/facts")); }
  fs::path tmp_;
};

}  // namespace

TEST_F(EditCli, ApplySaveReapplyEval) {
  CliRun r = glassbox("edit apply " + model() +
                      " --prompt 'Mina Selia lives in' --subject 'Mina Selia' --new ' Athens' --old ' Jerusalem'"
                      " --prefixes 2 --v-steps 30 --cov-tokens 2000 -o edited --save-edit mina.safetensors --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  EXPECT_GT(j["after"]["p_new"].get<double>(), 100 * j["before"]["p_new"].get<double>());
  EXPECT_EQ(j["changes"][0]["rank"], 1);
  ASSERT_TRUE(fs::exists(tmp_ / "edited" / "model.safetensors"));
  ASSERT_TRUE(fs::exists(tmp_ / "edited" / "tokenizer.json"));

  // The edit file on the original model gives the same probabilities as the saved checkpoint.
  r = glassbox("edit apply " + model() + " --from-edit mina.safetensors --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.js()["edit"]["subject"], "Mina Selia");

  r = glassbox("edit eval " + model() +
               " --methods rome,ft-l --batches 2 --edits 2 --neighbours 3 --prefixes 2 --v-steps 10 --ft-steps 5"
               " --cov-tokens 1000 --html edit.html --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto e = r.js();
  ASSERT_EQ(e["methods"].size(), 2u);
  EXPECT_EQ(e["methods"][0]["method"], "rome");
  EXPECT_EQ(e["methods"][1]["method"], "ft-l");
  EXPECT_EQ(e["methods"][0]["edits"], 2);
  EXPECT_NE(slurp(tmp_ / "edit.html").find("vega"), std::string::npos);
}

TEST_F(EditCli, ErrorsNameWhatIsWrong) {
  CliRun r = glassbox("edit apply " + model() + " --prompt 'Mina Selia lives in' --subject 'Kai Doran' --new ' Athens'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("'Kai Doran' not found in the prompt"), std::string::npos) << r.err;
  r = glassbox("edit apply " + model() + " --prompt 'Mina Selia lives in' --subject 'Mina Selia' --new ' Athens Jerusalem'");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("is 2 tokens"), std::string::npos) << r.err;
  r = glassbox("edit apply " + model() + " --prompt 'Mina Selia lives in' --subject 'Mina Selia' --new ' Athens' --method rome2");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("rome, memit, ft, ft-l"), std::string::npos) << r.err;
  r = glassbox("edit eval " + model() + " --methods memit --memit-layers 0-1");  // a list, not a range
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--memit-layers: expected integers separated by commas"), std::string::npos) << r.err;
  r = glassbox("edit apply " + model() + " --prompt 'Mina Selia lives in' --subject 'Mina Selia' --new ' Athens'"
               " --method memit --memit-keys median");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("--memit-keys"), std::string::npos) << r.err;
  r = glassbox("edit --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("apply"), std::string::npos);
}

// facts-lm was trained on rows that begin with <|endoftext|>, which GPT-2's
// BPE does not add: a ROME-edited facts-lm says the new city only when
// generate puts it first (--prepend-bos), and not twice when the prompt has it.
TEST(EditCliFactsLm, GenerateWithPrependBosShowsTheEditedFact) {
  if (!shipped("facts-lm")) GTEST_SKIP() << "no shipped facts-lm";
  const fs::path tmp = fresh_temp_dir("edit-cli-bos");
  const CliRun e = run_glassbox("edit apply --model " + quoted(source_path("models/facts-lm")) +
                                    " --method rome --prompt 'Mina Selia lives in' --subject 'Mina Selia'"
                                    " --new ' At' --old ' J' -o edited --json", tmp);
  ASSERT_EQ(e.code, 0) << e.err;
  const auto gen = [&](const std::string& prompt, const std::string& flags) {
    const CliRun g = run_glassbox("generate --model edited " + quoted(prompt) + " -n 1 --greedy --json " + flags, tmp);
    EXPECT_EQ(g.code, 0) << g.err;
    return g.js();
  };
  const auto with = gen("Mina Selia lives in", "--prepend-bos");
  EXPECT_EQ(with["text"], " At");
  const auto bare = gen("Mina Selia lives in", "");
  EXPECT_NE(bare["prompt_tokens"][0], with["prompt_tokens"][0]);
  EXPECT_EQ(with["prompt_tokens"].size(), bare["prompt_tokens"].size() + 1);
  const auto given = gen("<|endoftext|>Mina Selia lives in", "--prepend-bos");
  EXPECT_EQ(given["prompt_tokens"], with["prompt_tokens"]);
  fs::remove_all(tmp);
}
