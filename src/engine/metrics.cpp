#include "glassbox/metrics.h"

#include <cmath>

#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox {

std::vector<int32_t> next_token_targets(const Batch& b) {
  std::vector<int32_t> t(static_cast<size_t>(b.B * b.T), -1);
  for (int64_t i = 0; i < b.B; ++i)
    for (int64_t j = 0; j + 1 < b.T; ++j)
      if (b.valid(i, j) && b.valid(i, j + 1)) t[size_t(i * b.T + j)] = b.tokens[size_t(i * b.T + j + 1)];
  return t;
}

static void check_logits(const Tensor& logits, int64_t N) {
  if (logits.shape.size() != 3 || logits.shape[0] * logits.shape[1] != N)
    fail("metric: logits ", shape_str(logits.shape), " do not match the batch");
}

double next_token_loss(const Tensor& logits, const Batch& b, Tensor* dlogits) {
  const int64_t N = b.B * b.T, V = logits.shape.back();
  check_logits(logits, N);
  const auto targets = next_token_targets(b);
  const double loss = kernels::cross_entropy_forward(nullptr, logits.f32(), targets.data(), N, V);
  if (dlogits) {
    *dlogits = Tensor::zeros(logits.shape);
    int64_t count = 0;
    for (int32_t t : targets) count += t >= 0;
    if (count) {
      std::vector<float> scale(static_cast<size_t>(N), 1.0f / float(count));
      kernels::cross_entropy_backward(dlogits->f32(), logits.f32(), targets.data(), scale.data(), N, V);
    }
  }
  return loss;
}

double logit_diff(const Tensor& logits, int64_t pos, int32_t a, int32_t c, Tensor* dlogits) {
  const int64_t B = logits.shape[0], T = logits.shape[1], V = logits.shape[2];
  const int64_t t = pos < 0 ? T + pos : pos;
  if (t < 0 || t >= T) fail("logit_diff: position ", pos, " out of range for ", T, " tokens");
  if (a < 0 || a >= V || c < 0 || c >= V) fail("logit_diff: token ids must be in [0, ", V, ")");
  if (dlogits) *dlogits = Tensor::zeros(logits.shape);
  double s = 0;
  for (int64_t i = 0; i < B; ++i) {
    const float* row = logits.f32() + (i * T + t) * V;
    s += double(row[a]) - row[c];
    if (dlogits) {
      float* g = dlogits->f32() + (i * T + t) * V;
      g[a] += 1.0f / float(B);
      g[c] -= 1.0f / float(B);
    }
  }
  return s / double(B);
}

double kl_divergence(const Tensor& logits, const Tensor& ref, const Batch& b, Tensor* dlogits) {
  const int64_t N = b.B * b.T, V = logits.shape.back();
  check_logits(logits, N);
  if (ref.shape != logits.shape) fail("kl_divergence: reference logits ", shape_str(ref.shape), " differ from ", shape_str(logits.shape));
  if (dlogits) *dlogits = Tensor::zeros(logits.shape);
  int64_t count = 0;
  for (int64_t n = 0; n < N; ++n) count += b.valid(n / b.T, n % b.T);
  double total = 0;
  std::vector<double> p(static_cast<size_t>(V)), q(static_cast<size_t>(V));
  for (int64_t n = 0; n < N; ++n) {
    if (!b.valid(n / b.T, n % b.T)) continue;
    const float* x = logits.f32() + n * V;
    const float* r = ref.f32() + n * V;
    // log-softmax of both rows in double
    kernels::log_softmax_f64(q.data(), x, V);
    kernels::log_softmax_f64(p.data(), r, V);
    for (int64_t j = 0; j < V; ++j) total += std::exp(p[size_t(j)]) * (p[size_t(j)] - q[size_t(j)]);
    if (dlogits) {
      // d/dx KL(p || softmax(x)) = softmax(x) - p
      float* g = dlogits->f32() + n * V;
      for (int64_t j = 0; j < V; ++j) g[j] = float((std::exp(q[size_t(j)]) - std::exp(p[size_t(j)])) / double(count));
    }
  }
  return count ? total / double(count) : 0.0;
}

}  // namespace glassbox
