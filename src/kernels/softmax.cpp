// Row softmax for attention patterns.
#include <algorithm>
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {

void softmax_forward(float* out, const float* in, int64_t rows, int64_t cols) {
#pragma omp parallel for if (rows * cols >= detail::kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = in + r * cols;
    float* o = out + r * cols;
    float m = -INFINITY;
#pragma omp simd reduction(max : m)
    for (int64_t c = 0; c < cols; ++c) m = x[c] > m ? x[c] : m;
    if (m == -INFINITY) {
      // Every key masked (e.g. a padded query): exp(-inf - -inf) would be
      // NaN; TransformerLens shows such a pattern row as zeros.
      for (int64_t c = 0; c < cols; ++c) o[c] = 0.0f;
      continue;
    }
    // Subtracting the max keeps every exp <= 1 with one term exactly 1, so
    // the sum neither overflows nor underflows to 0/0. It is accumulated in
    // double: over Tk = 4k+ keys a float sum drifts by tens of ulps.
    double s = 0.0;
#pragma omp simd reduction(+ : s)
    for (int64_t c = 0; c < cols; ++c) {
      const float e = detail::exp_f(x[c] - m);
      o[c] = e;
      s += e;
    }
    // A max reduction may start from -FLT_MAX instead of -inf (clang's OpenMP
    // does), so an all-masked row can get past the check above; its exps are
    // then all 0, and it is zeros as well.
    const float inv = s > 0.0 ? static_cast<float>(1.0 / s) : 0.0f;
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) o[c] *= inv;
  }
}

// din = out * (dout - <dout, out>): the softmax Jacobian is diag(p) - p p^T.
void softmax_backward(float* din, const float* dout, const float* out, int64_t rows,
                      int64_t cols) {
#pragma omp parallel for if (rows * cols >= detail::kParallelMin) schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = dout + r * cols;
    const float* p = out + r * cols;
    float* d = din + r * cols;
    float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
    for (int64_t c = 0; c < cols; ++c) dot += g[c] * p[c];
#pragma omp simd
    for (int64_t c = 0; c < cols; ++c) d[c] += p[c] * (g[c] - dot);
  }
}

double logsumexp_f64(const float* z, int64_t V) {
  double mx = z[0];
  for (int64_t j = 1; j < V; ++j) mx = std::max(mx, double(z[j]));
  double s = 0;
  for (int64_t j = 0; j < V; ++j) s += std::exp(double(z[j]) - mx);
  return mx + std::log(s);
}

void log_softmax_f64(double* out, const float* z, int64_t V) {
  if (V <= 0) return;
  const double lse = logsumexp_f64(z, V);
  for (int64_t j = 0; j < V; ++j) out[j] = double(z[j]) - lse;
}

}  // namespace glassbox::kernels
