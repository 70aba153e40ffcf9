// The superposition organism as a feature source: its stream, its readout, its
// records, and the recovery test a sparse dictionary must pass.
#include "glassbox/features/superposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/zoo.h"

namespace glassbox::features {
namespace {

// A small hand-made model: 3 features in 2 dims (a Mercedes-Benz star), no corpora needed.
zoo::SuperpositionModel star() {
  zoo::SuperpositionModel m;
  m.n_features = 3, m.d_hidden = 2, m.probability = 0.3;
  const double pi = std::acos(-1.0);
  m.W.resize(6);
  for (int i = 0; i < 3; ++i) {
    m.W[size_t(i)] = float(std::cos(2 * pi * i / 3));
    m.W[size_t(3 + i)] = float(std::sin(2 * pi * i / 3));
  }
  m.b = {-0.1f, -0.1f, -0.1f};
  m.importance = {1, 1, 1};
  m.names = {"apple", "river", "stone"};
  return m;
}

std::vector<float> gaussian_rows(int64_t rows, int64_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(size_t(rows * dim));
  for (float& x : v) x = d(rng);
  return v;
}

TEST(SuperpositionStream, YieldsHiddenVectorsOfItsSamplesAndRewinds) {
  SuperpositionStream s(star(), 5, 250);
  EXPECT_EQ(s.site_names(), std::vector<std::string>{"hook_hidden"});
  EXPECT_EQ(s.dims(), std::vector<int64_t>{2});
  ActivationBatch b;
  ASSERT_EQ(s.next(b, 100), 100);
  const std::vector<float> x = s.last_features();
  const std::vector<float> first = b.sites[0];
  for (int64_t r = 0; r < 100; ++r)
    for (int k = 0; k < 2; ++k) {
      double h = 0;
      for (int i = 0; i < 3; ++i) h += double(star().W[size_t(k * 3 + i)]) * x[size_t(r * 3 + i)];
      ASSERT_NEAR(b.sites[0][size_t(r * 2 + k)], h, 1e-6);
    }
  EXPECT_EQ(s.next(b, 100), 100);
  EXPECT_EQ(s.next(b, 100), 50);
  EXPECT_EQ(s.next(b, 100), 0);
  s.rewind();
  ASSERT_EQ(s.next(b, 100), 100);
  EXPECT_EQ(b.sites[0], first);
  EXPECT_THROW(s.next(b, 0), Error);
}

TEST(SuperpositionReadout, IsTheModelsReconstruction) {
  const zoo::SuperpositionModel m = star();
  SuperpositionReadout r(m);
  SuperpositionStream s(m, 1, 50);
  ActivationBatch b;
  s.next(b, 50);
  std::vector<float> f(150), h(100), out(150);
  r.encode(b.sites[0].data(), 50, f.data());
  zoo::superposition_forward(h.data(), out.data(), s.last_features().data(), m.W.data(), m.b.data(), 50, 3, 2);
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], out[i], 1e-6);
  EXPECT_EQ(r.output_direction(1), (std::vector<float>{m.W[1], m.W[4]}));
  EXPECT_THROW(r.output_direction(3), Error);
}

