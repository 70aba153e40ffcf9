// Q8_0 / Q4_0 quantisers: exact blocks worked by hand from ggml's reference
// rounding, and round-trip error bounds on random data.
#include <cmath>
#include <random>

#include "glassbox/dtype.h"
#include "glassbox/gguf.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

float block_scale(const std::vector<uint8_t>& q, size_t block_bytes, size_t b) {
  return f16_to_f32(static_cast<uint16_t>(q[b * block_bytes] | (q[b * block_bytes + 1] << 8)));
}

TEST(QuantizeQ8_0, MatchesAHandComputedBlock) {
  // amax = 127 makes d = 1 exactly, so q = roundf(x): halves round away from zero.
  float x[32];
  for (int j = 0; j < 32; ++j) x[j] = static_cast<float>(j) - 16.0f;
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.49f;
  x[4] = -126.6f;
  const auto q = quantize_q8_0(x, 32);
  ASSERT_EQ(q.size(), 34u);
  EXPECT_EQ(q[0], 0x00);
  EXPECT_EQ(q[1], 0x3c);  // f16(1.0)
  const int8_t want_head[5] = {127, 3, -3, 0, -127};
  for (int j = 0; j < 5; ++j) EXPECT_EQ(static_cast<int8_t>(q[2 + j]), want_head[j]) << j;
  for (int j = 5; j < 32; ++j) EXPECT_EQ(static_cast<int8_t>(q[2 + j]), j - 16) << j;
}

TEST(QuantizeQ8_0, ScalesByAmaxOver127) {
  float x[32] = {};
  x[7] = -2.0f;  // amax from a negative value
  x[8] = 0.5f;
  const auto q = quantize_q8_0(x, 32);
  EXPECT_EQ(block_scale(q, 34, 0), f16_to_f32(f32_to_f16(2.0f / 127.0f)));
  EXPECT_EQ(static_cast<int8_t>(q[2 + 7]), -127);
  EXPECT_EQ(static_cast<int8_t>(q[2 + 8]), 32);  // roundf(31.75)
}

TEST(QuantizeQ4_0, MatchesAHandComputedBlock) {
  // max = -8 (largest magnitude, negative) gives d = max / -8 = 1, q = min(15, (int)(x + 8.5)).
  float x[32] = {};
  x[0] = -8.0f;   // 0
  x[1] = 7.0f;    // 15
  x[2] = 0.49f;   // 8
  x[3] = 0.5f;    // 9: +0.5 rounds up
  x[4] = -0.5f;   // 8
  x[16] = 3.0f;   // 11 -> high nibble of byte 0
  x[17] = -3.0f;  // 5
  const auto q = quantize_q4_0(x, 32);
  ASSERT_EQ(q.size(), 18u);
  EXPECT_EQ(q[0], 0x00);
  EXPECT_EQ(q[1], 0x3c);  // f16(1.0)
  EXPECT_EQ(q[2 + 0], 0 | (11 << 4));
  EXPECT_EQ(q[2 + 1], 15 | (5 << 4));
  EXPECT_EQ(q[2 + 2], 8 | (8 << 4));
  EXPECT_EQ(q[2 + 3], 9 | (8 << 4));
  EXPECT_EQ(q[2 + 4], 8 | (8 << 4));
}

TEST(QuantizeQ4_0, PositiveMaxGivesNegativeScaleAndClampsAt15) {
  // max = +8 -> d = -1; x = -8 maps to (int)(16.5) = 16, clamped to 15.
  float x[32] = {};
  x[0] = 8.0f;
  x[1] = -8.0f;
  const auto q = quantize_q4_0(x, 32);
  EXPECT_EQ(block_scale(q, 18, 0), -1.0f);
  EXPECT_EQ(q[2] & 0x0f, 0);   // 8 * -1 + 8.5 = 0.5 -> 0
  EXPECT_EQ(q[3] & 0x0f, 15);  // clamped
  float back[32];
  to_f32(back, q.data(), DType::Q4_0, 32);
  EXPECT_EQ(back[0], 8.0f);
  EXPECT_EQ(back[1], -7.0f);  // the one value the asymmetric range cannot reach
}

