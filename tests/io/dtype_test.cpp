// f16 / bf16 conversions against hand-computed bit patterns, dtype sizes and
// names, and to_f32 for every plain type and both block types.
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>
#include <limits>

#include "glassbox/dtype.h"
#include "io/io_test_util.h"

namespace glassbox {
namespace {

float f(uint32_t bits) { return std::bit_cast<float>(bits); }
const float kInf = std::numeric_limits<float>::infinity();

TEST(F16, ConvertsExactValues) {
  EXPECT_EQ(f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(f32_to_f16(-2.0f), 0xc000);
  EXPECT_EQ(f32_to_f16(0.5f), 0x3800);
  EXPECT_EQ(f32_to_f16(65504.0f), 0x7bff);  // largest finite half
  EXPECT_EQ(f32_to_f16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(f16_to_f32(0x3c00), 1.0f);
  EXPECT_EQ(f16_to_f32(0xc000), -2.0f);
  EXPECT_EQ(f16_to_f32(0x7bff), 65504.0f);
  EXPECT_EQ(f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::signbit(f16_to_f32(0x8000)));
}

TEST(F16, RoundsToNearestTiesToEven) {
  // Half has 10 mantissa bits: near 1.0 the spacing is 2^-10.
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f), 0x3c00);          // tie, 0x3c00 is even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02);      // tie, 0x3c01 is odd -> up
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);  // just above the tie
  EXPECT_EQ(f32_to_f16(1.0f + 0x1p-11f - 0x1p-20f), 0x3c00);  // just below
  EXPECT_EQ(f32_to_f16(-(1.0f + 3 * 0x1p-11f)), 0xbc02);
  // Rounding carries from the mantissa into the exponent: 2 - 2^-12 -> 2.0.
  EXPECT_EQ(f32_to_f16(2.0f - 0x1p-12f), 0x4000);
}

TEST(F16, OverflowsToInfinityAtTheHalfwayPoint) {
  EXPECT_EQ(f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(f32_to_f16(65520.0f), 0x7c00);  // tie between 65504 (odd) and 2^16: up to inf
  EXPECT_EQ(f32_to_f16(1e10f), 0x7c00);
  EXPECT_EQ(f32_to_f16(-1e10f), 0xfc00);
  EXPECT_EQ(f32_to_f16(kInf), 0x7c00);
  EXPECT_EQ(f32_to_f16(-kInf), 0xfc00);
  EXPECT_EQ(f16_to_f32(0x7c00), kInf);
  EXPECT_EQ(f16_to_f32(0xfc00), -kInf);
}

TEST(F16, HandlesSubnormals) {
  EXPECT_EQ(f32_to_f16(0x1p-24f), 0x0001);                // smallest subnormal
  EXPECT_EQ(f32_to_f16(-0x1p-24f), 0x8001);
  EXPECT_EQ(f32_to_f16(0x1p-14f), 0x0400);                // smallest normal
  EXPECT_EQ(f32_to_f16(0x1p-14f - 0x1p-24f), 0x03ff);     // largest subnormal
  EXPECT_EQ(f32_to_f16(0x1p-25f), 0x0000);                // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(f32_to_f16(0x1p-25f + 0x1p-40f), 0x0001);     // just above the tie
  EXPECT_EQ(f32_to_f16(3 * 0x1p-25f), 0x0002);            // tie 1.5 ulp: odd 1 -> 2
  EXPECT_EQ(f32_to_f16(5 * 0x1p-25f), 0x0002);            // tie 2.5 ulp: even 2 stays
  EXPECT_EQ(f32_to_f16(0x1p-14f - 0x1p-25f), 0x0400);     // tie at the top carries to the smallest normal
  EXPECT_EQ(f32_to_f16(f(0x00000001)), 0x0000);           // f32 subnormal underflows
  EXPECT_EQ(f32_to_f16(-f(0x00000001)), 0x8000);
  EXPECT_EQ(f16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x03ff), 1023 * 0x1p-24f);
  EXPECT_EQ(f16_to_f32(0x8200), -512 * 0x1p-24f);
}

TEST(F16, KeepsNanAsNan) {
  EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(std::numeric_limits<float>::quiet_NaN()))));
  // A payload only in the low 13 bits must not collapse to infinity.
  const uint16_t h = f32_to_f16(f(0x7f800001));
  EXPECT_EQ(h & 0x7c00, 0x7c00);
  EXPECT_NE(h & 0x03ff, 0);
  EXPECT_TRUE(std::isnan(f16_to_f32(0x7e00)));
  EXPECT_TRUE(std::isnan(f16_to_f32(0xfc01)));
}

TEST(F16, RoundTripsEveryHalfValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float x = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(x)) {
      EXPECT_TRUE(std::isnan(f16_to_f32(f32_to_f16(x)))) << std::hex << h;
    } else {
      ASSERT_EQ(f32_to_f16(x), h) << std::hex << h;
    }
  }
}

TEST(BF16, ConvertsAndRoundsToNearestTiesToEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xc000);
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  // bf16 keeps 7 mantissa bits: spacing 2^-7 near 1.
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);            // tie, even stays
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);        // tie, odd rounds up
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);  // above bf16 max: inf
  EXPECT_EQ(f32_to_bf16(kInf), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-kInf), 0xff80);
}

TEST(BF16, HandlesSubnormalsAndNan) {
  EXPECT_EQ(f32_to_bf16(f(0x00000001)), 0x0000);
  EXPECT_EQ(f32_to_bf16(f(0x00008000)), 0x0000);  // tie, even
  EXPECT_EQ(f32_to_bf16(f(0x00018000)), 0x0002);  // tie, odd -> up
  EXPECT_EQ(f32_to_bf16(f(0x00010000)), 0x0001);
  EXPECT_EQ(bf16_to_f32(0x0001), 0x1p-133f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f(0x7f800001)))));  // low payload stays NaN
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(-std::numeric_limits<float>::quiet_NaN()))));
}

TEST(BF16, RoundTripsEveryValue) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float x = bf16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(x)) continue;
    ASSERT_EQ(f32_to_bf16(x), h) << std::hex << h;
  }
}

// The vectorised array conversion agrees bit for bit with the scalar one
// (checked above against hand-computed patterns) on every bf16 tie, both
// neighbours of each, NaNs, infinities and subnormals; F16 / F32 likewise.
TEST(FromF32, MatchesTheScalarConversionsBitForBit) {
  std::vector<float> x;
  for (uint32_t h = 0; h < 0x10000; h += 7)
    for (uint32_t low : {0x0000u, 0x7fffu, 0x8000u, 0x8001u, 0xffffu}) x.push_back(f((h << 16) | low));
  for (float v : {0.f, -0.f, kInf, -kInf, std::numeric_limits<float>::quiet_NaN(), f(0x7f800001), 65520.f, 1e-8f})
    x.push_back(v);
  const auto n = int64_t(x.size());
  std::vector<uint16_t> bf(x.size()), hf(x.size());
  from_f32(bf.data(), x.data(), DType::BF16, n);
  from_f32(hf.data(), x.data(), DType::F16, n);
  for (size_t i = 0; i < x.size(); ++i) {
    ASSERT_EQ(bf[i], f32_to_bf16(x[i])) << std::hex << std::bit_cast<uint32_t>(x[i]);
    ASSERT_EQ(hf[i], f32_to_f16(x[i])) << std::hex << std::bit_cast<uint32_t>(x[i]);
  }
  std::vector<float> same(x.size());
  from_f32(same.data(), x.data(), DType::F32, n);
  EXPECT_EQ(std::memcmp(same.data(), x.data(), x.size() * 4), 0);
  EXPECT_THROW(from_f32(same.data(), x.data(), DType::Q8_0, 32), Error);
}

// Arrays of more than four 64 Ki-element chunks are converted in parallel;
// the chunk edges (and a ragged tail) must not shift or drop anything.
TEST(FromF32, LargeArraysConvertedInParallelChunksMatchElementByElement) {
  const int64_t n = 5 * 65536 + 123;
  std::vector<float> x(static_cast<size_t>(n));
  uint32_t bits = 12345;
  for (float& v : x) v = f((bits = bits * 1664525u + 1013904223u) & 0xbfffffffu);  // finite, both signs
  std::vector<uint16_t> bf(x.size());
  from_f32(bf.data(), x.data(), DType::BF16, n);
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(bf[i], f32_to_bf16(x[i])) << i;
  std::vector<float> same(x.size());
  from_f32(same.data(), x.data(), DType::F32, n);
  EXPECT_EQ(std::memcmp(same.data(), x.data(), x.size() * 4), 0);
}

TEST(DType, NamesSizesAndBlocks) {
  EXPECT_EQ(dtype_name(DType::BF16), "BF16");
  EXPECT_EQ(dtype_name(DType::Q8_0), "Q8_0");
  EXPECT_EQ(dtype_nbytes(DType::F32, 10), 40u);
  EXPECT_EQ(dtype_nbytes(DType::F64, 3), 24u);
  EXPECT_EQ(dtype_nbytes(DType::BOOL, 3), 3u);
  EXPECT_EQ(dtype_nbytes(DType::Q8_0, 64), 68u);
  EXPECT_EQ(dtype_nbytes(DType::Q4_0, 32), 18u);
  EXPECT_EQ(dtype_block_size(DType::F16), 1);
  EXPECT_EQ(dtype_block_size(DType::Q4_0), 32);
  EXPECT_TRUE(test::ThrowsError([] { dtype_nbytes(DType::Q8_0, 33); }, {"multiple", "32"}));
  EXPECT_TRUE(test::ThrowsError([] { dtype_nbytes(DType::F32, INT64_MAX); }, {"overflow"}));
  EXPECT_TRUE(test::ThrowsError([] { dtype_nbytes(DType::F32, -1); }, {"negative"}));
}