TEST(RecoveredFraction, IsOneForTheTruthAndNearZeroForRandomDirections) {
  const int64_t n = 64, m = 16;
  const std::vector<float> truth = gaussian_rows(n, m, 1);
  EXPECT_DOUBLE_EQ(recovered_fraction(truth, truth, m), 1.0);
  EXPECT_LE(recovered_fraction(truth, gaussian_rows(256, m, 2), m), 0.05);
  // Scaled, reordered and slightly noisy candidates still match; heavy noise does not.
  std::vector<float> close(truth.size()), far(truth.size());
  const std::vector<float> noise = gaussian_rows(n, m, 3);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < m; ++k) {
      const size_t src = size_t(((i * 7) % n) * m + k), dst = size_t(i * m + k);
      close[dst] = 3.f * truth[src] + 0.1f * noise[src];
      far[dst] = truth[src] + 1.5f * noise[src];
    }
  EXPECT_DOUBLE_EQ(recovered_fraction(truth, close, m), 1.0);
  EXPECT_LT(recovered_fraction(truth, far, m), 0.2);
  // Every direction rotated by 30 degrees (in the 8 planes (0,1), (2,3), ...): cosine 0.866 each.
  std::vector<float> rotated = truth;
  const double c30 = std::cos(std::acos(-1.0) / 6), s30 = std::sin(std::acos(-1.0) / 6);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < m; k += 2) {
      const float x = truth[size_t(i * m + k)], y = truth[size_t(i * m + k + 1)];
      rotated[size_t(i * m + k)] = float(c30 * x - s30 * y);
      rotated[size_t(i * m + k + 1)] = float(s30 * x + c30 * y);
    }
  for (double c : best_cosines(truth, rotated, m)) EXPECT_NEAR(c, c30, 0.03);
  // best_matches names the candidate: each true direction's own rotated copy.
  const auto matches = best_matches(truth, rotated, m);
  for (size_t t = 0; t < matches.size(); ++t) EXPECT_EQ(matches[t].index, int64_t(t));
  EXPECT_LT(recovered_fraction(truth, rotated, m), 0.1);
  EXPECT_DOUBLE_EQ(recovered_fraction(truth, rotated, m, 0.85), 1.0);
  EXPECT_THROW(recovered_fraction(truth, std::vector<float>(15), m), Error);
  EXPECT_THROW(recovered_fraction({}, truth, m), Error);
}

TEST(SuperpositionRecord, NamesActiveFeaturesByMagnitudeWithEachOnesActivation) {
  const zoo::SuperpositionModel m = star();
  SuperpositionReadout r(m);
  const float x[3] = {0.3f, 0.f, 0.9f};
  const ActivationRecord rec = superposition_record(m, r, x, 2);
  ASSERT_EQ(rec.tokens, (std::vector<std::string>{"stone", "apple"}));
  // Latent 2 alone: ReLU(0.9 |W_2|^2 - 0.1) = 0.8; apple alone: ReLU(0.3 cos(120 deg) - 0.1) = 0.
  EXPECT_NEAR(rec.acts[0], 0.8f, 1e-5);
  EXPECT_NEAR(rec.acts[1], 0.f, 1e-6);
  const float none[3] = {0, 0, 0};
  EXPECT_TRUE(superposition_record(m, r, none, 0).tokens.empty());
  EXPECT_THROW(superposition_record(m, r, x, 3), Error);
}

TEST(SuperpositionExamples, TopRecordsHoldTheirFeature) {
  const zoo::SuperpositionModel m = star();
  SuperpositionReadout r(m);
  SuperpositionExamplesOptions o;
  o.samples = 3000;
  const std::vector<FeatureExamples> ex = superposition_examples(m, r, o);
  ASSERT_EQ(ex.size(), 3u);
  for (int j = 0; j < 3; ++j) {
    ASSERT_EQ(ex[size_t(j)].top.size(), 20u);
    EXPECT_EQ(ex[size_t(j)].quantiles.size(), 10u);
    EXPECT_EQ(ex[size_t(j)].random.size(), 40u);
    // Active when its feature is, above the bias, and not cancelled by a neighbour: 0.3 * 0.9 at most.
    EXPECT_GT(ex[size_t(j)].density, 0.15);
    EXPECT_LE(ex[size_t(j)].density, 0.3);
    for (const ActivationRecord& rec : ex[size_t(j)].top)
      EXPECT_NE(std::find(rec.tokens.begin(), rec.tokens.end(), m.names[size_t(j)]), rec.tokens.end());
    EXPECT_GE(ex[size_t(j)].top.front().max_act(), ex[size_t(j)].top.back().max_act());
  }
}

}  // namespace
}  // namespace glassbox::features
