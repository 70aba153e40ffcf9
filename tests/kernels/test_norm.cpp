#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

void naive_norm(std::vector<double>& y, std::vector<double>& s, const std::vector<float>& x,
                int64_t N, int64_t C, double eps, bool center) {
  y.assign(size_t(N * C), 0.0);
  s.assign(size_t(N), 0.0);
  for (int64_t n = 0; n < N; ++n) {
    double mu = 0.0;
    if (center) {
      for (int64_t c = 0; c < C; ++c) mu += x[n * C + c];
      mu /= double(C);
    }
    double v = 0.0;
    for (int64_t c = 0; c < C; ++c) v += (x[n * C + c] - mu) * (x[n * C + c] - mu);
    s[n] = std::sqrt(v / double(C) + eps);
    for (int64_t c = 0; c < C; ++c) y[n * C + c] = (x[n * C + c] - mu) / s[n];
  }
}

void check_norm(int64_t N, int64_t C, bool center, float offset) {
  auto x = randn(size_t(N * C), 11);
  for (auto& v : x) v += offset;
  std::vector<float> y(static_cast<size_t>(N * C)), s(static_cast<size_t>(N));
  norm_forward(y.data(), s.data(), x.data(), N, C, 1e-5f, center);
  std::vector<double> ry, rs;
  naive_norm(ry, rs, x, N, C, 1e-5, center);
  EXPECT_LT(max_abs_diff(y, ry), 2e-5) << "N=" << N << " C=" << C << " center=" << center;
  for (int64_t n = 0; n < N; ++n) EXPECT_NEAR(s[n], rs[n], 1e-6 * rs[n]);
}

TEST(Norm, LayerNormMatchesNaive) { check_norm(7, 37, true, 0.0f); }
TEST(Norm, RmsNormMatchesNaive) { check_norm(7, 37, false, 0.5f); }
TEST(Norm, SingleRowAndThreadedSizesMatchNaive) {
  check_norm(1, 5, true, 0.0f);
  check_norm(64, 768, true, 0.0f);
  check_norm(64, 768, false, 0.0f);
}
TEST(Norm, LayerNormKeepsPrecisionWithLargeRowMean) { check_norm(3, 1024, true, 300.0f); }

TEST(Norm, ConstantRowNormalizesToZeroWithScaleSqrtEps) {
  std::vector<float> x(16, 3.0f), y(16), s(1);
  norm_forward(y.data(), s.data(), x.data(), 1, 16, 1e-5f, true);
  EXPECT_NEAR(s[0], std::sqrt(1e-5f), 1e-9);
  for (float v : y) EXPECT_EQ(v, 0.0f);
}

TEST(Norm, ApplyWithForwardScaleIsBitwiseEqual) {
  for (bool center : {true, false}) {
    const auto x = randn(5 * 33, 12);
    std::vector<float> y(x.size()), y2(x.size()), s(5);
    norm_forward(y.data(), s.data(), x.data(), 5, 33, 1e-6f, center);
    norm_apply(y2.data(), x.data(), s.data(), 5, 33, center);
    EXPECT_EQ(y, y2);
  }
}

TEST(Norm, ApplyUsesReplacedScale) {
  const auto x = randn(3 * 8, 13);
  std::vector<float> y(x.size()), y2(x.size()), s(3);
  norm_forward(y.data(), s.data(), x.data(), 3, 8, 1e-5f, true);
  for (auto& v : s) v *= 2.0f;
  norm_apply(y2.data(), x.data(), s.data(), 3, 8, true);
  for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y2[i], 0.5f * y[i], 1e-6f);
}

TEST(Affine, MatchesNaiveForEveryNullCombination) {
  const int64_t N = 4, C = 9;
  const auto x = randn(size_t(N * C), 1), w = randn(size_t(C), 2), b = randn(size_t(C), 3);
  for (int mask = 0; mask < 4; ++mask) {
    const float* wp = mask & 1 ? w.data() : nullptr;
    const float* bp = mask & 2 ? b.data() : nullptr;
    std::vector<float> out(x.size());
    affine_forward(out.data(), x.data(), wp, bp, N, C);
    for (int64_t i = 0; i < N * C; ++i) {
      const float ref = x[i] * (wp ? wp[i % C] : 1.0f) + (bp ? bp[i % C] : 0.0f);
      EXPECT_NEAR(out[i], ref, 1e-6f) << "mask " << mask;
    }
  }
}

TEST(Affine, InPlaceIdentityLeavesInputAlone) {
  auto x = randn(12, 4);
  const auto before = x;
  affine_forward(x.data(), x.data(), nullptr, nullptr, 3, 4);
  EXPECT_EQ(x, before);
}

}  // namespace
}  // namespace glassbox::kernels