TEST(DType, ParsesSafetensorsNamesOnly) {
  DType t;
  for (const char* s : {"F64", "F32", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"}) {
    ASSERT_TRUE(dtype_from_safetensors(s, &t)) << s;
    EXPECT_EQ(dtype_name(t), s);
  }
  EXPECT_FALSE(dtype_from_safetensors("Q8_0", &t));  // GGUF-only
  EXPECT_FALSE(dtype_from_safetensors("F8_E4M3", &t));
  EXPECT_FALSE(dtype_from_safetensors("f32", &t));
  EXPECT_FALSE(dtype_from_safetensors("", &t));
}

TEST(ToF32, ConvertsPlainTypesFromUnalignedMemory) {
  alignas(8) uint8_t buf[64] = {};
  const int64_t i64[2] = {-5, 1 << 20};
  std::memcpy(buf + 1, i64, sizeof i64);  // deliberately misaligned
  float out[4];
  to_f32(out, buf + 1, DType::I64, 2);
  EXPECT_EQ(out[0], -5.0f);
  EXPECT_EQ(out[1], 1048576.0f);

  const double f64[2] = {0.25, -3.5};
  std::memcpy(buf + 3, f64, sizeof f64);
  to_f32(out, buf + 3, DType::F64, 2);
  EXPECT_EQ(out[0], 0.25f);
  EXPECT_EQ(out[1], -3.5f);

  const uint16_t h[3] = {0x3c00, 0xc000, 0x7c00};
  std::memcpy(buf + 5, h, sizeof h);
  to_f32(out, buf + 5, DType::F16, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -2.0f);
  EXPECT_EQ(out[2], kInf);
  to_f32(out, buf + 5, DType::BF16, 1);
  EXPECT_EQ(out[0], bf16_to_f32(0x3c00));

  const int8_t i8[3] = {-128, 0, 127};
  to_f32(out, i8, DType::I8, 3);
  EXPECT_EQ(out[0], -128.0f);
  EXPECT_EQ(out[2], 127.0f);
  const uint8_t u8[2] = {255, 1};
  to_f32(out, u8, DType::U8, 2);
  EXPECT_EQ(out[0], 255.0f);
  const int16_t i16[1] = {-300};
  to_f32(out, i16, DType::I16, 1);
  EXPECT_EQ(out[0], -300.0f);
  const int32_t i32[1] = {70000};
  to_f32(out, i32, DType::I32, 1);
  EXPECT_EQ(out[0], 70000.0f);
  const uint8_t b[3] = {0, 1, 2};
  to_f32(out, b, DType::BOOL, 3);
  EXPECT_EQ(out[0], 0.0f);
  EXPECT_EQ(out[1], 1.0f);
  EXPECT_EQ(out[2], 1.0f);
  to_f32(out, nullptr, DType::F32, 0);  // empty tensors may have no data pointer
}

TEST(ToF32, DequantisesAKnownQ8_0Block) {
  uint8_t blk[34];
  blk[0] = 0x00;
  blk[1] = 0x38;  // d = f16 0x3800 = 0.5
  for (int j = 0; j < 32; ++j) blk[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 8 - 128));
  float out[32];
  to_f32(out, blk, DType::Q8_0, 32);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(out[j], 0.5f * (j * 8 - 128)) << j;
  EXPECT_EQ(out[0], -64.0f);
  EXPECT_EQ(out[31], 60.0f);
}

TEST(ToF32, DequantisesAKnownQ4_0BlockLowNibblesFirst) {
  uint8_t blk[18];
  blk[0] = 0x00;
  blk[1] = 0x40;  // d = 2.0
  for (int j = 0; j < 16; ++j) blk[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float out[32];
  to_f32(out, blk, DType::Q4_0, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 2.0f * (j - 8)) << j;            // low nibble of byte j -> element j
    EXPECT_EQ(out[j + 16], 2.0f * (7 - j)) << j + 16;  // high nibble -> element j + 16
  }
  EXPECT_TRUE(test::ThrowsError([&] { to_f32(out, blk, DType::Q4_0, 16); }, {"multiple of 32"}));
}

}  // namespace
}  // namespace glassbox
