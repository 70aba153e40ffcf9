#include <glassbox/error.h>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

// A [K, M] weight in a buffer laid out for the requested strides.
struct Weight {
  std::vector<float> buf;
  int64_t K, M, rs, cs;
  float at(int64_t i, int64_t j) const { return buf[i * rs + j * cs]; }
  MatRef ref() const { return {buf.data(), K, M, rs, cs}; }
};

// transposed == false: row-major [K, M] with row stride M + pad (cs == 1);
// transposed == true: nn.Linear-style [M, K] storage read as W^T (rs == 1).
Weight make_weight(int64_t K, int64_t M, bool transposed, int64_t pad, uint32_t seed) {
  Weight w{{}, K, M, transposed ? 1 : M + pad, transposed ? K + pad : 1};
  const int64_t size = transposed ? M * (K + pad) : K * (M + pad);
  w.buf = randn(size_t(size), seed);
  return w;
}

std::vector<double> naive(const std::vector<float>& inp, int64_t ldi, const Weight& W,
                          const float* bias, int64_t bstride, int64_t N) {
  std::vector<double> out(size_t(N * W.M));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < W.M; ++m) {
      double s = bias ? bias[m * bstride] : 0.0;
      for (int64_t k = 0; k < W.K; ++k) s += double(inp[n * ldi + k]) * W.at(k, m);
      out[n * W.M + m] = s;
    }
  return out;
}

// Runs matmul_forward into an [N, ldo] buffer and checks the [N, M] part
// against the naive product and the padding columns for being untouched.
void check_forward(int64_t N, int64_t K, int64_t M, bool transposed, int64_t pad, bool with_bias,
                   int64_t bstride) {
  const Weight W = make_weight(K, M, transposed, pad, 1);
  const int64_t ldi = K + pad, ldo = M + pad;
  const auto inp = randn(size_t(N * ldi), 2);
  const auto bias = randn(size_t(std::max<int64_t>(M * bstride, 1)), 3);
  std::vector<float> out(size_t(N * ldo), 7.0f);
  matmul_forward(out.data(), ldo, inp.data(), ldi, W.ref(), with_bias ? bias.data() : nullptr,
                 bstride, N);
  const auto ref = naive(inp, ldi, W, with_bias ? bias.data() : nullptr, bstride, N);
  double err = 0.0;
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t m = 0; m < M; ++m)
      err = std::max(err, std::fabs(out[n * ldo + m] - ref[n * M + m]));
    for (int64_t m = M; m < ldo; ++m) ASSERT_EQ(out[n * ldo + m], 7.0f) << "padding written";
  }
  EXPECT_LT(err, 1e-4 * std::sqrt(double(K) + 1)) << "N=" << N << " K=" << K << " M=" << M;
}

TEST(Matmul, RowMajorWeightMatchesNaive) { check_forward(17, 33, 29, false, 0, true, 1); }
TEST(Matmul, TransposedWeightMatchesNaive) { check_forward(17, 33, 29, true, 0, true, 1); }
TEST(Matmul, PaddedStridesMatchNaive) {
  check_forward(9, 20, 31, false, 5, true, 1);
  check_forward(9, 20, 31, true, 5, true, 1);
}
TEST(Matmul, StridedBiasMatchesNaive) { check_forward(4, 8, 6, true, 3, true, 3); }
TEST(Matmul, NoBiasMatchesNaive) { check_forward(5, 8, 6, false, 0, false, 1); }
TEST(Matmul, SingleRowAndOddSizesMatchNaive) {
  check_forward(1, 7, 13, false, 0, true, 1);
  check_forward(1, 7, 13, true, 0, true, 1);
  check_forward(3, 1, 1, false, 0, true, 1);
  check_forward(3, 1, 1, true, 0, true, 1);
}
TEST(Matmul, LargeThreadedMatchesNaive) { check_forward(130, 96, 300, true, 0, true, 1); }

TEST(Matmul, SingleRowIgnoresUnusedLeadingDimension) {
  const Weight W = make_weight(5, 4, false, 0, 1);
  const auto inp = randn(5, 2);
  std::vector<float> out(4);
  matmul_forward(out.data(), 0, inp.data(), 0, W.ref(), nullptr, 1, 1);
  EXPECT_LT(max_abs_diff(out, naive(inp, 5, W, nullptr, 1, 1)), 1e-5);
}

TEST(Matmul, AccumulateAddsToOutput) {
  for (bool with_bias : {false, true}) {
    const Weight W = make_weight(10, 12, true, 2, 1);
    const auto inp = randn(6 * 10, 2), bias = randn(12, 3), prior = randn(6 * 12, 4);
    auto out = prior;
    matmul_forward(out.data(), 12, inp.data(), 10, W.ref(), with_bias ? bias.data() : nullptr, 1,
                   6, /*accumulate=*/true);
    auto ref = naive(inp, 10, W, with_bias ? bias.data() : nullptr, 1, 6);
    for (size_t i = 0; i < ref.size(); ++i) ref[i] += prior[i];
    EXPECT_LT(max_abs_diff(out, ref), 1e-4) << "with_bias=" << with_bias;
  }
}

TEST(Matmul, OverwritesNaNWhenNotAccumulating) {
  const Weight W = make_weight(4, 3, false, 0, 1);
  const auto inp = randn(2 * 4, 2);
  std::vector<float> out(2 * 3, NAN);
  matmul_forward(out.data(), 3, inp.data(), 4, W.ref(), nullptr, 1, 2);
  EXPECT_LT(max_abs_diff(out, naive(inp, 4, W, nullptr, 1, 2)), 1e-5);
}

TEST(Matmul, ColumnSliceOfFusedWeightMatchesNaive) {
  // One head's 8 columns out of a fused [K, 3*24] QKV matrix: a view, no copy.
  const int64_t K = 16, F = 72, N = 5;
  const auto fused = randn(size_t(K * F), 1);
  const auto inp = randn(size_t(N * K), 2);
  MatRef head{fused.data() + 24 + 8, K, 8, F, 1};
  std::vector<float> out(size_t(N * 8));
  matmul_forward(out.data(), 8, inp.data(), K, head, nullptr, 1, N);
  double err = 0.0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < 8; ++j) {
      double s = 0.0;
      for (int64_t k = 0; k < K; ++k) s += double(inp[n * K + k]) * fused[k * F + 32 + j];
      err = std::max(err, std::fabs(s - out[n * 8 + j]));
    }
  EXPECT_LT(err, 1e-4);
}

TEST(Matmul, ZeroInnerDimensionGivesBias) {
  const auto bias = randn(3, 1);
  std::vector<float> out(2 * 3, NAN);
  matmul_forward(out.data(), 3, nullptr, 0, MatRef{nullptr, 0, 3, 3, 1}, bias.data(), 1, 2);
  for (int n = 0; n < 2; ++n)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(out[n * 3 + j], bias[j]);
}

TEST(Matmul, RejectsStridesBlasCannotUse) {
  std::vector<float> w(64), inp(4), out(4);
  EXPECT_THROW(matmul_forward(out.data(), 4, inp.data(), 4, MatRef{w.data(), 4, 4, 2, 2}, nullptr,
                              1, 1),
               glassbox::Error);
  // Overlapping rows: cs == 1 but rs < cols.
  EXPECT_THROW(matmul_forward(out.data(), 4, inp.data(), 4, MatRef{w.data(), 4, 4, 3, 1}, nullptr,
                              1, 1),
               glassbox::Error);
}

}  // namespace
}  // namespace glassbox::kernels
