// The backward pass: one reverse sweep over the block pairs of engine/pass.h,
// reading the activations the forward kept (ForwardOptions::for_backward). It
// yields gradients w.r.t. every hook site (fired to grad hooks) and,
// optionally, w.r.t. the weights — the same pass trains organisms, SAEs and
// probes and powers attribution patching.
#include <cstring>

#include "engine/pass.h"
#include "engine/positions.h"
#include "glassbox/error.h"

namespace glassbox {

namespace detail {

float* zeros(std::vector<float>& buf, int64_t n) {
  buf.assign(static_cast<size_t>(n), 0.f);
  return buf.data();
}

const float* BackwardPass::act(Site s, int l) const {
  const Tensor* t = fwd.find({s, l});
  if (!t) fail("backward: activation '", HookPoint{s, l}.name(), "' was not kept; run forward with for_backward");
  return t->f32();
}

void BackwardPass::grad(Site s, int l, float* g) const {
  if (!wants_grad(s, l)) return;
  TensorView v{g, site_shape(s, c, B, T, T)};
  hooks->fire_grad({s, l}, v);
}

}  // namespace detail

void Engine::backward(const Batch& batch, const ForwardResult& fwd, const float* dlogits, const HookRegistry* hooks,
                      const Weights* G, float* d_start_resid) {
  const Config& c = model_.config();
  const int64_t B = batch.B, T = batch.T, N = B * T, V = c.d_vocab;
  // Logits of every position, or of the last only (LogitsMode::Last: a metric
  // read at the end needs no T x V unembedding gradient).
  const bool last_only = fwd.logits.shape == Shape{B, 1, V} && T > 1;
  if (fwd.logits.shape != Shape{B, T, V} && !last_only)
    fail("backward: logits of the forward pass do not match the batch");
  detail::BackwardPass p(c, model_.weights(), hooks, fwd, G, B, T);
  std::vector<uint8_t> key_valid;
  detail::compute_positions(batch, nullptr, p.pos, key_valid);

  const int start = fwd.start_at_layer;
  float* dx = detail::zeros(p.d_resid, N * c.d_model);
  detail::unembed_backward(p, dlogits, last_only, dx);
  for (int l = c.n_layers - 1; l >= start; --l) {
    p.grad(Site::resid_post, l, dx);
    detail::block_backward(p, l, dx);  // dx: d resid_post(l) -> d resid_pre(l)
  }
  if (start == c.n_layers) p.grad(Site::resid_post, start - 1, dx);  // the start residual's site
  if (d_start_resid) std::memcpy(d_start_resid, dx, size_t(N * c.d_model) * sizeof(float));
  if (!fwd.from_resid) detail::embed_backward(p, batch.tokens.data(), dx);
}

}  // namespace glassbox
