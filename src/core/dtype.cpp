// DType names, sizes, half-precision conversions and dequantisation to f32.
#include "glassbox/dtype.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/quant_blocks.h"
#include "glassbox/error.h"

namespace glassbox {
namespace {

struct DTypeInfo {
  DType t;
  std::string_view name;
  size_t block_bytes;  // bytes per block (per element for plain types)
  int64_t block;       // elements per block
  bool safetensors;    // spelled this way in safetensors headers
};

// ggml block layouts (bytes per block, values per block); see quant_legacy.cpp and quant_k.cpp.
constexpr DTypeInfo kInfo[] = {
    {DType::F32, "F32", 4, 1, true},   {DType::F16, "F16", 2, 1, true},
    {DType::BF16, "BF16", 2, 1, true}, {DType::F64, "F64", 8, 1, true},
    {DType::I8, "I8", 1, 1, true},     {DType::I16, "I16", 2, 1, true},
    {DType::I32, "I32", 4, 1, true},   {DType::I64, "I64", 8, 1, true},
    {DType::U8, "U8", 1, 1, true},     {DType::BOOL, "BOOL", 1, 1, true},
    {DType::Q8_0, "Q8_0", 34, 32, false}, {DType::Q4_0, "Q4_0", 18, 32, false},
    {DType::Q4_1, "Q4_1", 20, 32, false}, {DType::Q5_0, "Q5_0", 22, 32, false},
    {DType::Q5_1, "Q5_1", 24, 32, false}, {DType::Q2_K, "Q2_K", 84, 256, false},
    {DType::Q3_K, "Q3_K", 110, 256, false}, {DType::Q4_K, "Q4_K", 144, 256, false},
    {DType::Q5_K, "Q5_K", 176, 256, false}, {DType::Q6_K, "Q6_K", 210, 256, false},
};

const DTypeInfo& info(DType t) {
  for (const auto& i : kInfo)
    if (i.t == t) return i;
  fail("dtype: invalid DType value ", static_cast<int>(t));
}

// Reads a T from possibly unaligned memory (safetensors offsets need not be aligned).
template <class T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <class T>
void plain_to_f32(float* dst, const uint8_t* src, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(load<T>(src + i * sizeof(T)));
}

}  // namespace

std::string_view to_string(DType t) { return info(t).name; }

template <>
DType from_string<DType>(std::string_view s) {
  auto same = [](std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return std::toupper((unsigned char)x) == std::toupper((unsigned char)y); });
  };
  std::string list;
  for (const auto& i : kInfo) {
    if (same(i.name, s)) return i.t;
    list += (list.empty() ? "" : ", ") + std::string(i.name);
  }
  fail("dtype '", s, "' is not one of ", list);
}

bool dtype_from_safetensors(std::string_view s, DType* out) {
  for (const auto& i : kInfo) {
    if (i.safetensors && i.name == s) {
      *out = i.t;
      return true;
    }
  }
  return false;
}

int64_t dtype_block_size(DType t) { return info(t).block; }

bool dtype_is_quantized(DType t) { return info(t).block > 1; }

size_t dtype_nbytes(DType t, int64_t n) {
  const DTypeInfo& i = info(t);
  if (n < 0) fail("dtype_nbytes: negative element count ", n, " for ", i.name);
  if (n % i.block != 0)
    fail("dtype_nbytes: ", n, " elements is not a multiple of the ", i.name, " block size ", i.block);
  const uint64_t blocks = static_cast<uint64_t>(n / i.block);
  if (blocks > std::numeric_limits<size_t>::max() / i.block_bytes)
    fail("dtype_nbytes: ", n, " elements of ", i.name, " overflow size_t");
  return static_cast<size_t>(blocks * i.block_bytes);
}

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    // Zero or subnormal: mant * 2^-24 is exact in f32.
    const float v = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mant << 13));  // inf / nan (payload kept)
  return std::bit_cast<float>(sign | ((exp + 112) << 23) | (mant << 13));          // rebias 15 -> 127
}

