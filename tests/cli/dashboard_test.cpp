// `glassbox dashboard` as a user runs it: the built binary on the shipped
// tiny-lm's neurons over a slice of its corpus.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

class DashboardCli : public ::testing::Test {
 protected:
  void SetUp() override { tmp_ = fresh_temp_dir("dashboard-cli"); }
  void TearDown() override { fs::remove_all(tmp_); }

  CliRun glassbox(const std::string& args) { return run_glassbox(args, tmp_); }
  static std::string model() { return "--model " + quoted(source_path("models/tiny-lm")); }
  static std::string corpus() { return "--corpus " + quoted(source_path("data/zoo-src/fortunes/art")); }

  fs::path tmp_;
};

TEST_F(DashboardCli, NeuronDashboardsAsJsonAndHtml) {
  if (!shipped("tiny-lm")) GTEST_SKIP() << "no tiny-lm";
  const std::string out = (tmp_ / "dash").string();
  const CliRun r = glassbox("dashboard " + model() + " --neurons blocks.1.mlp.hook_post " + corpus() +
                         " --tokens 3000 --top 5 --out " + quoted(out) + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hook_name"], "blocks.1.mlp.hook_post");
  EXPECT_EQ(j["n_features"], 512);
  EXPECT_EQ(j["tokens"], 3000);
  EXPECT_NE(r.err.find("3000/3000 tokens"), std::string::npos) << "progress bar: " << r.err;
  EXPECT_TRUE(fs::exists(fs::path(out) / "index.html"));
  EXPECT_TRUE(fs::exists(fs::path(out) / "dashboard-data" / "chunk-0007.js"));  // 512 neurons / 64
  const nlohmann::json all = nlohmann::json::parse(slurp(fs::path(out) / "dashboards.json"));
  EXPECT_EQ(all["format"], "glassbox.feature_dashboards");
  ASSERT_EQ(all["features"].size(), 512u);
  const auto& f = all["features"][0];
  EXPECT_LE(f["top"].size(), 5u);
  EXPECT_EQ(f["top_logits"].size(), 10u);
  // Every active neuron is explained and scored (built-in autointerp) unless --no-explain.
  int explained = 0;
  for (const auto& g : all["features"]) explained += !g["explanation"].get<std::string>().empty() && g["score"].is_number();
  EXPECT_GT(explained, 256) << "of 512 neurons";
  EXPECT_TRUE(j["autointerp"].is_object());
  const CliRun bare = glassbox("dashboard " + model() + " --neurons 1 " + corpus() + " --tokens 1000 --no-explain --no-html --out " +
                               quoted(out) + " --json");
  ASSERT_EQ(bare.code, 0) << bare.err;
  EXPECT_TRUE(nlohmann::json::parse(slurp(fs::path(out) / "dashboards.json"))["features"][0]["score"].is_null());
}

TEST_F(DashboardCli, DictionaryLatentsFromAnSaeLensDirectory) {
  const fs::path sae = source_path("models/tiny-lm/saes/blocks.2.hook_resid_post");
  if (!shipped("tiny-lm") || !fs::exists(sae / "cfg.json")) GTEST_SKIP() << "no shipped tiny-lm SAE";
  const std::string out = (tmp_ / "sae").string();
  // `sae dashboard` is the same command as `dashboard`.
  const CliRun r = glassbox("sae dashboard " + model() + " --sae " + quoted(sae) + " " + corpus() + " --tokens 2000 --top 3 --out " +
                            quoted(out) + " --json");
  ASSERT_EQ(r.code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hook_name"], "blocks.2.hook_resid_post");
  EXPECT_EQ(j["n_features"], 2048);
  EXPECT_GT(j["autointerp"]["simulation"]["explained"]["median"].get<double>(),
            j["autointerp"]["simulation"]["control"]["median"].get<double>() + 0.2);
}

TEST_F(DashboardCli, ClearErrors) {
  const std::string out = "--out " + quoted(tmp_ / "x");
  CliRun r = glassbox("dashboard " + model() + " " + corpus() + " " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("--neurons"), std::string::npos) << r.err;
  r = glassbox("dashboard " + model() + " --neurons blocks.1.hook_resid_post " + corpus() + " " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not an MLP neuron site"), std::string::npos) << r.err;
  r = glassbox("dashboard " + model() + " --sae /nonexistent " + corpus() + " " + out);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("/nonexistent"), std::string::npos) << r.err;  // names the directory
  r = glassbox("dashboard --help");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--json"), std::string::npos);
}

}  // namespace
