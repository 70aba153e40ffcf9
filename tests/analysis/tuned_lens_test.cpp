#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <cstring>
#include <unistd.h>

#include "analysis_test_util.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/metrics.h"
#include "glassbox/safetensors.h"
#include "glassbox/train.h"

using namespace glassbox;
using namespace glassbox::analysis;
namespace fs = std::filesystem;

namespace {

// antest::arithmetic_batch's sequences back to back: a token stream.
std::vector<int32_t> arithmetic_stream(int batches, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int32_t> out;
  for (int i = 0; i < batches; ++i) {
    const TrainBatch tb = antest::arithmetic_batch(rng);
    out.insert(out.end(), tb.batch.tokens.begin(), tb.batch.tokens.end());
  }
  return out;
}

// The package's optimiser (SGD-Nesterov, lr 1, weight decay 1e-3), few steps.
TunedLensTrainOptions quick() {
  TunedLensTrainOptions o;
  o.steps = 40;
  o.rows = 8;
  o.seq_len = 16;
  return o;
}

void randomize(TunedLens& lens, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, scale);
  for (Param& p : lens.params)
    for (int64_t i = 0; i < p.value.numel(); ++i) p.value.f32()[i] = n(rng);
}

float max_abs(const Param& p) {
  float m = 0;
  for (int64_t i = 0; i < p.value.numel(); ++i) m = std::max(m, std::fabs(p.value.f32()[i]));
  return m;
}

class TunedOnFixtures : public ::testing::TestWithParam<const char*> {};

TEST_P(TunedOnFixtures, IdentityInitIsExactlyTheLogitLens) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const TunedLens lens = TunedLens::identity(m);
  ASSERT_EQ(lens.n_layers, m.config().n_layers);
  const Batch b = Batch::single(antest::random_tokens(9, m.config().d_vocab, 4));
  LogitLensOptions o;
  o.top_k = 4;
  const LogitLensResult logit = logit_lens(e, b, o), tuned = tuned_lens(e, lens, b, o);
  ASSERT_EQ(tuned.cells.size(), logit.cells.size());
  for (size_t i = 0; i < logit.cells.size(); ++i) {
    EXPECT_EQ(tuned.cells[i].top_tokens, logit.cells[i].top_tokens) << i;
    EXPECT_EQ(tuned.cells[i].top_probs, logit.cells[i].top_probs) << i;
    EXPECT_EQ(tuned.cells[i].kl_to_final, logit.cells[i].kl_to_final) << i;
  }
  // The held-out report agrees with itself and with the lens above.
  const LensComparison cmp = compare_lenses(e, lens, b.tokens, 9);
  EXPECT_EQ(cmp.layers, logit.layers);
  EXPECT_EQ(cmp.positions, 9);
  EXPECT_EQ(cmp.tuned_lens_kl, cmp.logit_lens_kl);
  for (size_t l = 0; l < cmp.layers.size(); ++l) {
    double mean = 0;
    for (size_t p = 0; p < 9; ++p) mean += logit.at(l, p).kl_to_final / 9.0;
    EXPECT_NEAR(cmp.logit_lens_kl[l], mean, 1e-5 * std::max(1.0, mean)) << l;
  }
  EXPECT_LT(cmp.logit_lens_kl.back(), 1e-5);  // the final stream is the model's own output
}

