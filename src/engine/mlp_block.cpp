// The MLP block, forward and backward:
//   normed input -> mlp.hook_pre (gated: and mlp.hook_pre_linear) -> mlp.hook_post -> hook_mlp_out.
// Gated MLPs (SwiGLU): hook_pre is the gate projection, hook_pre_linear the up projection.
#include "engine/pass.h"
#include "kernels/kernels.h"

namespace glassbox::detail {

namespace k = kernels;

float* mlp_forward(ForwardPass& p, int l, const float* m_in) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const int64_t N = p.N, d = c.d_model, dm = c.d_mlp;
  float* pre = p.slice(Site::mlp_pre, l);
  float* pre_linear = nullptr;
  if (c.gated_mlp) {
    k::matmul_forward(pre, dm, m_in, d, lw.W_gate, lw.b_gate, 1, N);
    p.fire(Site::mlp_pre, l, pre);
    pre_linear = p.slice(Site::mlp_pre_linear, l);
    k::matmul_forward(pre_linear, dm, m_in, d, lw.W_in, lw.b_in, 1, N);
    p.fire(Site::mlp_pre_linear, l, pre_linear);
  } else {
    k::matmul_forward(pre, dm, m_in, d, lw.W_in, lw.b_in, 1, N);
    p.fire(Site::mlp_pre, l, pre);
  }
  float* post = p.slice(Site::mlp_post, l);
  k::act_forward(post, pre, pre_linear, N * dm, c.act);
  p.fire(Site::mlp_post, l, post);
  float* mlp_out = p.slice(Site::mlp_out, l);
  k::matmul_forward(mlp_out, d, post, dm, lw.W_out, lw.b_out, 1, N);
  if (c.post_norms) post_norm_forward(p, Site::ln2_post_scale, Site::ln2_post_normalized, l, mlp_out, lw.ln2_post_w);
  p.fire(Site::mlp_out, l, mlp_out);
  return mlp_out;
}

const float* mlp_backward(BackwardPass& p, int l, const float* d_mlp_out) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const LayerWeights* lg = p.G ? &p.G->layers[size_t(l)] : nullptr;
  const int64_t N = p.N, d = c.d_model, dm = c.d_mlp;
  p.grad(Site::mlp_out, l, mut(d_mlp_out));
  if (c.post_norms)  // what follows is the gradient of the post-norm's input, W_out's output
    d_mlp_out = post_norm_backward(p, Site::ln2_post_scale, Site::ln2_post_normalized, l, d_mlp_out, lw.ln2_post_w,
                                   lg ? lg->ln2_post_w : nullptr);
  const float* post = p.act(Site::mlp_post, l);
  float* d_post = zeros(p.d_post, N * dm);
  k::matmul_backward(d_post, dm, lg ? mut(lg->W_out) : MutMatRef{}, lg ? mut(lg->b_out) : nullptr, 1, d_mlp_out, d,
                     post, dm, lw.W_out, N);
  p.grad(Site::mlp_post, l, d_post);
  const float* pre = p.act(Site::mlp_pre, l);
  const float* pre_linear = c.gated_mlp ? p.act(Site::mlp_pre_linear, l) : nullptr;
  float* d_pre = zeros(p.d_pre, N * dm);
  float* d_pre_linear = c.gated_mlp ? zeros(p.d_pre_linear, N * dm) : nullptr;
  k::act_backward(d_pre, d_pre_linear, d_post, pre, pre_linear, N * dm, c.act);
  p.grad(Site::mlp_pre, l, d_pre);
  if (c.gated_mlp) p.grad(Site::mlp_pre_linear, l, d_pre_linear);
  // The MLP reads ln2 of resid_mid, or of resid_pre beside attention (parallel residual).
  const Site resid = c.parallel_residual ? Site::resid_pre : Site::resid_mid;
  const float* m_in = norm_output(p, Site::ln2_normalized, l, resid, l, lw.ln2_w, lw.ln2_b);
  const MatRef W_pre = c.gated_mlp ? lw.W_gate : lw.W_in;
  const MatRef dW_pre = !lg ? MatRef{} : c.gated_mlp ? lg->W_gate : lg->W_in;
  const float* db_pre = !lg ? nullptr : c.gated_mlp ? lg->b_gate : lg->b_in;
  float* dm_in = zeros(p.d_norm_out, N * d);
  k::matmul_backward(dm_in, d, lg ? mut(dW_pre) : MutMatRef{}, lg ? mut(db_pre) : nullptr, 1, d_pre, dm, m_in, d,
                     W_pre, N);
  if (c.gated_mlp)
    k::matmul_backward(dm_in, d, lg ? mut(lg->W_in) : MutMatRef{}, lg ? mut(lg->b_in) : nullptr, 1, d_pre_linear, dm,
                       m_in, d, lw.W_in, N);
  return dm_in;
}

}  // namespace glassbox::detail
