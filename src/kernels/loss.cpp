// Next-token cross-entropy over the vocabulary.
#include <cmath>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

void check_targets(const char* op, const int32_t* targets, int64_t N, int64_t V) {
  for (int64_t t = 0; t < N; ++t)
    if (targets[t] >= V) fail(op, ": targets[", t, "] = ", targets[t], " is outside vocab of ", V);
}

struct RowStats {
  float max;
  double sum;  // sum_c exp(logit_c - max)
};

// The log-sum-exp sum runs over V ~ 50k-150k terms, so it is accumulated in
// double; the exps themselves are float (each is <= 1, relative error 1 ulp).
RowStats row_stats(const float* x, int64_t V) {
  float m = -INFINITY;
#pragma omp simd reduction(max : m)
  for (int64_t c = 0; c < V; ++c) m = x[c] > m ? x[c] : m;
  double s = 0.0;
#pragma omp simd reduction(+ : s)
  for (int64_t c = 0; c < V; ++c) s += detail::exp_f(x[c] - m);
  return {m, s};
}

}  // namespace

double cross_entropy_forward(float* losses, const float* logits, const int32_t* targets,
                             int64_t N, int64_t V) {
  check_targets("cross_entropy_forward", targets, N, V);
  double total = 0.0;
  int64_t count = 0;
#pragma omp parallel for reduction(+ : total, count) if (N * V >= detail::kParallelMin) schedule(static)
  for (int64_t t = 0; t < N; ++t) {
    double l = 0.0;
    if (targets[t] >= 0) {
      const float* x = logits + t * V;
      const RowStats st = row_stats(x, V);
      l = static_cast<double>(st.max) + std::log(st.sum) - static_cast<double>(x[targets[t]]);
      total += l;
      ++count;
    }
    if (losses) losses[t] = static_cast<float>(l);
  }
  // No scored rows: 0 rather than PyTorch's 0/0 = NaN, so a batch of pure
  // padding does not poison a running sum of losses.
  return count > 0 ? total / static_cast<double>(count) : 0.0;
}

void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                            const float* dloss, int64_t N, int64_t V) {
  check_targets("cross_entropy_backward", targets, N, V);
#pragma omp parallel for if (N * V >= detail::kParallelMin) schedule(static)
  for (int64_t t = 0; t < N; ++t) {
    if (targets[t] < 0) continue;
    const float* x = logits + t * V;
    float* d = dlogits + t * V;
    const RowStats st = row_stats(x, V);
    const float g = dloss ? dloss[t] : 1.0f;
    const float scale = static_cast<float>(static_cast<double>(g) / st.sum);
#pragma omp simd
    for (int64_t c = 0; c < V; ++c) d[c] += detail::exp_f(x[c] - st.max) * scale;
    d[targets[t]] -= g;
  }
}

}  // namespace glassbox::kernels
