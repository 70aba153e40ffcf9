#include "glassbox/features/fourier.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>

#include "glassbox/error.h"
#include "glassbox/zoo.h"

using namespace glassbox;

namespace {

constexpr int kP = 23;

std::vector<float> grid(auto fn) {
  std::vector<float> f(size_t(kP * kP));
  for (int a = 0; a < kP; ++a)
    for (int b = 0; b < kP; ++b) f[size_t(a * kP + b)] = float(fn(a, b));
  return f;
}
double w(int k) { return 2 * std::numbers::pi * k / kP; }

TEST(FrequencyProfile, OneFrequencyTermsBelongToThatFrequency) {
  // Every single-frequency term of Nanda et al.'s neurons, in one function.
  const auto f = grid([](int a, int b) {
    return 3 + std::cos(w(5) * a) + 0.5 * std::sin(w(5) * b) + 2 * std::cos(w(5) * (a + b)) +
           std::cos(w(5) * a) * std::sin(w(5) * b);
  });
  const auto pr = features::frequency_profile(f.data(), kP);
  EXPECT_EQ(pr.dominant, 5);
  EXPECT_NEAR(pr.dominant_fraction(), 1.0, 1e-9);
  ASSERT_EQ(pr.fraction.size(), size_t(kP / 2 + 1));
  EXPECT_EQ(pr.fraction[0], 0.0);
}

TEST(FrequencyProfile, SplitsPowerByParsevalAndLeavesMixedTermsOut) {
  // cos(w3 a) has power p^2/2 at (+-3, 0); cos(w7 b) twice the amplitude: 4x the power.
  const auto f = grid([](int a, int b) { return std::cos(w(3) * a) + 2 * std::cos(w(7) * b); });
  const auto pr = features::frequency_profile(f.data(), kP);
  EXPECT_NEAR(pr.fraction[3], 0.2, 1e-9);
  EXPECT_NEAR(pr.fraction[7], 0.8, 1e-9);
  EXPECT_EQ(pr.dominant, 7);
  // A product of two different frequencies belongs to neither.
  const auto mixed = grid([](int a, int b) { return std::cos(w(2) * a) * std::cos(w(4) * b); });
  const auto pm = features::frequency_profile(mixed.data(), kP);
  for (double x : pm.fraction) EXPECT_NEAR(x, 0.0, 1e-9);
}

TEST(FrequencyProfile, StridedColumnsAndNoiseAndConstants) {
  std::mt19937 rng(1);
  std::normal_distribution<float> g;
  std::vector<float> cols(size_t(kP * kP * 2));
  for (int i = 0; i < kP * kP; ++i) {
    const int a = i / kP, b = i % kP;
    cols[size_t(2 * i)] = g(rng);                                                   // noise: spread out
    cols[size_t(2 * i + 1)] = std::max(0.0, std::cos(w(4) * (a + b))) + 0.05 * g(rng);  // ReLU'd key frequency
  }
  const auto noise = features::frequency_profile(cols.data(), kP, 2);
  EXPECT_LT(noise.dominant_fraction(), 0.2);
  const auto relu = features::frequency_profile(cols.data() + 1, kP, 2);
  EXPECT_EQ(relu.dominant, 4);
  EXPECT_GT(relu.dominant_fraction(), 0.6);
  const std::vector<float> flat(size_t(kP * kP), 2.f);
  EXPECT_EQ(features::frequency_profile(flat.data(), kP).dominant, 0);
  EXPECT_THROW(features::frequency_profile(flat.data(), 2), Error);
}

TEST(ModaddGrid, MlpNeuronsOfTheOrganismUseFewFrequencies) {
  Model m = Model::load(zoo::models_dir() + "/modadd");
  Engine e{m};
  const int p = 113;
  const auto g = features::modadd_grid(e, "blocks.0.mlp.hook_post", p);
  const int64_t d = m.config().d_mlp;
  ASSERT_EQ(int64_t(g.size()), int64_t(p) * p * d);
  // Row a*p+b is the pass on " a b =": check one entry against a direct run.
  ForwardOptions o;
  o.keep = {parse_hook_name("blocks.0.mlp.hook_post", m.config())};
  const auto r = e.forward(Batch::single({7, 30, p}), nullptr, nullptr, o);
  const float* direct = r.kept[0].second.f32() + 2 * d;
  for (int64_t j = 0; j < d; ++j) EXPECT_NEAR(g[size_t((7 * p + 30) * d + j)], direct[j], 1e-5);
  // The ground truth the organism's manifest states: neurons are single-frequency.
  int single = 0, alive = 0;
  for (int64_t j = 0; j < d; ++j) {
    const auto pr = features::frequency_profile(g.data() + j, p, d);
    if (pr.dominant == 0) continue;
    ++alive;
    single += pr.dominant_fraction() > 0.5;
  }
  EXPECT_GT(alive, d / 2);
  EXPECT_GT(double(single) / alive, 0.8) << single << " of " << alive << " live neurons";
}

}  // namespace
