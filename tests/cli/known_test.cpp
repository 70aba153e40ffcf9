// glassbox known, run as a user runs it on the shipped facts organism:
// --json with every signal's AUROC, the saved probe, --html.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

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

// The monitor the issue asks for, as shipped (models/facts-lm/monitors):
// facts-lm's probe at the prompt's last token (--probe-position end; a fresh
// fit gives the shipped probe), loaded by a profile, flags the answer about a
// person it never saw when generation starts and lets a known person's
// answer pass. Unseen: its first names with surnames no one has.
TEST(KnownCli, FactsLmEndProbeFlagsAnswersAboutUnseenPeople) {
  if (!shipped("facts-lm")) GTEST_SKIP() << "no shipped facts-lm";
  const fs::path tmp = fresh_temp_dir("known-cli-monitor");
  const std::string model = quoted(source_path("models/facts-lm"));
  const CliRun r = run_glassbox("known --model " + model + " --labels facts-lm-known --probe-position end "
                                "--save-probe end.json --json", tmp, "OMP_NUM_THREADS=1");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto fresh_probe = nlohmann::json::parse(slurp(tmp / "end.json"));
  const auto shipped_probe = nlohmann::json::parse(slurp(source_path("models/facts-lm/monitors/known-end-probe.json")));
  ASSERT_EQ(fresh_probe["position"], "end");
  EXPECT_EQ(fresh_probe["hook"], shipped_probe["hook"]);
  const auto& a = fresh_probe["probe"]["direction"][0];
  const auto& b = shipped_probe["probe"]["direction"][0];
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i].get<double>(), b[i].get<double>(), 1e-4) << i;

  const auto list = nlohmann::json::parse(slurp(source_path("models/facts-lm/heldout.json")));
  std::set<std::string> surnames;
  for (const auto& f : list["facts"]) {
    const std::string s = f["subject"];
    surnames.insert(s.substr(s.find(' ') + 1));
  }
  std::vector<std::string> prompts;  // 10 known, then 10 unseen, each after <|endoftext|> as facts-lm was trained
  const char* fresh[] = {"Porter", "Hollis", "Marsh", "Fletcher", "Barker", "Dalton", "Foster", "Garner", "Mercer",
                         "Norris", "Sutton", "Tucker", "Walsh", "Reeves"};
  size_t next = 0;
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < 10; ++i) {
      const auto& f = list["facts"][i * 47 % list["facts"].size()];
      std::string text = f["prompts"][0], subject = f["subject"];
      if (pass == 1) {
        while (surnames.count(fresh[next])) ++next;
        text.replace(text.find(subject), subject.size(), subject.substr(0, subject.find(' ') + 1) + fresh[next++]);
      }
      prompts.push_back(quoted("<|endoftext|>" + text));
    }
  std::string args = "monitor run --model " + model + " --profile " +
                     quoted(source_path("models/facts-lm/monitors/unseen-subject.json")) + " -n 1 --greedy --json";
  for (const std::string& p : prompts) args += " " + p;
  const CliRun g = run_glassbox(args, tmp, "OMP_NUM_THREADS=1");
  ASSERT_EQ(g.code, 0) << g.err;
  int flagged[2] = {0, 0};
  const auto events = g.js()["events"];
  for (const auto& e : events)
    if (e["token"].get<int>() == 0) ++flagged[e["row"].get<int>() >= 10];
  EXPECT_LE(flagged[0], 2) << "known people's answers flagged";
  EXPECT_GE(flagged[1], 8) << "unseen people's answers flagged";
  std::printf("flagged: %d of 10 known, %d of 10 unseen\n", flagged[0], flagged[1]);
  fs::remove_all(tmp);
}
