// Soft-capping, Gemma-2's bound on attention scores and logits: c * tanh(x / c).
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {

void softcap_forward(float* x, int64_t n, float c) {
  if (!(c > 0)) fail("softcap_forward: the cap must be positive, got ", c);
  const float inv = 1.0f / c;
#pragma omp parallel for if (n >= detail::kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) x[i] = c * std::tanh(x[i] * inv);
}

void softcap_backward(float* dx, const float* y, int64_t n, float c) {
  if (!(c > 0)) fail("softcap_backward: the cap must be positive, got ", c);
  const float inv = 1.0f / c;
#pragma omp parallel for if (n >= detail::kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) {
    const float t = y[i] * inv;  // tanh(x / c)
    dx[i] = std::isinf(y[i]) ? 0.0f : dx[i] * (1.0f - t * t);
  }
}

}  // namespace glassbox::kernels
