// glassbox known, run as a user runs it on the shipped facts organism:
// --json with every signal's AUROC, the saved probe, --html.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

TEST(KnownCli, FactsKnownSubjectsAgainstUnseenOnes) {
  if (!shipped("facts")) GTEST_SKIP() << "no shipped facts";
  const fs::path tmp = fresh_temp_dir("known-cli");
  const CliRun r = run_glassbox("known --model " + quoted(source_path("models/facts")) +
                                    " --json --save-probe probe.json --html known.html",
                                tmp, "OMP_NUM_THREADS=1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  EXPECT_EQ(j["technique"], "knowledge");
  EXPECT_EQ(j["n_known"], 480);
  EXPECT_EQ(j["n_unknown"], 480);
  EXPECT_GE(j["best"]["auroc"].get<double>(), 0.95);
  const auto probe = nlohmann::json::parse(slurp(tmp / "probe.json"));
  EXPECT_EQ(probe["format"], "glassbox-probe");
  EXPECT_TRUE(probe["hook"].get<std::string>().find("hook_resid_post") != std::string::npos);
  EXPECT_NE(slurp(tmp / "known.html").find("held-out AUROC"), std::string::npos);
  const CliRun bad = run_glassbox("known --model " + quoted(source_path("models/tiny-lm")), tmp);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("facts"), std::string::npos) << bad.err;
  fs::remove_all(tmp);
}

// facts-lm stores its facts at the subject, and knows its people there too:
// the residual probe at the last subject token separates them from names it
// never saw (measured 0.996 after block 2; facts' best probe: 0.615).
TEST(KnownCli, FactsLmKnowsItsPeopleAtTheSubject) {
  if (!shipped("facts-lm")) GTEST_SKIP() << "no shipped facts-lm";
  const fs::path tmp = fresh_temp_dir("known-cli-lm");
  const CliRun r = run_glassbox("known --model " + quoted(source_path("models/facts-lm")) + " --labels facts-lm-known --json",
                                tmp, "OMP_NUM_THREADS=1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  EXPECT_EQ(j["n_known"], 480);
  EXPECT_EQ(j["n_unknown"], 480);
  EXPECT_GE(j["best"]["auroc"].get<double>(), 0.93);
  EXPECT_EQ(j["best"]["name"].get<std::string>().rfind("probe subject", 0), 0u) << j["best"].dump();
  // Another organism's tokenizer cannot spell facts-lm's people: an error, not a meaningless score.
  const CliRun bad = run_glassbox("known --model " + quoted(source_path("models/facts")) + " --labels facts-lm-known", tmp);
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("not facts-lm's tokenizer"), std::string::npos) << bad.err;
  fs::remove_all(tmp);
}