TEST(Quantize, ZeroBlocksStayZero) {
  const std::vector<float> x(64, 0.0f);
  float back[64];
  const auto q8 = quantize_q8_0(x.data(), 64);
  to_f32(back, q8.data(), DType::Q8_0, 64);
  for (float v : back) EXPECT_EQ(v, 0.0f);
  const auto q4 = quantize_q4_0(x.data(), 64);
  EXPECT_EQ(q4[2], 0x88);  // zero is nibble 8
  to_f32(back, q4.data(), DType::Q4_0, 64);
  for (float v : back) EXPECT_EQ(v, 0.0f);
}

// Error of one quantised value: half a step from rounding, plus the f16 rounding
// of the scale (relative 2^-11) times the largest code.
TEST(QuantizeQ8_0, RoundTripErrorIsWithinHalfAStep) {
  std::mt19937 rng(1234);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = nd(rng);
  const auto q = quantize_q8_0(x.data(), static_cast<int64_t>(x.size()));
  std::vector<float> back(x.size());
  to_f32(back.data(), q.data(), DType::Q8_0, static_cast<int64_t>(x.size()));
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127.0f;
    const float bound = d * 0.5f + d * 0x1p-11f * 127.0f + 1e-7f;
    for (int j = 0; j < 32; ++j) ASSERT_LE(std::fabs(back[b * 32 + j] - x[b * 32 + j]), bound) << b << "," << j;
  }
}

TEST(QuantizeQ4_0, RoundTripErrorIsWithinOneStep) {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> ud(-5.0f, 5.0f);
  std::vector<float> x(32 * 64);
  for (float& v : x) v = ud(rng);
  const auto q = quantize_q4_0(x.data(), static_cast<int64_t>(x.size()));
  std::vector<float> back(x.size());
  to_f32(back.data(), q.data(), DType::Q4_0, static_cast<int64_t>(x.size()));
  double worst_ratio = 0;
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 8.0f;
    for (int j = 0; j < 32; ++j) {
      const float err = std::fabs(back[b * 32 + j] - x[b * 32 + j]);
      // Half a step from rounding; a full step only for the clamped opposite extreme.
      ASSERT_LE(err, d * (1.0f + 0x1p-11f * 8.0f) + 1e-6f) << b << "," << j;
      worst_ratio = std::max(worst_ratio, static_cast<double>(err / d));
    }
  }
  EXPECT_GT(worst_ratio, 0.3);  // the bound is not vacuous
}

TEST(Quantize, RejectsPartialBlocksAndNonFiniteValues) {
  std::vector<float> x(33, 1.0f);
  EXPECT_TRUE(test::ThrowsError([&] { quantize_q8_0(x.data(), 33); }, {"quantize_q8_0", "multiple of 32"}));
  EXPECT_TRUE(test::ThrowsError([&] { quantize_q4_0(x.data(), 31); }, {"quantize_q4_0", "multiple of 32"}));
  x[5] = std::nanf("");
  EXPECT_TRUE(test::ThrowsError([&] { quantize_q8_0(x.data(), 32); }, {"non-finite", "index 5"}));
  x[5] = INFINITY;
  EXPECT_TRUE(test::ThrowsError([&] { quantize_q4_0(x.data(), 32); }, {"non-finite"}));
}

TEST(Quantize, TinyValuesDoNotOverflowTheInverseScale) {
  // amax / 127 is an f32 subnormal here, so 1/d is inf in ggml's formula.
  float x[32] = {};
  x[0] = 1e-38f;
  x[1] = -1e-38f;
  const auto q8 = quantize_q8_0(x, 32);
  const auto q4 = quantize_q4_0(x, 32);
  float back[32];
  to_f32(back, q8.data(), DType::Q8_0, 32);
  for (float v : back) EXPECT_EQ(v, 0.0f);  // the scale underflows f16: everything decodes to 0
  to_f32(back, q4.data(), DType::Q4_0, 32);
  EXPECT_EQ(q8[2], 0);
  EXPECT_EQ(q4[2], 0x88);
}

}  // namespace
}  // namespace glassbox
