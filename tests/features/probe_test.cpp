// Probe fitting against independent references: the logistic optimum's
// stationarity by finite differences of an objective written out here, ridge
// against its dual (kernel) form solved by Gaussian elimination, mass-mean
// against class means taken here (AUROC's brute-force check is in stats_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "glassbox/error.h"
#include "glassbox/features/probe.h"
#include "glassbox/features/probe_metrics.h"

using namespace glassbox;
using namespace glassbox::features;

namespace {

struct Data {
  int64_t n = 0, d = 0;
  std::vector<float> x;
  std::vector<int32_t> y;
};

// Gaussian rows, labels from a random linear rule with `noise` flipped, features on different scales.
Data make_data(int64_t n, int64_t d, int classes, double noise, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g;
  std::uniform_real_distribution<double> u;
  Data D{n, d, {}, {}};
  std::vector<double> w(size_t(d * classes));
  for (double& v : w) v = g(rng);
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> row(static_cast<size_t>(d));
    for (int64_t j = 0; j < d; ++j) row[size_t(j)] = g(rng) * (1 + 3.0 * double(j)) + 0.5 * double(j);
    int best = 0;
    double best_s = -1e300;
    for (int k = 0; k < classes; ++k) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += w[size_t(j * classes + k)] * row[size_t(j)] / (1 + 3.0 * double(j));
      if (s > best_s) best_s = s, best = k;
    }
    if (u(rng) < noise) best = int(rng() % uint64_t(classes));
    for (double v : row) D.x.push_back(float(v));
    D.y.push_back(best);
  }
  return D;
}

// The objective fit_logistic minimises, written out independently: the mean
// cross-entropy of softmax (or sigmoid) scores on standardised inputs plus
// l2/2 |W|^2. theta = [W (d x K) row-major, b (K)].
double logistic_objective(const Data& D, const LinearProbe& p, const std::vector<double>& theta, double l2) {
  const int64_t K = p.n_outputs, d = D.d;
  double loss = 0;
  for (int64_t i = 0; i < D.n; ++i) {
    std::vector<double> s(static_cast<size_t>(K));
    for (int64_t k = 0; k < K; ++k) {
      s[size_t(k)] = theta[size_t(d * K + k)];
      for (int64_t j = 0; j < d; ++j)
        s[size_t(k)] += theta[size_t(j * K + k)] * (D.x[size_t(i * d + j)] - p.mean[size_t(j)]) * p.inv_scale[size_t(j)];
    }
    if (K == 1) {
      const double prob1 = 1 / (1 + std::exp(-s[0]));
      loss -= std::log(D.y[size_t(i)] == 1 ? prob1 : 1 - prob1);
    } else {
      double z = 0;
      for (double v : s) z += std::exp(v);
      loss -= s[size_t(D.y[size_t(i)])] - std::log(z);
    }
  }
  double reg = 0;
  for (int64_t q = 0; q < d * K; ++q) reg += theta[size_t(q)] * theta[size_t(q)];
  return loss / double(D.n) + 0.5 * l2 * reg;
}

std::vector<double> theta_of(const LinearProbe& p) {
  std::vector<double> t = p.W;
  t.insert(t.end(), p.b.begin(), p.b.end());
  return t;
}

// Central differences of the objective at the fitted optimum: all ~0, and
// every step along a coordinate raises the objective (a minimum, not a saddle).
void expect_stationary(const Data& D, const LinearProbe& p, double l2) {
  const std::vector<double> theta = theta_of(p);
  const double f0 = logistic_objective(D, p, theta, l2);
  const double h = 1e-5;
  for (size_t q = 0; q < theta.size(); ++q) {
    std::vector<double> a = theta, b = theta;
    a[q] += h;
    b[q] -= h;
    const double fa = logistic_objective(D, p, a, l2), fb = logistic_objective(D, p, b, l2);
    EXPECT_NEAR((fa - fb) / (2 * h), 0.0, 1e-7) << "parameter " << q;
    std::vector<double> far = theta;
    far[q] += 1e-2;
    EXPECT_GT(logistic_objective(D, p, far, l2), f0) << "parameter " << q;
  }
}

// fit_logistic with penalty l2, checked to have converged to a stationary point.
LinearProbe fit_stationary(const Data& D, int n_classes, double l2) {
  ProbeOptions o;
  o.l2 = l2;
  const LinearProbe p = fit_logistic(D.x.data(), D.y.data(), D.n, D.d, n_classes, o);
  EXPECT_TRUE(p.converged);
  expect_stationary(D, p, l2);
  return p;
}

