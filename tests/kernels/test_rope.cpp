#include <glassbox/error.h>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

// Exact-angle rotate_half reference in double.
std::vector<double> naive_rope(const std::vector<float>& x, int64_t ld, const std::vector<int32_t>& pos,
                               int64_t H, int64_t dh, int64_t rot, double theta,
                               const std::vector<float>& factors = {}) {
  std::vector<double> out(x.begin(), x.end());
  const int64_t half = rot / 2;
  for (size_t t = 0; t < pos.size(); ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < half; ++i) {
        double a = pos[t] * std::pow(theta, -2.0 * double(i) / double(rot));
        if (!factors.empty()) a /= factors[size_t(i)];
        const int64_t b = int64_t(t) * ld + h * dh;
        const double x1 = x[b + i], x2 = x[b + i + half];
        out[b + i] = x1 * std::cos(a) - x2 * std::sin(a);
        out[b + i + half] = x2 * std::cos(a) + x1 * std::sin(a);
      }
  return out;
}

void check_rope(int64_t T, int64_t H, int64_t dh, int64_t rot, int64_t pad, int32_t pos0) {
  const int64_t ld = H * dh + pad;
  const auto x = randn(size_t(T * ld), 21);
  std::vector<int32_t> pos(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) pos[t] = pos0 + int32_t(t);
  std::vector<float> out(x.size(), 9.0f);
  rope_forward(out.data(), x.data(), ld, pos.data(), T, H, dh, rot, 10000.0f);
  const auto ref = naive_rope(x, ld, pos, H, dh, rot, 10000.0);
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t c = 0; c < H * dh; ++c)
      ASSERT_NEAR(out[t * ld + c], ref[t * ld + c], 2e-5) << "t=" << t << " c=" << c;
    for (int64_t c = H * dh; c < ld; ++c) ASSERT_EQ(out[t * ld + c], 9.0f) << "padding written";
  }
}

TEST(Rope, FullRotaryMatchesNaive) { check_rope(9, 3, 16, 16, 0, 0); }
TEST(Rope, PartialRotaryPassesTailThrough) { check_rope(5, 2, 16, 4, 0, 3); }
TEST(Rope, RowStrideSkipsPadding) { check_rope(6, 2, 8, 8, 40, 1); }
TEST(Rope, KvCacheOffsetPositionsAndSingleToken) { check_rope(1, 4, 8, 8, 3, 57); }
TEST(Rope, ZeroRotDimIsIdentity) { check_rope(3, 2, 6, 0, 0, 5); }
TEST(Rope, LargeThreadedMatchesNaive) { check_rope(64, 12, 64, 16, 0, 0); }

// Llama-3.1 / llama.cpp rope_freqs: each pair's frequency divided by its factor.
TEST(Rope, FreqFactorsDivideEachPairsFrequency) {
  const int64_t T = 7, H = 2, dh = 12, rot = 8, ld = H * dh;
  const auto x = randn(size_t(T * ld), 23);
  const std::vector<int32_t> pos = {0, 1, 2, 3, 50, 300, 1000};
  const std::vector<float> factors = {1.f, 2.5f, 8.f, 0.5f};
  std::vector<float> out(x.size()), plain(x.size());
  rope_forward(out.data(), x.data(), ld, pos.data(), T, H, dh, rot, 10000.0f, factors.data());
  rope_forward(plain.data(), x.data(), ld, pos.data(), T, H, dh, rot, 10000.0f);
  const auto ref = naive_rope(x, ld, pos, H, dh, rot, 10000.0, factors);
  double changed = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_NEAR(out[i], ref[i], 1e-4) << i;
    changed = std::max(changed, double(std::fabs(out[i] - plain[i])));
  }
  EXPECT_GT(changed, 0.1) << "the factors made no difference";
  // The backward is the adjoint: <rope(x), y> == <x, rope_backward(y)>.
  const auto y = randn(x.size(), 24);
  std::vector<float> dx(x.size(), 0.f);
  rope_backward(dx.data(), y.data(), ld, pos.data(), T, H, dh, rot, 10000.0f, factors.data());
  double lhs = 0, rhs = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    lhs += double(out[i]) * y[i];
    rhs += double(x[i]) * dx[i];
  }
  EXPECT_NEAR(lhs, rhs, 1e-3 * std::fabs(lhs) + 1e-4);
}

TEST(Rope, InPlaceMatchesOutOfPlace) {
  const int64_t T = 4, H = 2, dh = 10, ld = 24;
  auto x = randn(size_t(T * ld), 22);
  const std::vector<int32_t> pos = {0, 5, 9, 100};
  std::vector<float> out(x.size());
  rope_forward(out.data(), x.data(), ld, pos.data(), T, H, dh, 6, 500.0f);
  rope_forward(x.data(), x.data(), ld, pos.data(), T, H, dh, 6, 500.0f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = 0; c < H * dh; ++c) EXPECT_EQ(x[t * ld + c], out[t * ld + c]);
}

TEST(Rope, MatchesHuggingFaceFloatAngleAtLongPositions) {
  // HF rounds inv_freq and pos * inv_freq to float32; so do we.
  const int64_t dh = 64;
  const auto x = randn(size_t(dh), 23);
  const int32_t pos = 30000;
  std::vector<float> out(static_cast<size_t>(dh));
  rope_forward(out.data(), x.data(), dh, &pos, 1, 1, dh, dh, 10000.0f);
  for (int64_t i = 0; i < dh / 2; ++i) {
    const float e = float(2 * i) / float(dh);
    const float inv = 1.0f / float(std::pow(10000.0, double(e)));
    const double a = double(float(pos) * inv);
    const double r = x[i] * std::cos(a) - x[i + dh / 2] * std::sin(a);
    EXPECT_NEAR(out[i], r, 2e-5) << i;
  }
}

TEST(Rope, RejectsOddOrOversizedRotDim) {
  std::vector<float> x(16);
  const int32_t pos = 0;
  EXPECT_THROW(rope_forward(x.data(), x.data(), 16, &pos, 1, 2, 8, 5, 1e4f), glassbox::Error);
  EXPECT_THROW(rope_forward(x.data(), x.data(), 16, &pos, 1, 2, 8, 10, 1e4f), glassbox::Error);
  EXPECT_THROW(rope_forward(x.data(), x.data(), 8, &pos, 1, 2, 8, 8, 1e4f), glassbox::Error);
}

}  // namespace
}  // namespace glassbox::kernels
