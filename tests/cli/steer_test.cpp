// glassbox steer and generate --control-vector, run as a user runs them, on
// the shipped tiny-lm: pairs -> direction JSON + control vector, sweep with
// --json / --html, export / import, and the errors a user meets.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

class SteerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shipped("tiny-lm")) GTEST_SKIP() << "no shipped tiny-lm";
    tmp_ = fresh_temp_dir("steer-cli");
    std::ofstream p(tmp_ / "pairs.jsonl");
    p << R"({"prompt": "The cat sat", "positive": " happily", "negative": " angrily"})" << "\n"
      << R"({"prompt": "Life is", "positive": " wonderful", "negative": " awful"})" << "\n"
      << R"({"prompt": "My friend is", "positive": " kind", "negative": " cruel"})" << "\n";
    std::ofstream q(tmp_ / "prompts.txt");
    q << "I think that\nThe weather today\n";
    std::ofstream b(tmp_ / "benign.txt");
    b << "A penny saved is a penny earned. The early bird catches the worm, but the second mouse gets the cheese.\n";
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_); }
  std::string model() { return "--model " + quoted(source_path("models/tiny-lm")); }
  fs::path tmp_;
};

}  // namespace

TEST_F(SteerCli, BuildSweepExportImportGenerate) {
  CliRun r = glassbox("steer build " + model() + " --pairs pairs.jsonl --layers 1,2 -o dir.json --control-vector cv.gguf --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.js()["method"], "mean-diff");
  EXPECT_EQ(r.js()["layers"].size(), 2u);
  ASSERT_TRUE(fs::exists(tmp_ / "dir.json"));
  ASSERT_TRUE(fs::exists(tmp_ / "cv.gguf"));

  r = glassbox("steer sweep " + model() +
               " -d dir.json --prompts prompts.txt --marker ' the' --anywhere --benign benign.txt --coefficients 0,2 "
               "--html sweep.html --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  ASSERT_EQ(j["cells"].size(), 4u);
  EXPECT_EQ(j["cells"][0]["ce_ratio"], 0.0);  // coefficient 0 is the unsteered model
  EXPECT_EQ(j["cells"][0]["effect"], j["baseline_effect"]);
  EXPECT_NE(slurp(tmp_ / "sweep.html").find("vega"), std::string::npos);

  r = glassbox("steer import " + model() + " cv.gguf --json");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.js()["method"], "control-vector");

  // generate with the control vector at scale 0 is plain generation; at scale 8 it differs.
  const CliRun plain = glassbox("generate " + model() + " 'Life is' -n 6 --greedy --json");
  const CliRun zero = glassbox("generate " + model() + " 'Life is' -n 6 --greedy --control-vector cv.gguf --control-vector-scale 0 --json");
  const CliRun big = glassbox("generate " + model() + " 'Life is' -n 6 --greedy --control-vector cv.gguf --control-vector-scale 8 --json");
  ASSERT_EQ(plain.code, 0) << plain.err;
  ASSERT_EQ(zero.code, 0) << zero.err;
  ASSERT_EQ(big.code, 0) << big.err;
  EXPECT_EQ(plain.js()["tokens"], zero.js()["tokens"]);
  EXPECT_NE(plain.js()["tokens"], big.js()["tokens"]);
}

TEST_F(SteerCli, ErrorsNameTheFileAndField) {
  CliRun r = glassbox("steer build " + model() + " --pairs pairs.jsonl --layers 7");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("layer 7 is out of range"), std::string::npos) << r.err;
  r = glassbox("steer build " + model() + " --pairs pairs.jsonl --task sentiment");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("exactly one of"), std::string::npos) << r.err;
  // A control vector for another model: the ioi organism's width differs from tiny-lm's.
  ASSERT_EQ(glassbox("steer build " + model() + " --pairs pairs.jsonl --layers 1 --control-vector cv.gguf").code, 0);
  if (shipped("ioi")) {
    r = glassbox("generate --model " + quoted(source_path("models/ioi")) + " --tokens 1,2 --control-vector cv.gguf");
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find("cv.gguf"), std::string::npos) << r.err;
  }
  std::ofstream(tmp_ / "bad.gguf") << "not a gguf";
  r = glassbox("steer import " + model() + " bad.gguf");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.gguf"), std::string::npos) << r.err;
  EXPECT_EQ(glassbox("steer --help").code, 0);
}
