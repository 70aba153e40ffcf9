// LayerNorm / RMSNorm split TransformerLens-style into normalisation (hook
// sites `scale`, `normalized`) and the affine part.
#include <algorithm>
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

// Statistics in double: residual streams carry a few huge dimensions (GPT-2's
// massive activations reach ~3000) next to O(1) ones, and a float sum of
// squares over C = 4096 loses several digits of the variance.
double row_mean(const float* x, int64_t C) {
  if (C == 0) return 0.0;
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < C; ++c) s += x[c];
  return s / static_cast<double>(C);
}

// (x - mu) / scale. The subtraction is done in float with mu rounded to
// float: the cancellation error is ulp(mu), negligible unless |mu| exceeds the
// spread of the row by ~1e4, and it keeps the loop 8-wide.
void apply_row(float* out, const float* x, double mu, float scale, int64_t C) {
  const float muf = static_cast<float>(mu);
  const float inv = 1.0f / scale;
#pragma omp simd
  for (int64_t c = 0; c < C; ++c) out[c] = (x[c] - muf) * inv;
}

}  // namespace

void norm_forward(float* normalized, float* scale, const float* x, int64_t N, int64_t C,
                  float eps, bool center) {
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    const double mu = center ? row_mean(xr, C) : 0.0;
    double ss = 0.0;
#pragma omp simd reduction(+ : ss)
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xr[c]) - mu;
      ss += d * d;
    }
    const double var = C > 0 ? ss / static_cast<double>(C) : 0.0;
    const float s = static_cast<float>(std::sqrt(var + static_cast<double>(eps)));
    scale[n] = s;
    // Same routine as norm_apply, so forward == apply(x, forward's scale) bitwise.
    apply_row(normalized + n * C, xr, mu, s, C);
  }
}

void norm_apply(float* normalized, const float* x, const float* scale, int64_t N, int64_t C,
                bool center) {
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* xr = x + n * C;
    apply_row(normalized + n * C, xr, center ? row_mean(xr, C) : 0.0, scale[n], C);
  }
}

// y = (x - mu)/s with s^2 = mean((x-mu)^2) + eps gives ds/dx_k = y_k / C, so
// dx = (dy - mean(dy) - y * mean(dy*y)) / s  (the mean(dy) term only when centred).
// eps needs no special case: it is already inside s, and y is divided by that s.
void norm_backward(float* dx, const float* dnormalized, const float* normalized,
                   const float* scale, int64_t N, int64_t C, bool center) {
  if (C == 0) return;
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* dy = dnormalized + n * C;
    const float* y = normalized + n * C;
    float* d = dx + n * C;
    double sdy = 0.0, sdyy = 0.0;
#pragma omp simd reduction(+ : sdy, sdyy)
    for (int64_t c = 0; c < C; ++c) {
      sdy += dy[c];
      sdyy += static_cast<double>(dy[c]) * y[c];
    }
    const float mdy = center ? static_cast<float>(sdy / static_cast<double>(C)) : 0.0f;
    const float mdyy = static_cast<float>(sdyy / static_cast<double>(C));
    const float inv = 1.0f / scale[n];
#pragma omp simd
    for (int64_t c = 0; c < C; ++c) d[c] += (dy[c] - mdy - y[c] * mdyy) * inv;
  }
}

void affine_forward(float* out, const float* normalized, const float* w, const float* b,
                    int64_t N, int64_t C) {
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    const float* x = normalized + n * C;
    float* o = out + n * C;
    if (w && b) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = x[c] * w[c] + b[c];
    } else if (w) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = x[c] * w[c];
    } else if (b) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = x[c] + b[c];
    } else if (o != x) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] = x[c];
    }
  }
}

void affine_backward(float* dnormalized, float* dw, float* db, const float* dout,
                     const float* normalized, const float* w, int64_t N, int64_t C) {
  if (dnormalized) {
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const float* g = dout + n * C;
      float* d = dnormalized + n * C;
      if (w) {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) d[c] += g[c] * w[c];
      } else {
#pragma omp simd
        for (int64_t c = 0; c < C; ++c) d[c] += g[c];
      }
    }
  }
  if (!dw && !db) return;
  // Column blocks: each thread owns its slice of dw/db, so no reduction
  // buffers and a fixed summation order over rows.
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * C >= detail::kParallelMin) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, len = std::min(C, c0 + kBlock) - c0;
    float aw[kBlock] = {}, ab[kBlock] = {};
    for (int64_t n = 0; n < N; ++n) {
      const float* g = dout + n * C + c0;
      const float* x = normalized + n * C + c0;
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) {
        aw[c] += g[c] * x[c];
        ab[c] += g[c];
      }
    }
    if (dw)
      for (int64_t c = 0; c < len; ++c) dw[c0 + c] += aw[c];
    if (db)
      for (int64_t c = 0; c < len; ++c) db[c0 + c] += ab[c];
  }
}

}  // namespace glassbox::kernels
