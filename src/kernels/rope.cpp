// Rotary position embedding, rotate_half layout (GPT-NeoX, Llama as Hugging
// Face applies it), with partial rotation (rot_dim < dh, Pythia's rotary_pct).
#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

void check_dims(const char* op, int64_t ld, int64_t H, int64_t dh, int64_t rot_dim) {
  if (rot_dim < 0 || rot_dim > dh || rot_dim % 2 != 0)
    fail(op, ": rot_dim = ", rot_dim, " must be even and within [0, dh = ", dh, "]");
  if (ld < H * dh) fail(op, ": row stride ld = ", ld, " is smaller than H * dh = ", H * dh);
}

// inv_freq and the angle are rounded to float exactly where Hugging Face's
// float32 implementation rounds them (inv_freq = 1 / theta^(2i/d) in float,
// freqs = pos * inv_freq in float). At position 4096 a float angle is off by
// ~2e-4 rad from the true one, so matching HF's rounding, not the exact
// angle, is what keeps long-context activations equal to the reference.
std::vector<float> inv_freqs(int64_t rot_dim, float theta, const float* factors) {
  std::vector<float> f(static_cast<size_t>(rot_dim / 2));
  for (int64_t i = 0; i < rot_dim / 2; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
    f[i] = 1.0f / static_cast<float>(std::pow(static_cast<double>(theta), static_cast<double>(e)));
    if (factors) f[i] /= factors[i];
  }
  return f;
}

// Calls body(row_index, cos, sin) for every position with that position's
// cos/sin table; tables are per thread, computed once per row for all heads.
template <class Body>
void for_each_position(const int32_t* pos, int64_t T, int64_t H, int64_t dh, int64_t rot_dim,
                       float theta, const float* factors, Body body) {
  const int64_t half = rot_dim / 2;
  const std::vector<float> inv = inv_freqs(rot_dim, theta, factors);
#pragma omp parallel if (T * H * dh >= detail::kParallelMin)
  {
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < T; ++t) {
      const float p = static_cast<float>(pos[t]);
      for (int64_t i = 0; i < half; ++i) {
        const double a = static_cast<double>(p * inv[i]);
        cs[i] = static_cast<float>(std::cos(a));
        sn[i] = static_cast<float>(std::sin(a));
      }
      body(t, cs.data(), sn.data());
    }
  }
}

}  // namespace

void rope_forward(float* out, const float* x, int64_t ld, const int32_t* pos, int64_t T,
                  int64_t H, int64_t dh, int64_t rot_dim, float theta, const float* freq_factors) {
  check_dims("rope_forward", ld, H, dh, rot_dim);
  const int64_t half = rot_dim / 2;
  for_each_position(pos, T, H, dh, rot_dim, theta, freq_factors, [&](int64_t t, const float* c, const float* s) {
    for (int64_t h = 0; h < H; ++h) {
      const float* xr = x + t * ld + h * dh;
      float* o = out + t * ld + h * dh;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const float x1 = xr[i], x2 = xr[i + half];
        o[i] = x1 * c[i] - x2 * s[i];
        o[i + half] = x2 * c[i] + x1 * s[i];
      }
      if (o != xr && dh > rot_dim)
        std::memcpy(o + rot_dim, xr + rot_dim, static_cast<size_t>(dh - rot_dim) * sizeof(float));
    }
  });
}

// The rotation is orthogonal, so the backward is the rotation by -angle.
void rope_backward(float* dx, const float* dout, int64_t ld, const int32_t* pos, int64_t T,
                   int64_t H, int64_t dh, int64_t rot_dim, float theta, const float* freq_factors) {
  check_dims("rope_backward", ld, H, dh, rot_dim);
  const int64_t half = rot_dim / 2;
  for_each_position(pos, T, H, dh, rot_dim, theta, freq_factors, [&](int64_t t, const float* c, const float* s) {
    for (int64_t h = 0; h < H; ++h) {
      const float* g = dout + t * ld + h * dh;
      float* d = dx + t * ld + h * dh;
#pragma omp simd
      for (int64_t i = 0; i < half; ++i) {
        const float g1 = g[i], g2 = g[i + half];
        d[i] += g1 * c[i] + g2 * s[i];
        d[i + half] += g2 * c[i] - g1 * s[i];
      }
#pragma omp simd
      for (int64_t i = rot_dim; i < dh; ++i) d[i] += g[i];
    }
  });
}

}  // namespace glassbox::kernels