// d loss / d translator from the engine's backward vs. central differences,
// on norms of every kind (LayerNorm with biases, RMSNorm, none).
TEST_P(TunedOnFixtures, TranslatorGradientMatchesFiniteDifferences) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  TunedLens lens = TunedLens::identity(m);
  randomize(lens, 0.05f, 7);
  const int32_t V = m.config().d_vocab;
  const Batch b = Batch::from_rows({antest::random_tokens(5, V, 1), antest::random_tokens(5, V, 2)});
  const int layer = 1;
  lens.zero_grad();
  tuned_lens_loss(e, lens, b, layer, true);
  Param& W = lens.weight(layer);
  Param& bias = *lens.bias_param(layer);
  std::mt19937 rng(3);
  double worst = 0, largest = 0;
  for (Param* p : {&W, &bias})
    for (int k = 0; k < 6; ++k) {
      const int64_t i = int64_t(rng() % uint32_t(p->value.numel()));
      float& x = p->value.f32()[i];
      const float x0 = x, h = 1e-2f;
      x = x0 + h;
      const double up = tuned_lens_loss(e, lens, b, layer);
      x = x0 - h;
      const double down = tuned_lens_loss(e, lens, b, layer);
      x = x0;
      const double fd = (up - down) / (2.0 * h), g = p->grad.f32()[i];
      worst = std::max(worst, std::fabs(fd - g) / std::max(1e-3, std::fabs(fd)));
      largest = std::max(largest, std::fabs(g));
      EXPECT_NEAR(g, fd, 2e-2 * std::max(1e-2, std::fabs(fd))) << GetParam() << " " << p->name << "[" << i << "]";
    }
  EXPECT_GT(largest, 1e-3) << GetParam();  // the check is not vacuous
  // Accumulated, not overwritten.
  const float once = W.grad.f32()[0];
  tuned_lens_loss(e, lens, b, layer, true);
  EXPECT_FLOAT_EQ(W.grad.f32()[0], 2 * once);
}

INSTANTIATE_TEST_SUITE_P(Analysis, TunedOnFixtures, ::testing::Values("gpt2", "llama", "neox", "attn-only"));

TEST(TunedLens, GradientWithoutAFinalNorm) {
  const Trainable tr = antest::induction_by_hand(4.f);  // normalization_type None
  Engine e(tr.model());
  TunedLens lens = TunedLens::identity(tr.model(), /*bias=*/false);
  randomize(lens, 0.05f, 1);
  const Batch b = Batch::single({1, 2, 3, 4, 5, 1, 2, 3});
  lens.zero_grad();
  tuned_lens_loss(e, lens, b, 1, true);
  float& x = lens.weight(1).value.f32()[(antest::kOut + 3) * antest::kD + antest::kTok + 3];
  const float x0 = x, h = 1e-2f;
  x = x0 + h;
  const double up = tuned_lens_loss(e, lens, b, 1);
  x = x0 - h;
  const double down = tuned_lens_loss(e, lens, b, 1);
  x = x0;
  const double fd = (up - down) / (2.0 * h);
  EXPECT_GT(std::fabs(fd), 1e-3);
  EXPECT_NEAR(lens.weight(1).grad.f32()[(antest::kOut + 3) * antest::kD + antest::kTok + 3], fd, 2e-2 * std::fabs(fd));
}

TEST(TunedLens, TrainingBeatsTheLogitLensAtEveryLayer) {
  const Trainable tr = antest::trained_arithmetic_gpt2();
  Engine e(tr.model());
  TunedLens lens = TunedLens::identity(tr.model());
  const std::vector<double> loss = train_tuned_lens(e, lens, arithmetic_stream(25, 2), quick());
  ASSERT_EQ(loss.size(), 40u);
  EXPECT_LT(loss.back(), 0.5 * loss.front());
  const LensComparison cmp = compare_lenses(e, lens, arithmetic_stream(5, 3), 16);  // held out
  std::cout << "[ analysis ] KL to final by layer (logit lens -> tuned lens):";
  for (size_t l = 0; l < cmp.layers.size(); ++l)
    std::cout << " " << cmp.logit_lens_kl[l] << " -> " << cmp.tuned_lens_kl[l] << ";";
  std::cout << "\n";
  for (int l = 0; l < lens.n_layers; ++l) EXPECT_LT(cmp.tuned_lens_kl[size_t(l)], cmp.logit_lens_kl[size_t(l)]) << l;
  EXPECT_LT(cmp.tuned_lens_kl.back(), 1e-5);
  EXPECT_EQ(cmp.tuned_lens_kl.back(), cmp.logit_lens_kl.back());
}

