// A norm block: x -> ln*.hook_scale, ln*.hook_normalized -> affine(w, b).
// Without normalisation (NormKind::None) the block is the identity.
#include <cstring>

#include "engine/pass.h"
#include "kernels/kernels.h"

namespace glassbox::detail {

namespace k = kernels;

const float* norm_forward(ForwardPass& p, Site scale_site, Site norm_site, int l, const float* x, const float* wgt,
                          const float* bias) {
  const Config& c = p.c;
  if (c.norm == NormKind::None) return x;
  const bool center = c.norm == NormKind::LayerNorm;
  float* normalized = p.slice(norm_site, l);
  float* scale = p.slice(scale_site, l);
  k::norm_forward(normalized, scale, x, p.N, c.d_model, c.norm_eps, center);
  p.fire(scale_site, l, scale);
  // TransformerLens divides by the (possibly replaced) scale after hook_scale.
  if (p.hooks && p.hooks->has_replace({scale_site, l})) k::norm_apply(normalized, x, scale, p.N, c.d_model, center);
  p.fire(norm_site, l, normalized);
  if (!wgt && !bias) return normalized;
  p.ln_out.resize(size_t(p.N * c.d_model));
  k::affine_forward(p.ln_out.data(), normalized, wgt, bias, p.N, c.d_model);
  return p.ln_out.data();
}

void norm_backward(BackwardPass& p, Site scale_site, Site norm_site, int l, float* dx, const float* dout,
                   const float* w, const float* b, float* dw, float* db) {
  const Config& c = p.c;
  const int64_t N = p.N, d = c.d_model;
  if (c.norm == NormKind::None) {
    k::add_forward(dx, dx, dout, N * d);
    return;
  }
  const float* normalized = p.act(norm_site, l);
  const float* scale = p.act(scale_site, l);
  float* dnorm = zeros(p.d_normalized, N * d);
  if (w || b) k::affine_backward(dnorm, dw, db, dout, normalized, w, N, d);
  else std::memcpy(dnorm, dout, size_t(N * d) * sizeof(float));
  p.grad(norm_site, l, dnorm);
  if (p.wants_grad(scale_site, l)) {
    // d/dscale of normalized = (x - mu) / scale is -normalized / scale.
    p.d_scale.resize(size_t(N));
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += double(dnorm[n * d + j]) * normalized[n * d + j];
      p.d_scale[size_t(n)] = float(-s / scale[n]);
    }
    p.grad(scale_site, l, p.d_scale.data());
  }
  k::norm_backward(dx, dnorm, normalized, scale, N, d, c.norm == NormKind::LayerNorm);
}

const float* norm_output(BackwardPass& p, Site norm_site, int norm_layer, Site resid_site, int resid_layer,
                         const float* w, const float* b) {
  if (p.c.norm == NormKind::None) return p.act(resid_site, resid_layer);
  const float* normalized = p.act(norm_site, norm_layer);
  if (!w && !b) return normalized;
  p.ln_out.resize(size_t(p.N * p.c.d_model));
  k::affine_forward(p.ln_out.data(), normalized, w, b, p.N, p.c.d_model);
  return p.ln_out.data();
}

}  // namespace glassbox::detail

namespace glassbox::detail {

void post_norm_forward(ForwardPass& p, Site scale_site, Site norm_site, int l, float* x, const float* w) {
  // norm_forward reads x whole into the normalized slice before writing its output elsewhere: x may take it back.
  const float* out = norm_forward(p, scale_site, norm_site, l, x, w, nullptr);
  std::memcpy(x, out, size_t(p.N * p.c.d_model) * sizeof(float));
}

const float* post_norm_backward(BackwardPass& p, Site scale_site, Site norm_site, int l, const float* dout,
                                const float* w, const float* dw) {
  float* d_in = zeros(p.d_post_in, p.N * p.c.d_model);
  norm_backward(p, scale_site, norm_site, l, d_in, dout, w, nullptr, mut(dw), nullptr);
  return d_in;
}

}  // namespace glassbox::detail