uint16_t f32_to_f16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) {
    // NaN stays NaN: keep the top payload bits and force the quiet bit so a
    // payload living only in the low 13 bits cannot turn into inf.
    return static_cast<uint16_t>(sign | 0x7e00u | ((ax >> 13) & 0x3ffu));
  }
  // 65520 (0x477ff000) is halfway between 65504 (max f16, odd mantissa) and 2^16: ties-to-even -> inf.
  if (ax >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);
  if (ax < 0x38800000u) {
    // Result is an f16 subnormal (or zero): round m * 2^(e-150) to a multiple of 2^-24.
    const uint32_t e = ax >> 23;
    const uint32_t shift = 126 - e;  // >= 14 here
    if (shift > 24) return sign;     // below 2^-25 (or an f32 subnormal): rounds to zero
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;  // may carry into the smallest normal: still correct
    return static_cast<uint16_t>(sign | q);
  }
  // Normal: rebias the exponent (-112 << 23) and round the 13 dropped bits to nearest even;
  // a carry out of the mantissa correctly bumps the exponent.
  const uint32_t odd = (ax >> 13) & 1u;
  const uint32_t r = ax + 0xc8000fffu + odd;
  return static_cast<uint16_t>(sign | (r >> 13));
}

float bf16_to_f32(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
  // Ties-to-even on the dropped 16 bits; overflow rounds to inf as it should.
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

namespace {

void from_f32_serial(void* dst, const float* src, DType t, int64_t n) {
  switch (t) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_f16(src[i]);
      return;
    case DType::BF16: {
      // f32_to_bf16 inlined without branches, so that the loop vectorises
      // (a cache stored as bf16 converts every activation of the run).
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) {
        uint32_t x;
        std::memcpy(&x, src + i, 4);
        const uint32_t rounded = (x + 0x7fffu + ((x >> 16) & 1u)) >> 16;
        const uint32_t quiet_nan = (x >> 16) | 0x40u;
        d[i] = static_cast<uint16_t>((x & 0x7fffffffu) > 0x7f800000u ? quiet_nan : rounded);
      }
      return;
    }
    default: break;
  }
}

}  // namespace

void from_f32(void* dst, const float* src, DType t, int64_t n) {
  if (n < 0) fail("from_f32: negative element count ", n);
  if (t != DType::F32 && t != DType::F16 && t != DType::BF16)
    fail("from_f32: cannot store as ", dtype_name(t), " (expected F32, F16 or BF16)");
  // Large arrays go over the OpenMP threads in chunks: the conversion and the
  // page faults of fresh destination memory both parallelise.
  constexpr int64_t kChunk = int64_t(1) << 16;
  const size_t esize = dtype_nbytes(t, 1);
#pragma omp parallel for schedule(static) if (n > 4 * kChunk)
  for (int64_t c = 0; c < n; c += kChunk)
    from_f32_serial(static_cast<uint8_t*>(dst) + size_t(c) * esize, src + c, t, std::min(kChunk, n - c));
}

void to_f32(float* dst, const void* src_v, DType t, int64_t n) {
  if (n < 0) fail("to_f32: negative element count ", n);
  if (n == 0) return;  // src may be null for empty tensors
  const auto* src = static_cast<const uint8_t*>(src_v);
  switch (t) {
    case DType::F32: std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); return;
    case DType::F16:
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::BF16:
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(load<uint16_t>(src + 2 * i));
      return;
    case DType::F64: plain_to_f32<double>(dst, src, n); return;
    case DType::I8: plain_to_f32<int8_t>(dst, src, n); return;
    case DType::I16: plain_to_f32<int16_t>(dst, src, n); return;
    case DType::I32: plain_to_f32<int32_t>(dst, src, n); return;
    case DType::I64: plain_to_f32<int64_t>(dst, src, n); return;
    case DType::U8: plain_to_f32<uint8_t>(dst, src, n); return;
    case DType::BOOL:
      for (int64_t i = 0; i < n; ++i) dst[i] = src[i] ? 1.0f : 0.0f;
      return;
    case DType::Q8_0: case DType::Q4_0: case DType::Q4_1: case DType::Q5_0: case DType::Q5_1:
    case DType::Q2_K: case DType::Q3_K: case DType::Q4_K: case DType::Q5_K: case DType::Q6_K: {
      const DTypeInfo& qi = info(t);
      if (n % qi.block) fail("to_f32: ", qi.name, " needs a multiple of ", qi.block, " elements, got ", n);
      detail::dequantize_blocks(dst, src, t, n / qi.block);
      return;
    }
  }
  fail("to_f32: invalid DType value ", static_cast<int>(t));
}

}  // namespace glassbox
