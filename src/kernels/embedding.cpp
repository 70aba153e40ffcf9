// Token (or learned positional) embedding lookup and its scatter-add backward.
#include <algorithm>
#include <cstring>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {

void embedding_forward(float* out, const int32_t* ids, const float* W, int64_t T, int64_t C,
                       bool accumulate) {
#pragma omp parallel for if (T * C >= detail::kParallelMin) schedule(static)
  for (int64_t t = 0; t < T; ++t) {
    const float* w = W + static_cast<int64_t>(ids[t]) * C;
    float* o = out + t * C;
    if (accumulate) {
#pragma omp simd
      for (int64_t c = 0; c < C; ++c) o[c] += w[c];
    } else {
      std::memcpy(o, w, static_cast<size_t>(C) * sizeof(float));
    }
  }
}

void embedding_backward(float* dW, const float* dout, const int32_t* ids, int64_t T, int64_t C) {
  // Repeated ids make rows of dW collide, so threads split columns, not
  // tokens: no atomics, and the order of the += over t stays fixed.
  constexpr int64_t kBlock = 512;
  const int64_t blocks = (C + kBlock - 1) / kBlock;
#pragma omp parallel for if (T * C >= detail::kParallelMin) schedule(static)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kBlock, len = std::min(C, c0 + kBlock) - c0;
    for (int64_t t = 0; t < T; ++t) {
      float* d = dW + static_cast<int64_t>(ids[t]) * C + c0;
      const float* g = dout + t * C + c0;
#pragma omp simd
      for (int64_t c = 0; c < len; ++c) d[c] += g[c];
    }
  }
}

}  // namespace glassbox::kernels