TEST(Probe, LogisticBinaryIsStationary) {
  EXPECT_EQ(fit_stationary(make_data(300, 6, 2, 0.15, 1), 2, 0.05).n_outputs, 1);
}

TEST(Probe, LogisticSeparableDataConvergesWithPenalty) {
  const Data D = make_data(200, 4, 2, 0.0, 2);  // linearly separable: without l2 the optimum is at infinity
  const std::vector<int32_t> pred = fit_stationary(D, 2, 1e-3).predict(D.x.data(), D.n);
  EXPECT_GE(accuracy(pred.data(), D.y.data(), D.n), 0.99);
}

TEST(Probe, LogisticSoftmaxIsStationary) {
  EXPECT_EQ(fit_stationary(make_data(240, 5, 3, 0.1, 3), 3, 0.02).n_outputs, 3);
}

TEST(Probe, LogisticIsDeterministic) {
  const Data D = make_data(100, 3, 2, 0.2, 4);
  const LinearProbe a = fit_logistic(D.x.data(), D.y.data(), D.n, D.d, 2);
  const LinearProbe b = fit_logistic(D.x.data(), D.y.data(), D.n, D.d, 2);
  EXPECT_EQ(a.W, b.W);
  EXPECT_EQ(a.b, b.b);
}

// Solves A x = b by Gaussian elimination with partial pivoting (not Cholesky, as the library does).
std::vector<double> gauss_solve(std::vector<double> A, std::vector<double> b, int64_t m) {
  for (int64_t c = 0; c < m; ++c) {
    int64_t piv = c;
    for (int64_t r = c + 1; r < m; ++r)
      if (std::abs(A[size_t(r * m + c)]) > std::abs(A[size_t(piv * m + c)])) piv = r;
    for (int64_t k = 0; k < m; ++k) std::swap(A[size_t(c * m + k)], A[size_t(piv * m + k)]);
    std::swap(b[size_t(c)], b[size_t(piv)]);
    for (int64_t r = c + 1; r < m; ++r) {
      const double f = A[size_t(r * m + c)] / A[size_t(c * m + c)];
      for (int64_t k = c; k < m; ++k) A[size_t(r * m + k)] -= f * A[size_t(c * m + k)];
      b[size_t(r)] -= f * b[size_t(c)];
    }
  }
  std::vector<double> x(static_cast<size_t>(m));
  for (int64_t r = m - 1; r >= 0; --r) {
    double s = b[size_t(r)];
    for (int64_t k = r + 1; k < m; ++k) s -= A[size_t(r * m + k)] * x[size_t(k)];
    x[size_t(r)] = s / A[size_t(r * m + r)];
  }
  return x;
}

TEST(Probe, RidgeMatchesTheDualForm) {
  // Primal (X^T X / n + l2 I) w = X^T y / n equals the dual w = X^T (X X^T + n l2 I)^-1 y
  // on centred, standardised X (the bias is then the targets' mean).
  const int64_t n = 40, d = 7;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> g;
  std::vector<float> x(size_t(n * d));
  std::vector<double> y(static_cast<size_t>(n));
  for (float& v : x) v = float(3 * g(rng) + 1);
  for (double& v : y) v = g(rng);
  ProbeOptions o;
  o.l2 = 0.3;
  const LinearProbe p = fit_ridge_regression(x.data(), y.data(), n, d, o);
  // Standardise here, independently of the library.
  std::vector<double> Z(size_t(n * d));
  for (int64_t j = 0; j < d; ++j) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) m += x[size_t(i * d + j)];
    m /= double(n);
    for (int64_t i = 0; i < n; ++i) v += (x[size_t(i * d + j)] - m) * (x[size_t(i * d + j)] - m);
    const double sd = std::sqrt(v / double(n));
    for (int64_t i = 0; i < n; ++i) Z[size_t(i * d + j)] = (x[size_t(i * d + j)] - m) / sd;
  }
  double ymean = 0;
  for (double v : y) ymean += v;
  ymean /= double(n);
  std::vector<double> K(static_cast<size_t>(n * n)), yc(static_cast<size_t>(n));
  for (int64_t a = 0; a < n; ++a) {
    yc[size_t(a)] = y[size_t(a)] - ymean;
    for (int64_t b = 0; b < n; ++b) {
      double s = a == b ? double(n) * o.l2 : 0.0;
      for (int64_t j = 0; j < d; ++j) s += Z[size_t(a * d + j)] * Z[size_t(b * d + j)];
      K[size_t(a * n + b)] = s;
    }
  }
  const std::vector<double> alpha = gauss_solve(K, yc, n);
  for (int64_t j = 0; j < d; ++j) {
    double w = 0;
    for (int64_t i = 0; i < n; ++i) w += Z[size_t(i * d + j)] * alpha[size_t(i)];
    EXPECT_NEAR(p.W[size_t(j)], w, 1e-9) << "weight " << j;
  }
  EXPECT_NEAR(p.b[0], ymean, 1e-9);
}

