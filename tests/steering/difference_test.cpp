// Mean differences and the PCA of paired differences against independent
// references: hand sums, and the scatter matrix's eigen-equation.
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/steering/contrastive.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

double cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) ab += a[i] * b[i], aa += double(a[i]) * a[i], bb += b[i] * b[i];
  return ab / std::sqrt(aa * bb);
}

std::vector<double> unit(std::mt19937_64& rng, int64_t d) {
  std::normal_distribution<double> g;
  std::vector<double> u(static_cast<size_t>(d));
  double s = 0;
  for (double& x : u) x = g(rng), s += x * x;
  for (double& x : u) x /= std::sqrt(s);
  return u;
}

// pos[i] = base[i] + a_i u + noise, neg[i] = base[i]: differences along u.
void planted(int64_t n, int64_t d, const std::vector<double>& u, double noise, double sign, std::vector<float>& pos,
             std::vector<float>& neg, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  pos.resize(size_t(n * d));
  neg.resize(size_t(n * d));
  for (int64_t i = 0; i < n; ++i) {
    const double a = 1.0 + 2.0 * double(i % 7) / 7.0;
    for (int64_t j = 0; j < d; ++j) {
      const double base = 5 * g(rng);
      neg[size_t(i * d + j)] = float(base);
      pos[size_t(i * d + j)] = float(base + sign * a * u[size_t(j)] + noise * g(rng));
    }
  }
}

}  // namespace

TEST(SteeringDifference, MeanDifferenceIsTheMeanOfPairedDifferences) {
  const std::vector<float> pos = {1, 2, 3, 4, 5, 6}, neg = {0, 0, 1, 1, 2, 10};
  const std::vector<float> m = mean_difference(pos.data(), neg.data(), 3, 2);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FLOAT_EQ(m[0], ((1 - 0) + (3 - 1) + (5 - 2)) / 3.f);
  EXPECT_FLOAT_EQ(m[1], ((2 - 0) + (4 - 1) + (6 - 10)) / 3.f);
  EXPECT_THROW(mean_difference(pos.data(), neg.data(), 0, 2), Error);
}

TEST(SteeringDifference, PcaRecoversAPlantedDirectionWithThePositiveSign) {
  std::mt19937_64 rng(1);
  const int64_t n = 40, d = 24;
  const std::vector<double> u = unit(rng, d);
  std::vector<float> pos, neg;
  planted(n, d, u, 0.05, +1, pos, neg, 2);
  const std::vector<float> v = pca_difference(pos.data(), neg.data(), n, d);
  EXPECT_GT(cosine(v, u), 0.995);
  EXPECT_DOUBLE_EQ(pair_separation(pos.data(), neg.data(), n, d, v), 1.0);
  // The pairs the other way round: the component flips with them.
  const std::vector<float> w = pca_difference(neg.data(), pos.data(), n, d);
  EXPECT_LT(cosine(w, u), -0.995);
}

TEST(SteeringDifference, PcaIsTheTopEigenvectorOfTheScatterMatrix) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  const int64_t n = 30, d = 12;
  std::vector<float> pos(size_t(n * d)), neg(size_t(n * d));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      pos[size_t(i * d + j)] = float(g(rng) * (1.0 + double(j % 4)));
      neg[size_t(i * d + j)] = float(g(rng));
    }
  for (bool center : {false, true}) {
    // Independent reference: the scatter matrix C = D^T D, formed explicitly.
    std::vector<double> mean(size_t(d), 0.0), C(size_t(d * d), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) mean[size_t(j)] += (double(pos[size_t(i * d + j)]) - neg[size_t(i * d + j)]) / n;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) {
          const double da = double(pos[size_t(i * d + a)]) - neg[size_t(i * d + a)] - (center ? mean[size_t(a)] : 0);
          const double db = double(pos[size_t(i * d + b)]) - neg[size_t(i * d + b)] - (center ? mean[size_t(b)] : 0);
          C[size_t(a * d + b)] += da * db;
        }
    auto quad = [&](const std::vector<double>& x) {
      double s = 0;
      for (int64_t a = 0; a < d; ++a)
        for (int64_t b = 0; b < d; ++b) s += x[size_t(a)] * C[size_t(a * d + b)] * x[size_t(b)];
      return s;
    };
    const std::vector<float> vf = pca_difference(pos.data(), neg.data(), n, d, center);
    const std::vector<double> v(vf.begin(), vf.end());
    double norm = 0;
    for (double x : v) norm += x * x;
    EXPECT_NEAR(norm, 1.0, 1e-5);
    const double lambda = quad(v);
    for (int64_t a = 0; a < d; ++a) {  // C v = lambda v
      double cv = 0;
      for (int64_t b = 0; b < d; ++b) cv += C[size_t(a * d + b)] * v[size_t(b)];
      EXPECT_NEAR(cv, lambda * v[size_t(a)], 1e-4 * lambda) << "center " << center << " row " << a;
    }
    for (int k = 0; k < 200; ++k) EXPECT_GE(lambda, quad(unit(rng, d)) - 1e-9);
    EXPECT_GE(pair_separation(pos.data(), neg.data(), n, d, vf), 0.5);
  }
}

TEST(SteeringDifference, CentringRemovesAConstantShift) {
  // Every difference = 10 e0 + (+-1) e1: uncentred, the shift e0 dominates;
  // centred, only the spread along e1 is left.
  const int64_t n = 10, d = 3;
  std::vector<float> pos(size_t(n * d), 0.f), neg(size_t(n * d), 0.f);
  for (int64_t i = 0; i < n; ++i) {
    pos[size_t(i * d + 0)] = 10.f;
    pos[size_t(i * d + 1)] = i % 2 ? 1.f : -1.f;
  }
  const auto raw = pca_difference(pos.data(), neg.data(), n, d, false);
  const auto centred = pca_difference(pos.data(), neg.data(), n, d, true);
  EXPECT_GT(std::abs(raw[0]), 0.99f);
  EXPECT_GT(raw[0], 0.f);  // the side every pair falls on
  EXPECT_GT(std::abs(centred[1]), 0.99f);
}

TEST(SteeringDifference, PcaRejectsIdenticalSides) {
  const std::vector<float> x = {1, 2, 3, 4};
  EXPECT_THROW(pca_difference(x.data(), x.data(), 2, 2), Error);
}
