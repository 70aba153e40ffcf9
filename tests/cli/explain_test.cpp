// glassbox explain, run as a user runs it: on the superposition organism's
// planted features and on a FeatureExamples JSON file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace glassbox::cli_test;

namespace {

fs::path tmp() {
  static const fs::path d = fresh_temp_dir("explain-test");
  return d;
}

// `glassbox explain <args>` with the source tree's shipped organisms.
CliRun explain(const std::string& args) {
  return run_glassbox("explain " + args, tmp(), "env GLASSBOX_MODELS=" + quoted(source_path("models")));
}

// Two latents: 3 fires on " cat", 8 on " dog".
std::string examples_file() {
  json a = {{"feature", 3}, {"density", 0.1}, {"top", json::array()}, {"random", json::array()}};
  json b = {{"feature", 8}, {"top", json::array()}, {"random", json::array()}};
  for (int i = 0; i < 6; ++i) {
    a["top"].push_back({{"tokens", {" the", " cat", " sat"}}, {"acts", {0, 2 - 0.1 * i, 0}}});
    b["top"].push_back({{"tokens", {" a", " dog", " ran"}}, {"acts", {0, 1.5, 0}}});
    a["random"].push_back({{"tokens", {" a", " dog"}}, {"acts", {0, 0}}});
    b["random"].push_back({{"tokens", {" the", " cat"}}, {"acts", {0, 0}}});
  }
  const fs::path p = tmp() / "examples.json";
  std::ofstream(p) << json{{"features", {a, b}}}.dump();
  return p.string();
}

TEST(CliExplain, HelpListsTheOptions) {
  const CliRun r = explain("--help");
  EXPECT_EQ(r.code, 0) << r.err;
  for (const char* f : {"--json", "--organism", "--endpoint", "--api-key-env", "--model", "--latents"})
    EXPECT_NE(r.out.find(f), std::string::npos) << f;
}

TEST(CliExplain, NamesThePlantedFeaturesOfTheSuperpositionOrganism) {
  if (!shipped("superposition")) GTEST_SKIP() << "glassbox zoo train superposition";
  const CliRun r = explain("--organism superposition --samples 8000 --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["latents"].size(), 64u);
  EXPECT_GE(j["named_planted_features"].get<int>(), 58) << r.out.substr(0, 2000);
  EXPECT_GT(j["summary"]["simulation"]["explained"]["mean"].get<double>(),
            j["summary"]["simulation"]["control"]["mean"].get<double>() + 0.3);
  EXPECT_EQ(j["latents"][5]["names_planted_feature"], true);
}

TEST(CliExplain, ExplainsAFileInTextAndJson) {
  const std::string file = examples_file();
  const fs::path report = tmp() / "report.json";
  const CliRun r = explain(quoted(file) + " --quiet --out " + quoted(report));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("token \" cat\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("control (shuffled)"), std::string::npos) << r.out;
  const json saved = json::parse(slurp(report));
  EXPECT_EQ(saved["latents"][1]["feature"], 8);
  EXPECT_EQ(saved["latents"][1]["explanation"]["text"], "token \" dog\"");
  const CliRun js = explain(quoted(file) + " --latents 8,3 --json");
  ASSERT_EQ(js.code, 0) << js.err;
  EXPECT_EQ(json::parse(js.out)["latents"][0]["feature"], 8);
  const CliRun one = explain(quoted(file) + " --latents 3 --json");  // no control with one latent
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_GT(json::parse(one.out)["latents"][0]["scores"]["simulation"].get<double>(), 0.9) << one.out;
}

TEST(CliExplain, BadInputIsAClearError) {
  const fs::path bad = tmp() / "bad.json";
  std::ofstream(bad) << R"({"feature": 1, "top": [{"tokens": ["a"], "acts": [1, 2]}]})";
  CliRun r = explain(quoted(bad));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("bad.json: top[0]: 1 tokens but 2 activations"), std::string::npos) << r.err;
  r = explain("--organism ioi");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("only 'superposition'"), std::string::npos) << r.err;
  r = explain(quoted(examples_file()) + " --latents 4");
  EXPECT_NE(r.err.find("no examples for latent 4"), std::string::npos) << r.err;
  r = explain(quoted(examples_file()) + " --endpoint http://127.0.0.1:1/v1 --model m --api-key-env GLASSBOX_NO_SUCH_KEY_VAR");
  EXPECT_NE(r.err.find("GLASSBOX_NO_SUCH_KEY_VAR"), std::string::npos) << r.err;
  r = explain("");
  EXPECT_NE(r.code, 0);
}

}  // namespace