// If the last block (h.1) writes nothing, its input already is the final
// stream: KL 0, gradient exactly 0, and the translator stays the identity.
TEST(TunedLens, ATranslatorWithNothingToCorrectStaysTheIdentity) {
  Trainable tr = antest::trained_arithmetic_gpt2();
  for (Param& p : tr.params())
    if (p.name.find("h.1.") != std::string::npos && p.name.find("c_proj") != std::string::npos)
      std::fill(p.value.f32(), p.value.f32() + p.value.numel(), 0.f);
  Engine e(tr.model());
  TunedLens lens = TunedLens::identity(tr.model());
  // Adam turns any nonzero gradient, however small, into steps of about lr.
  TunedLensTrainOptions o = quick();
  o.steps = 20;
  o.optimizer.kind = "adamw";
  o.optimizer.lr = 1e-2f;
  train_tuned_lens(e, lens, arithmetic_stream(25, 2), o);
  EXPECT_LT(max_abs(lens.weight(1)), 1e-6f);
  EXPECT_LT(max_abs(*lens.bias_param(1)), 1e-6f);
  EXPECT_GT(max_abs(lens.weight(0)), 1e-3f);  // the other did move
  const LensComparison cmp = compare_lenses(e, lens, arithmetic_stream(3, 3), 16);
  EXPECT_LT(cmp.tuned_lens_kl[1], 1e-6);
}

TEST(TunedLens, SaveLoadRoundTripGivesIdenticalOutputs) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const fs::path dir = fs::temp_directory_path() / ("glassbox_tuned_lens_" + std::to_string(::getpid()));
  for (bool bias : {true, false}) {
    TunedLens lens = TunedLens::identity(m, bias);
    randomize(lens, 0.1f, 5);
    lens.save(dir.string());
    const TunedLens back = TunedLens::load(dir.string());
    ASSERT_EQ(back.params.size(), lens.params.size());
    for (size_t i = 0; i < lens.params.size(); ++i) {
      EXPECT_EQ(back.params[i].name, lens.params[i].name);
      EXPECT_EQ(0, std::memcmp(back.params[i].value.data, lens.params[i].value.data, lens.params[i].value.nbytes()));
    }
    const Batch b = Batch::single(antest::random_tokens(6, m.config().d_vocab, 9));
    const LogitLensResult r1 = tuned_lens(e, lens, b), r2 = tuned_lens(e, back, b);
    for (size_t i = 0; i < r1.cells.size(); ++i) {
      EXPECT_EQ(r1.cells[i].top_probs, r2.cells[i].top_probs);
      EXPECT_EQ(r1.cells[i].kl_to_final, r2.cells[i].kl_to_final);
    }
    // The tuned-lens package's config and state-dict names.
    const nlohmann::json cfg = read_json_file((dir / "config.json").string());
    EXPECT_EQ(cfg["lens_type"], "linear_tuned_lens");
    EXPECT_EQ(cfg["num_hidden_layers"], 2);
    EXPECT_EQ(cfg["d_model"], 32);
    EXPECT_EQ(cfg["bias"], bias);
    const SafetensorsFile f = SafetensorsFile::open((dir / "params.safetensors").string());
    ASSERT_NE(f.find("1.weight"), nullptr);
    EXPECT_EQ(f.find("1.weight")->shape, (std::vector<int64_t>{32, 32}));
    EXPECT_EQ(f.find("0.bias") != nullptr, bias);
  }
  fs::remove_all(dir);
}

TEST(TunedLens, LoadRejectsMismatchedFilesAndModels) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const fs::path dir = fs::temp_directory_path() / ("glassbox_tuned_lens_bad_" + std::to_string(::getpid()));
  TunedLens lens = TunedLens::identity(m);
  lens.save(dir.string());
  nlohmann::json cfg = lens.config_json();
  cfg["num_hidden_layers"] = 3;  // one translator more than the file holds
  std::ofstream((dir / "config.json").string()) << cfg.dump();
  try {
    TunedLens::load(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("missing tensor '2.weight'"), std::string::npos) << err.what();
  }
  cfg["num_hidden_layers"] = 1;  // one fewer: the file has a tensor too many
  std::ofstream((dir / "config.json").string()) << cfg.dump();
  EXPECT_THROW(TunedLens::load(dir.string()), Error);
  fs::remove_all(dir);
  const Model llama = Model::load(antest::fixture("llama"));
  Engine le(llama);
  EXPECT_THROW(tuned_lens(le, lens, Batch::single({1, 2, 3})), Error);  // made for another model
}

}  // namespace
