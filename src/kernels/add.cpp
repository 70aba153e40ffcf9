// Residual-stream addition.
#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {

// Element-wise, so out may alias a or b (each element is read before written).
void add_forward(float* out, const float* a, const float* b, int64_t n) {
#pragma omp parallel for simd if (n >= 4 * detail::kParallelMin) schedule(static)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

}  // namespace glassbox::kernels
