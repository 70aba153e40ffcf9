// Q8_0 / Q4_0 quantisers, bit-compatible with ggml's quantize_row_q8_0_ref and
// quantize_row_q4_0_ref (ggml-quants.c) so files we write load identically in llama.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "glassbox/error.h"
#include "glassbox/gguf.h"

namespace glassbox {
namespace {

constexpr int kBlock = 32;

void check_input(const float* x, int64_t n, const char* fn) {
  if (n < 0 || n % kBlock != 0) fail(fn, ": element count ", n, " is not a non-negative multiple of ", kBlock);
  if (n > 0 && !x) fail(fn, ": input is null");
  // ggml would feed NaN/inf into an int8 cast (undefined behaviour); we refuse.
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(x[i])) fail(fn, ": non-finite value ", x[i], " at index ", i);
}

// ggml's 1/d overflows to inf when d is an f32 subnormal (and 0*inf is NaN, whose
// int cast is undefined). Such a d is 0 once stored as f16, so every value
// dequantises to 0 whatever q is; q = 0 (id = 0) is the honest encoding.
float inverse_scale(float d) {
  if (d == 0.0f) return 0.0f;
  const float id = 1.0f / d;
  return std::isfinite(id) ? id : 0.0f;
}

void put_f16(uint8_t* p, float d) {
  const uint16_t h = f32_to_f16(d);
  p[0] = static_cast<uint8_t>(h & 0xff);
  p[1] = static_cast<uint8_t>(h >> 8);
}

}  // namespace

std::vector<uint8_t> quantize_q8_0(const float* x, int64_t n) {
  check_input(x, n, "quantize_q8_0");
  std::vector<uint8_t> out(dtype_nbytes(DType::Q8_0, n));
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    uint8_t* yb = out.data() + b * 34;
    float amax = 0.0f;
    for (int j = 0; j < kBlock; ++j) amax = std::max(amax, std::fabs(xb[j]));
    const float d = amax / 127.0f;
    const float id = inverse_scale(d);
    put_f16(yb, d);
    for (int j = 0; j < kBlock; ++j) {
      // |x*id| <= 127 up to rounding; the clamp is a guard, it changes no result.
      const float q = std::clamp(std::round(xb[j] * id), -127.0f, 127.0f);
      yb[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(q));
    }
  }
  return out;
}

std::vector<uint8_t> quantize_q4_0(const float* x, int64_t n) {
  check_input(x, n, "quantize_q4_0");
  std::vector<uint8_t> out(dtype_nbytes(DType::Q4_0, n));
  for (int64_t b = 0; b < n / kBlock; ++b) {
    const float* xb = x + b * kBlock;
    uint8_t* yb = out.data() + b * 18;
    // The signed value of largest magnitude maps to -8, using the full [-8, 7] range
    // on the side that needs it.
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kBlock; ++j) {
      if (amax < std::fabs(xb[j])) {
        amax = std::fabs(xb[j]);
        max = xb[j];
      }
    }
    const float d = max / -8.0f;
    const float id = inverse_scale(d);
    put_f16(yb, d);
    for (int j = 0; j < kBlock / 2; ++j) {
      // ggml truncates x*id + 8.5 toward zero (round half up) and caps at 15; clamping
      // first keeps the float->int conversion defined without changing any in-range result.
      const float v0 = std::clamp(xb[j] * id + 8.5f, 0.0f, 15.0f);
      const float v1 = std::clamp(xb[j + kBlock / 2] * id + 8.5f, 0.0f, 15.0f);
      yb[2 + j] = static_cast<uint8_t>(static_cast<uint8_t>(v0) | (static_cast<uint8_t>(v1) << 4));
    }
  }
  return out;
}

}  // namespace glassbox
