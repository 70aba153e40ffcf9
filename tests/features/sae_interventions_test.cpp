// "sae" interventions read from a JSON file that names a SAELens directory:
// the shipped tiny-lm SAE, through features::load_interventions.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/test_util.h"
#include "glassbox/error.h"
#include "glassbox/features/saelens.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using namespace glassbox;

namespace {

TEST(SaeInterventionsFile, LoadsTheShippedSaeAndSplicesIt) {
  const fs::path model_dir = fs::path(zoo::models_dir()) / "tiny-lm";
  const fs::path sae_dir = model_dir / "saes" / "blocks.2.hook_resid_post";
  if (!fs::exists(sae_dir / "cfg.json")) GTEST_SKIP() << "no shipped tiny-lm SAE";
  const fs::path dir = fs::temp_directory_path() / ("glassbox-sae-iv-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto write = [&](const char* name, const nlohmann::json& j) {
    std::ofstream(dir / name) << j.dump();
    return (dir / name).string();
  };
  const nlohmann::json base = {{"type", "sae"}, {"hook", "blocks.2.hook_resid_post"}, {"sae", sae_dir.string()}};
  nlohmann::json bare = base, clamp = base;
  bare["keep_error"] = false;
  clamp["latents"] = {0, 1, 2};
  clamp["edit"] = "clamp";
  clamp["value"] = 20.0;

  const Model m = Model::load(model_dir.string());
  Engine e(m);
  const Batch b = Batch::single(gbtest::some_tokens(12, m.config().d_vocab, 5));
  const Tensor plain = e.logits(b);
  auto run = [&](const std::string& file) {
    HookRegistry reg(m.config());
    auto hs = attach(reg, features::load_interventions(file));
    return e.logits(b, &reg);
  };
  const Tensor with_error = run(write("keep.json", base));
  const Tensor spliced = run(write("bare.json", bare));
  const Tensor clamped = run(write("clamp.json", clamp));
  const int64_t n = plain.numel();
  EXPECT_LT(gbtest::max_abs_diff(with_error.f32(), plain.f32(), n), 1e-3f);  // reconstruction + error = x
  EXPECT_GT(gbtest::max_abs_diff(spliced.f32(), plain.f32(), n), 1e-3f);     // the SAE is not exact
  EXPECT_GT(gbtest::max_abs_diff(clamped.f32(), with_error.f32(), n), 1e-2f);
  // The loader refuses what an intervention cannot decode, naming the directory.
  nlohmann::json missing = base;
  missing["sae"] = (dir / "nope").string();
  EXPECT_THROW(features::load_interventions(write("missing.json", missing)), Error);
  fs::remove_all(dir);
}

}  // namespace
