// One layer's residual wiring, forward and backward:
//   sequential:     resid_mid = resid_pre + attn(ln1 resid_pre);  resid_post = resid_mid + mlp(ln2 resid_mid)
//   parallel (NeoX): resid_post = resid_pre + attn(ln1 resid_pre) + mlp(ln2 resid_pre)
//   attention-only:  resid_post = resid_pre + attn(ln1 resid_pre)
#include <cstring>

#include "engine/pass.h"
#include "kernels/kernels.h"

namespace glassbox::detail {

namespace k = kernels;

float* block_forward(ForwardPass& p, int l, float* x) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const int64_t n = p.N * c.d_model;
  // The pass's first block already holds its input in its resid_pre slice.
  if (l > p.opt.start_at_layer && p.wanted(Site::resid_pre, l)) {
    float* pre = p.slice(Site::resid_pre, l);
    if (pre != x) std::memcpy(pre, x, size_t(n) * sizeof(float));
    x = pre;
  }
  p.fire(Site::resid_pre, l, x);
  const float* attn_out = attention_forward(p, l, x);
  float* resid_post = nullptr;
  if (c.attn_only) {
    resid_post = p.slice(Site::resid_post, l);
    k::add_forward(resid_post, x, attn_out, n);
  } else if (c.parallel_residual) {
    const float* m_in = norm_forward(p, Site::ln2_scale, Site::ln2_normalized, l, x, lw.ln2_w, lw.ln2_b);
    const float* mlp_out = mlp_forward(p, l, m_in);
    resid_post = p.slice(Site::resid_post, l);
    k::add_forward(resid_post, x, attn_out, n);
    k::add_forward(resid_post, resid_post, mlp_out, n);
  } else {
    float* resid_mid = p.slice(Site::resid_mid, l);
    k::add_forward(resid_mid, x, attn_out, n);
    p.fire(Site::resid_mid, l, resid_mid);
    const float* m_in = norm_forward(p, Site::ln2_scale, Site::ln2_normalized, l, resid_mid, lw.ln2_w, lw.ln2_b);
    const float* mlp_out = mlp_forward(p, l, m_in);
    resid_post = p.slice(Site::resid_post, l);
    k::add_forward(resid_post, resid_mid, mlp_out, n);
  }
  p.fire(Site::resid_post, l, resid_post);
  return resid_post;
}

void block_backward(BackwardPass& p, int l, float* dx) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const LayerWeights* lg = p.G ? &p.G->layers[size_t(l)] : nullptr;
  float* ln2_dw = lg ? mut(lg->ln2_w) : nullptr;
  float* ln2_db = lg ? mut(lg->ln2_b) : nullptr;
  const float* d_attn_out = dx;  // d resid_post: the residual adds attn_out unchanged
  if (c.parallel_residual && !c.attn_only) {
    // attn_out's gradient is d resid_post; the MLP's input gradient joins d resid_pre after attention's.
    p.d_attn_out.assign(dx, dx + p.N * c.d_model);
    d_attn_out = p.d_attn_out.data();
    const float* dm_in = mlp_backward(p, l, dx);
    norm_backward(p, Site::ln2_scale, Site::ln2_normalized, l, dx, dm_in, lw.ln2_w, lw.ln2_b, ln2_dw, ln2_db);
  } else if (!c.attn_only) {
    const float* dm_in = mlp_backward(p, l, dx);
    norm_backward(p, Site::ln2_scale, Site::ln2_normalized, l, dx, dm_in, lw.ln2_w, lw.ln2_b, ln2_dw, ln2_db);
    p.grad(Site::resid_mid, l, dx);  // dx = d resid_mid = d attn_out
  }
  // dx holds d resid_mid (sequential), or d resid_post + the MLP branch (parallel,
  // attention-only): adding attention's input gradient makes it d resid_pre.
  attention_backward(p, l, d_attn_out, dx);
  p.grad(Site::resid_pre, l, dx);
}

}  // namespace glassbox::detail