TEST(Probe, RidgeRecoversAnExactLinearMap) {
  const int64_t n = 50, d = 3;
  std::mt19937_64 rng(6);
  std::normal_distribution<double> g;
  std::vector<float> x(size_t(n * d));
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) x[size_t(i * d + j)] = float(g(rng));
    y[size_t(i)] = 2.0 * x[size_t(i * d)] - 1.5 * x[size_t(i * d + 2)] + 0.25;
  }
  ProbeOptions o;
  o.l2 = 0;
  const LinearProbe p = fit_ridge_regression(x.data(), y.data(), n, d, o);
  const std::vector<double> w = p.direction();
  EXPECT_NEAR(w[0], 2.0, 1e-9);
  EXPECT_NEAR(w[1], 0.0, 1e-9);
  EXPECT_NEAR(w[2], -1.5, 1e-9);
  const std::vector<double> pred = p.scores(x.data(), n);
  EXPECT_NEAR(r_squared(pred.data(), y.data(), n), 1.0, 1e-12);
}

TEST(Probe, RidgeClassifierSeparates) {
  const Data D = make_data(300, 5, 3, 0.0, 7);
  const LinearProbe p = fit_ridge_classifier(D.x.data(), D.y.data(), D.n, D.d, 3, {});
  EXPECT_EQ(p.n_outputs, 3);
  const std::vector<int32_t> pred = p.predict(D.x.data(), D.n);
  EXPECT_GE(accuracy(pred.data(), D.y.data(), D.n), 0.85);
}

TEST(Probe, MassMeanIsTheDifferenceOfMeans) {
  const Data D = make_data(120, 4, 2, 0.1, 8);
  ProbeOptions o;
  o.kind = ProbeKind::MassMean;
  const LinearProbe p = fit_probe(D.x.data(), D.y.data(), D.n, D.d, 2, o);
  std::vector<double> mu[2] = {std::vector<double>(4, 0.0), std::vector<double>(4, 0.0)};
  int cnt[2] = {0, 0};
  for (int64_t i = 0; i < D.n; ++i) {
    ++cnt[D.y[size_t(i)]];
    for (int j = 0; j < 4; ++j) mu[D.y[size_t(i)]][size_t(j)] += D.x[size_t(i * 4 + j)];
  }
  const std::vector<double> dir = p.direction();
  for (int j = 0; j < 4; ++j) {
    const double m0 = mu[0][size_t(j)] / cnt[0], m1 = mu[1][size_t(j)] / cnt[1];
    EXPECT_NEAR(dir[size_t(j)], m1 - m0, 1e-9);
  }
  // The boundary runs through the midpoint of the two means.
  std::vector<float> mid(4);
  for (int j = 0; j < 4; ++j) mid[size_t(j)] = float(0.5 * (mu[0][size_t(j)] / cnt[0] + mu[1][size_t(j)] / cnt[1]));
  EXPECT_NEAR(p.scores(mid.data(), 1)[0], 0.0, 1e-5);
}

TEST(Probe, CovarianceCorrectedMassMeanSolvesSigma) {
  const Data D = make_data(200, 3, 2, 0.1, 9);
  ProbeOptions o;
  o.kind = ProbeKind::MassMean;
  o.covariance_corrected = true;
  o.shrinkage = 0;
  const LinearProbe p = fit_mass_mean(D.x.data(), D.y.data(), D.n, D.d, 2, o);
  // Sigma (pooled within-class covariance) times the direction equals mu1 - mu0.
  double mu[2][3] = {}, S[3][3] = {};
  int cnt[2] = {0, 0};
  for (int64_t i = 0; i < D.n; ++i) {
    ++cnt[D.y[size_t(i)]];
    for (int j = 0; j < 3; ++j) mu[D.y[size_t(i)]][j] += D.x[size_t(i * 3 + j)];
  }
  for (auto& row : mu)
    for (int j = 0; j < 3; ++j) row[j] /= cnt[&row - mu];
  for (int64_t i = 0; i < D.n; ++i)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        S[a][b] += (D.x[size_t(i * 3 + a)] - mu[D.y[size_t(i)]][a]) * (D.x[size_t(i * 3 + b)] - mu[D.y[size_t(i)]][b]) /
                   double(D.n);
  const std::vector<double> dir = p.direction();
  for (int a = 0; a < 3; ++a) {
    double s = 0;
    for (int b = 0; b < 3; ++b) s += S[a][b] * dir[size_t(b)];
    EXPECT_NEAR(s, mu[1][a] - mu[0][a], 1e-6);
  }
}

