// ROME's closed form against an independent recomputation, and the
// properties that define it.
#include <cmath>
#include <random>

#include "glassbox/editing/edit.h"
#include "glassbox/error.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::editing;

namespace {

// C^-1 by Gauss-Jordan elimination with partial pivoting (not the Cholesky solve ROME uses).
std::vector<double> inverse(std::vector<double> A, int n) {
  std::vector<double> I(size_t(n * n), 0.0);
  for (int i = 0; i < n; ++i) I[size_t(i * n + i)] = 1;
  for (int c = 0; c < n; ++c) {
    int p = c;
    for (int r = c + 1; r < n; ++r)
      if (std::abs(A[size_t(r * n + c)]) > std::abs(A[size_t(p * n + c)])) p = r;
    for (int j = 0; j < n; ++j) std::swap(A[size_t(c * n + j)], A[size_t(p * n + j)]), std::swap(I[size_t(c * n + j)], I[size_t(p * n + j)]);
    const double d = A[size_t(c * n + c)];
    for (int j = 0; j < n; ++j) A[size_t(c * n + j)] /= d, I[size_t(c * n + j)] /= d;
    for (int r = 0; r < n; ++r)
      if (r != c) {
        const double f = A[size_t(r * n + c)];
        for (int j = 0; j < n; ++j) A[size_t(r * n + j)] -= f * A[size_t(c * n + j)], I[size_t(r * n + j)] -= f * I[size_t(c * n + j)];
      }
  }
  return I;
}

}  // namespace

TEST(Rome, ClosedFormMatchesIndependentInverse) {
  const int d = 7, dm = 5;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g;
  // C = X^T X / n over 40 random keys: symmetric positive definite.
  std::vector<double> X(size_t(40 * d)), C(size_t(d * d), 0.0);
  for (double& x : X) x = g(rng);
  for (int i = 0; i < 40; ++i)
    for (int a = 0; a < d; ++a)
      for (int b = 0; b < d; ++b) C[size_t(a * d + b)] += X[size_t(i * d + a)] * X[size_t(i * d + b)] / 40;
  std::vector<float> k(static_cast<size_t>(d)), res(static_cast<size_t>(dm));
  for (float& x : k) x = float(g(rng));
  for (float& x : res) x = float(g(rng));
  const WeightDelta wd = rome_delta(2, C, k, k, res, dm);
  ASSERT_EQ(wd.rank, 1);
  ASSERT_EQ(wd.layer, 2);

  const std::vector<double> Ci = inverse(C, d);
  std::vector<double> u(static_cast<size_t>(d), 0.0);
  for (int a = 0; a < d; ++a)
    for (int b = 0; b < d; ++b) u[size_t(a)] += Ci[size_t(a * d + b)] * k[size_t(b)];
  double ku = 0;
  for (int a = 0; a < d; ++a) ku += k[size_t(a)] * u[size_t(a)];
  for (int a = 0; a < d; ++a) EXPECT_NEAR(wd.left[size_t(a)], u[size_t(a)] / ku, 1e-5 * (1 + std::abs(u[size_t(a)] / ku)));
  for (int j = 0; j < dm; ++j) EXPECT_FLOAT_EQ(wd.right[size_t(j)], res[size_t(j)]);

  // What defines the solution: k* now maps to its old value plus the
  // residual, and every key C^-1-orthogonal to k* maps as before.
  double kl = 0;
  for (int a = 0; a < d; ++a) kl += double(k[size_t(a)]) * wd.left[size_t(a)];
  EXPECT_NEAR(kl, 1.0, 1e-5);
  std::vector<double> x(static_cast<size_t>(d));
  for (double& v : x) v = g(rng);
  double xu = 0;
  for (int a = 0; a < d; ++a) xu += x[size_t(a)] * u[size_t(a)];
  for (int a = 0; a < d; ++a) x[size_t(a)] -= xu / ku * k[size_t(a)];  // now x^T C^-1 k* = 0
  double xl = 0;
  for (int a = 0; a < d; ++a) xl += x[size_t(a)] * wd.left[size_t(a)];
  EXPECT_NEAR(xl, 0.0, 1e-5);
}

TEST(Rome, RejectsMisshapenInputs) {
  std::vector<double> C{1, 0, 0, 1};
  EXPECT_THROW(rome_delta(0, C, {1.f, 0.f, 0.f}, {1.f, 0.f, 0.f}, {1.f}, 1), Error);
  EXPECT_THROW(rome_delta(0, C, {1.f, 0.f}, {1.f, 0.f}, {1.f, 2.f}, 1), Error);
  EXPECT_THROW(rome_delta(0, C, {0.f, 0.f}, {0.f, 0.f}, {1.f}, 1), Error);
}

TEST(Rome, PromptTemplateNamesAMissingSubject) {
  EXPECT_EQ(prompt_template("Mina Selia lives in", "Mina Selia"), "{} lives in");
  try {
    prompt_template("Mina Selia lives in", "Kai Doran");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'Kai Doran' not found in the prompt"), std::string::npos) << e.what();
  }
}
