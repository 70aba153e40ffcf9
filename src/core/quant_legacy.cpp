// Dequantisation of ggml's 32-value block quants: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1.
// Layouts (ggml-common.h), little-endian, f16 scales:
//   Q8_0  d, qs[32] int8                         x = q*d
//   Q4_0  d, qs[16] nibbles                      x = (q - 8)*d
//   Q4_1  d, m, qs[16]                           x = q*d + m
//   Q5_0  d, qh[4] (5th bits), qs[16]            x = (q - 16)*d
//   Q5_1  d, m, qh[4], qs[16]                    x = q*d + m
// Value j < 16 is the low nibble of qs[j], value j + 16 its high nibble; its
// fifth bit (Q5_*) is bit j (resp. j + 16) of qh.
//
// Bit-exactness: ggml computes each value as one float product and, for Q4_1 /
// Q5_1, one separate float addition (ggml-base is built without FMA). With
// -march=native GCC would fuse q*d + m into an FMA, which rounds once instead
// of twice; contraction is switched off for this file so the results match.
#pragma GCC optimize("fp-contract=off")

#include <cstring>

#include "core/quant_blocks.h"
#include "glassbox/error.h"

namespace glassbox::detail {
namespace {

float half(const uint8_t* p) { return f16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

uint32_t u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);  // ggml memcpy's qh the same way (little-endian hosts only)
  return v;
}

void q8_0(float* y, const uint8_t* b) {
  const float d = half(b);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

void q4_0(float* y, const uint8_t* b) {
  const float d = half(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0f) - 8) * d;
    y[j + 16] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

void q4_1(float* y, const uint8_t* b) {
  const float d = half(b), m = half(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0f) * d + m;
    y[j + 16] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// The 5-bit values of a Q5_* block: q[j] in [0, 32).
void q5_values(int* q, const uint8_t* qh_bytes, const uint8_t* qs) {
  const uint32_t qh = u32(qh_bytes);
  for (int j = 0; j < 16; ++j) {
    q[j] = (qs[j] & 0x0f) | (((qh >> j) << 4) & 0x10);
    q[j + 16] = (qs[j] >> 4) | ((qh >> (j + 12)) & 0x10);
  }
}

void q5_0(float* y, const uint8_t* b) {
  const float d = half(b);
  int q[32];
  q5_values(q, b + 2, b + 6);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(q[j] - 16) * d;
}

void q5_1(float* y, const uint8_t* b) {
  const float d = half(b), m = half(b + 2);
  int q[32];
  q5_values(q, b + 4, b + 8);
  for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(q[j]) * d + m;
}

template <void (*Block)(float*, const uint8_t*)>
void run(float* y, const uint8_t* src, int64_t nblocks, size_t block_bytes) {
  for (int64_t i = 0; i < nblocks; ++i) Block(y + i * 32, src + size_t(i) * block_bytes);
}

}  // namespace

void dequantize_legacy(float* y, const uint8_t* src, DType t, int64_t nblocks) {
  switch (t) {
    case DType::Q8_0: return run<q8_0>(y, src, nblocks, 34);
    case DType::Q4_0: return run<q4_0>(y, src, nblocks, 18);
    case DType::Q4_1: return run<q4_1>(y, src, nblocks, 20);
    case DType::Q5_0: return run<q5_0>(y, src, nblocks, 22);
    case DType::Q5_1: return run<q5_1>(y, src, nblocks, 24);
    default: fail("dequantize_legacy: ", dtype_name(t), " is not a 32-value block quant");
  }
}

void dequantize_blocks(float* dst, const uint8_t* src, DType t, int64_t nblocks) {
  if (nblocks <= 0) return;
  if (dtype_block_size(t) == 256) return dequantize_k(dst, src, t, nblocks);
  dequantize_legacy(dst, src, t, nblocks);
}

}  // namespace glassbox::detail