TEST(Probe, RejectsBadLabels) {
  const std::vector<float> x = {0, 1, 2, 3};
  const std::vector<int32_t> bad = {0, 1, 2, 0}, one = {0, 0, 0, 0};
  EXPECT_THROW(fit_logistic(x.data(), bad.data(), 4, 1, 2), Error);
  EXPECT_THROW(fit_logistic(x.data(), one.data(), 4, 1, 2), Error);  // class 1 has no rows
  EXPECT_THROW(fit_logistic(x.data(), one.data(), 4, 1, 1), Error);
  EXPECT_THROW(fit_ridge_classifier(x.data(), bad.data(), 0, 1, 2), Error);
  EXPECT_THROW(from_string<ProbeKind>("svm"), Error);
  EXPECT_EQ(from_string<ProbeKind>("mass-mean"), ProbeKind::MassMean);
}

TEST(ProbeMetrics, MultiClassAurocIsTheOneVsRestMean) {
  // 3 rows, 3 classes, scores that rank each class's row first: AUROC 1.
  const std::vector<double> s = {5, 0, 0, 0, 5, 0, 0, 0, 5};
  const std::vector<int32_t> y = {0, 1, 2};
  EXPECT_DOUBLE_EQ(probe_auroc(s.data(), 3, y.data(), 3, 3), 1.0);
}

TEST(ProbeMetrics, StratifiedSplitIsSeededAndDisjoint) {
  std::vector<int32_t> y;
  for (int i = 0; i < 103; ++i) y.push_back(i % 3 == 0 ? 1 : 0);
  const Split a = stratified_split(y.data(), 103, 0.25, 1), b = stratified_split(y.data(), 103, 0.25, 1);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.test, b.test);
  std::vector<int> seen(103, 0);
  int test_pos = 0;
  for (int64_t i : a.train) ++seen[size_t(i)];
  for (int64_t i : a.test) ++seen[size_t(i)], test_pos += y[size_t(i)];
  for (int v : seen) EXPECT_EQ(v, 1);
  EXPECT_EQ(test_pos, 9);  // round(0.25 x 35)
  EXPECT_EQ(a.test.size(), 9u + 17u);  // + round(0.25 x 68)
  EXPECT_NE(stratified_split(y.data(), 103, 0.25, 2).test, a.test);
  EXPECT_THROW(stratified_split(y.data(), 103, 1.0, 1), Error);
}

TEST(ProbeMetrics, ControlTaskGivesEachTypeOneLabel) {
  std::vector<std::string> keys;
  std::vector<int32_t> y;
  for (int i = 0; i < 400; ++i) keys.push_back(std::to_string(i % 50)), y.push_back(i % 4 == 0 ? 1 : 0);
  const std::vector<int32_t> c = control_labels(keys, y.data(), 400, 3);
  for (int i = 50; i < 400; ++i) EXPECT_EQ(c[size_t(i)], c[size_t(i % 50)]);
  EXPECT_EQ(c, control_labels(keys, y.data(), 400, 3));
  int ones = 0;
  for (int i = 0; i < 50; ++i) ones += c[size_t(i)];
  EXPECT_GT(ones, 2);   // drawn from the empirical distribution (1/4 ones): not all one class
  EXPECT_LT(ones, 30);
}

}  // namespace

namespace {
TEST(ProbeMetrics, GroupSplitKeepsGroupsTogether) {
  std::vector<std::string> g;
  for (int i = 0; i < 40; ++i) g.push_back(std::to_string(i / 4));  // 10 groups of 4
  const Split s = group_split(g, 0.25, 3);
  EXPECT_EQ(s.test.size(), 12u);  // round(2.5) = 3 groups
  EXPECT_EQ(s.train.size() + s.test.size(), 40u);
  for (int64_t i : s.test)
    for (int64_t j : s.train) EXPECT_NE(g[size_t(i)], g[size_t(j)]);
  EXPECT_EQ(group_split(g, 0.25, 3).test, s.test);
  EXPECT_THROW(group_split(std::vector<std::string>(5, "one"), 0.25, 3), glassbox::Error);
}
}  // namespace
