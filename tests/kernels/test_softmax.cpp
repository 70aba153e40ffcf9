#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

std::vector<double> naive_softmax(const std::vector<float>& x, int64_t rows, int64_t cols) {
  std::vector<double> out(x.size(), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY;
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, double(x[r * cols + c]));
    if (m == -INFINITY) continue;
    double s = 0.0;
    for (int64_t c = 0; c < cols; ++c) s += std::exp(x[r * cols + c] - m);
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = std::exp(x[r * cols + c] - m) / s;
  }
  return out;
}

TEST(Softmax, MatchesNaive) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{1, 1}, {5, 13}, {300, 257}}) {
    const auto x = randn(size_t(rows * cols), 41, 4.0f);
    std::vector<float> y(x.size());
    softmax_forward(y.data(), x.data(), rows, cols);
    EXPECT_LT(max_abs_diff(y, naive_softmax(x, rows, cols)), 1e-6) << rows << "x" << cols;
  }
}

// log(sum exp) in long double, unshifted: the definition, for logits small enough not to overflow it.
long double naive_logsumexp(const std::vector<float>& z) {
  long double s = 0;
  for (float v : z) s += std::exp((long double)v);
  return std::log(s);
}

TEST(LogSoftmaxF64, MatchesTheDefinitionAndShiftsLargeLogits) {
  for (int64_t V : {1, 7, 50257}) {
    const auto z = randn(size_t(V), 43, 6.0f);
    const long double want = naive_logsumexp(z);
    EXPECT_NEAR(double(logsumexp_f64(z.data(), V)), double(want), 1e-12) << V;
    std::vector<double> out(static_cast<size_t>(V));
    log_softmax_f64(out.data(), z.data(), V);
    for (int64_t j = 0; j < V; ++j) ASSERT_NEAR(out[size_t(j)], double(z[size_t(j)] - want), 1e-12) << V << " " << j;
  }
  // exp(1000) overflows a double: the max shift keeps the result finite and exact.
  const std::vector<float> big = {1000.f, 1000.f};
  EXPECT_NEAR(logsumexp_f64(big.data(), 2), 1000.0 + std::log(2.0), 1e-12);
}

TEST(Softmax, FullyMaskedRowIsZero) {
  std::vector<float> x = {-INFINITY, -INFINITY, -INFINITY, 1.0f, 2.0f, 3.0f}, y(6, 7.0f);
  softmax_forward(y.data(), x.data(), 2, 3);
  for (int c = 0; c < 3; ++c) EXPECT_EQ(y[c], 0.0f);
  EXPECT_NEAR(y[3] + y[4] + y[5], 1.0f, 1e-6f);
}

TEST(Softmax, MaskedEntriesAreExactlyZero) {
  std::vector<float> x = {0.5f, -INFINITY, 2.0f, -INFINITY}, y(4);
  softmax_forward(y.data(), x.data(), 1, 4);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[3], 0.0f);
  EXPECT_NEAR(y[0] + y[2], 1.0f, 1e-6f);
}

TEST(Softmax, HugeLogitsDoNotOverflow) {
  std::vector<float> x = {1e30f, 1e30f, -1e30f, 3e38f, 0.0f, 3e38f}, y(6);
  softmax_forward(y.data(), x.data(), 2, 3);
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], 0.0f);
  EXPECT_FLOAT_EQ(y[3], 0.5f);
  EXPECT_FLOAT_EQ(y[5], 0.5f);
}

TEST(Softmax, InPlaceMatchesOutOfPlace) {
  auto x = randn(4 * 9, 42);
  std::vector<float> y(x.size());
  softmax_forward(y.data(), x.data(), 4, 9);
  softmax_forward(x.data(), x.data(), 4, 9);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace glassbox::kernels
