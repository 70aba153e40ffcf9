#include "train/optimizer.h"

#include <cmath>

namespace glassbox::detail {

bool decays(const Param& p) {
  const std::string leaf = p.name.substr(p.name.rfind('.') + 1);
  return p.value.shape.size() >= 2 && leaf.rfind("b_", 0) != 0;
}

void adamw_step(std::vector<Param>& params, OptimizerState& st, const OptimizerConfig& o, float lr) {
  ++st.step;
  // Bias corrections of Kingma & Ba; decoupled weight decay of Loshchilov & Hutter.
  const double bc1 = 1.0 - std::pow(double(o.beta1), st.step), bc2 = 1.0 - std::pow(double(o.beta2), st.step);
  for (Param& p : params) {
    const int64_t n = p.value.numel();
    auto& m = st.m[p.name];
    auto& v = st.v[p.name];
    if (m.empty()) m.assign(static_cast<size_t>(n), 0.f), v.assign(static_cast<size_t>(n), 0.f);
    float* x = p.value.f32();
    const float* g = p.grad.f32();
    const float wd = decays(p) ? o.weight_decay : 0.f;
    const float a = float(lr / bc1), sb2 = float(1.0 / std::sqrt(bc2));
#pragma omp parallel for if (n > 65536)
    for (int64_t i = 0; i < n; ++i) {
      m[size_t(i)] = o.beta1 * m[size_t(i)] + (1 - o.beta1) * g[i];
      v[size_t(i)] = o.beta2 * v[size_t(i)] + (1 - o.beta2) * g[i] * g[i];
      x[i] -= lr * wd * x[i];
      x[i] -= a * m[size_t(i)] / (std::sqrt(v[size_t(i)]) * sb2 + o.eps);
    }
  }
}

void sgd_step(std::vector<Param>& params, OptimizerState& st, const OptimizerConfig& o, float lr) {
  ++st.step;
  for (Param& p : params) {
    const int64_t n = p.value.numel();
    auto& buf = st.m[p.name];
    if (buf.empty()) buf.assign(static_cast<size_t>(n), 0.f);
    float* x = p.value.f32();
    const float* g = p.grad.f32();
    const float wd = decays(p) ? o.weight_decay : 0.f;
    for (int64_t i = 0; i < n; ++i) {
      const float gi = g[i] + wd * x[i];
      buf[size_t(i)] = o.momentum * buf[size_t(i)] + gi;
      // PyTorch's Nesterov form: step along g + momentum * buf.
      x[i] -= lr * (o.nesterov ? gi + o.momentum * buf[size_t(i)] : buf[size_t(i)]);
    }
  }
}

double clip_grad_norm(std::vector<Param>& params, float max_norm) {
  double ss = 0;
  for (const Param& p : params) {
    const float* g = p.grad.f32();
    for (int64_t i = 0; i < p.grad.numel(); ++i) ss += double(g[i]) * g[i];
  }
  const double norm = std::sqrt(ss);
  if (max_norm > 0 && norm > max_norm) {
    const float s = float(max_norm / (norm + 1e-6));
    for (Param& p : params) {
      float* g = p.grad.f32();
      for (int64_t i = 0; i < p.grad.numel(); ++i) g[i] *= s;
    }
  }
  return norm;
}

}  // namespace glassbox::detail
