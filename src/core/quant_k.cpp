// Dequantisation of ggml's K-quants: 256-value super-blocks of 16 or 8
// sub-blocks, each with its own quantised scale (and min), scaled by f16 d
// (and dmin). Byte layouts (ggml-common.h):
//   Q2_K  scales[16] (lo nibble scale, hi nibble min), qs[64] 2-bit, d, dmin   84 B
//   Q3_K  hmask[32] high bits, qs[64] low 2 bits, scales[12] 6-bit, d         110 B
//   Q4_K  d, dmin, scales[12] 6-bit scale+min x 8, qs[128] nibbles            144 B
//   Q5_K  d, dmin, scales[12], qh[32] 5th bits, qs[128]                       176 B
//   Q6_K  ql[128] low nibbles, qh[64] high 2 bits, scales[16] int8, d         210 B
// Each value is computed with exactly ggml's float operations in ggml's order
// (dequantize_row_q*_K in ggml-quants.c): sub-block scale = d * sc as one
// product, value = scale * q - min as a product and a separate subtraction.
// GCC would contract that into an FMA under -march=native (one rounding, not
// two), so contraction is off for this file.
#pragma GCC optimize("fp-contract=off")

#include <cstring>

#include "core/quant_blocks.h"
#include "glassbox/error.h"

namespace glassbox::detail {
namespace {

float half(const uint8_t* p) { return f16_to_f32(static_cast<uint16_t>(p[0] | (p[1] << 8))); }

// Q4_K / Q5_K pack eight 6-bit (scale, min) pairs in 12 bytes: pairs 0-3 in
// the low 6 bits of bytes 0-3 / 4-7, pairs 4-7 in the nibbles of bytes 8-11
// with their top 2 bits in the high bits of bytes 0-7.
void scale_min_k4(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

void q2_k(float* y, const uint8_t* b) {
  const uint8_t* scales = b;
  const uint8_t* q = b + 16;
  const float d = half(b + 80), dmin = half(b + 82);
  int is = 0;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half16 = 0; half16 < 2; ++half16) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 0x0f), ml = dmin * static_cast<float>(sc >> 4);
        const uint8_t* qq = q + 16 * half16;
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((qq[l] >> shift) & 3) - ml;
      }
    }
    q += 32;
  }
}

void q3_k(float* y, const uint8_t* b) {
  const uint8_t* hm = b;
  const uint8_t* q = b + 32;
  const float d_all = half(b + 108);
  // Sixteen 6-bit scales: low 4 bits in the nibbles of bytes 0-7, top 2 bits in bytes 8-11.
  uint32_t aux[4];
  std::memcpy(aux, b + 96, 12);
  constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  const uint32_t tmp = aux[2];
  aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
  aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
  aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
  aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
  int8_t scales[16];
  std::memcpy(scales, aux, 16);

  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 256; n += 128) {
    for (int shift = 0; shift < 8; shift += 2) {
      for (int half16 = 0; half16 < 2; ++half16) {
        const float dl = d_all * static_cast<float>(scales[is++] - 32);
        const uint8_t* qq = q + 16 * half16;
        const uint8_t* hh = hm + 16 * half16;
        for (int l = 0; l < 16; ++l) {
          const int v = ((qq[l] >> shift) & 3) - ((hh[l] & m) ? 0 : 4);
          *y++ = dl * static_cast<float>(v);
        }
      }
      m = static_cast<uint8_t>(m << 1);
    }
    q += 32;
  }
}

void q4_k(float* y, const uint8_t* b) {
  const float d = half(b), dmin = half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, q += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
  }
}

void q5_k(float* y, const uint8_t* b) {
  const float d = half(b), dmin = half(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* ql = b + 48;
  uint8_t u1 = 1, u2 = 2;
  for (int j = 0, is = 0; j < 256; j += 64, is += 2, ql += 32) {
    uint8_t sc, m;
    scale_min_k4(is, scales, &sc, &m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    scale_min_k4(is + 1, scales, &sc, &m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0x0f) + (qh[l] & u1 ? 16 : 0)) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
    u1 = static_cast<uint8_t>(u1 << 2);
    u2 = static_cast<uint8_t>(u2 << 2);
  }
}

void q6_k(float* y, const uint8_t* b) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half(b + 208);
  for (int n = 0; n < 256; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
    // ggml loops l over 0..31 with scale index l / 16; split in two 16-value
    // halves so each scale is a loop constant and the loop vectorises.
    for (int is = 0; is < 2; ++is) {
      // (d * scale) * q, left to right as ggml writes d * sc[is] * q.
      const float s1 = d * static_cast<float>(sc[is + 0]), s2 = d * static_cast<float>(sc[is + 2]);
      const float s3 = d * static_cast<float>(sc[is + 4]), s4 = d * static_cast<float>(sc[is + 6]);
      for (int l = 16 * is; l < 16 * is + 16; ++l) {
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = s1 * static_cast<float>(q1);
        y[l + 32] = s2 * static_cast<float>(q2);
        y[l + 64] = s3 * static_cast<float>(q3);
        y[l + 96] = s4 * static_cast<float>(q4);
      }
    }
  }
}

template <void (*Block)(float*, const uint8_t*)>
void run(float* y, const uint8_t* src, int64_t nblocks, size_t block_bytes) {
  for (int64_t i = 0; i < nblocks; ++i) Block(y + i * 256, src + size_t(i) * block_bytes);
}

}  // namespace

void dequantize_k(float* y, const uint8_t* src, DType t, int64_t nblocks) {
  switch (t) {
    case DType::Q2_K: return run<q2_k>(y, src, nblocks, 84);
    case DType::Q3_K: return run<q3_k>(y, src, nblocks, 110);
    case DType::Q4_K: return run<q4_k>(y, src, nblocks, 144);
    case DType::Q5_K: return run<q5_k>(y, src, nblocks, 176);
    case DType::Q6_K: return run<q6_k>(y, src, nblocks, 210);
    default: fail("dequantize_k: ", dtype_name(t), " is not a K-quant");
  }
}

}  // namespace glassbox::detail
