// The backward pass: one reverse sweep over the layers using the activations
// the forward kept (ForwardOptions::for_backward). It yields gradients w.r.t.
// every hook site (fired to grad hooks) and, optionally, w.r.t. the weights —
// the same pass trains organisms, SAEs and probes and powers attribution patching.
#include <algorithm>
#include <cstring>
#include <map>

#include "engine/positions.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox {

namespace k = kernels;

namespace {

MutMatRef mut(const MatRef& m) { return {const_cast<float*>(m.data), m.rows, m.cols, m.rs, m.cs}; }
float* mut(const float* p) { return const_cast<float*>(p); }

struct BackPass {
  const Config& c;
  const HookRegistry* hooks;
  std::map<std::pair<int, int>, const Tensor*> kept;
  int64_t B, T, N;

  const float* act(Site s, int l) const {
    auto it = kept.find({int(s), l});
    if (it == kept.end())
      fail("backward: activation '", HookPoint{s, l}.name(), "' was not kept; run forward with for_backward");
    return it->second->f32();
  }
  void grad(Site s, int l, float* g) const {
    if (!hooks || !hooks->has_grad({s, l})) return;
    TensorView v{g, site_shape(s, c, B, T, T)};
    hooks->fire_grad({s, l}, v);
  }
};

// Zeroed scratch, reused.
float* zeros(std::vector<float>& buf, int64_t n) {
  buf.assign(static_cast<size_t>(n), 0.f);
  return buf.data();
}

// dx += backward of  x -> normalized (site) -> affine(w, b) -> out, given dout.
// Fires grad hooks on the normalized and scale sites. Without normalisation dx += dout.
void norm_block_backward(const BackPass& p, Site scale_site, Site norm_site, int l, float* dx, const float* dout,
                         const float* w, const float* b, float* dw, float* db, std::vector<float>& scratch) {
  const Config& c = p.c;
  const int64_t N = p.N, d = c.d_model;
  if (c.norm == NormKind::None) {
    k::add_forward(dx, dx, dout, N * d);
    return;
  }
  const float* normalized = p.act(norm_site, l);
  const float* scale = p.act(scale_site, l);
  float* dnorm = zeros(scratch, N * d);
  if (w || b) k::affine_backward(dnorm, dw, db, dout, normalized, w, N, d);
  else std::memcpy(dnorm, dout, size_t(N * d) * sizeof(float));
  p.grad(norm_site, l, dnorm);
  if (p.hooks && p.hooks->has_grad({scale_site, l})) {
    // d/dscale of normalized = (x - mu) / scale is -normalized / scale.
    std::vector<float> dscale(static_cast<size_t>(N));
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += double(dnorm[n * d + j]) * normalized[n * d + j];
      dscale[size_t(n)] = float(-s / scale[n]);
    }
    p.grad(scale_site, l, dscale.data());
  }
  k::norm_backward(dx, dnorm, normalized, scale, N, d, c.norm == NormKind::LayerNorm);
}

// Recomputes affine(normalized) (the input of a projection) into out.
// norm_layer is -1 for ln_final, whose input is the last layer's resid_post.
const float* norm_output(const BackPass& p, Site norm_site, int norm_layer, Site resid_site, int resid_layer,
                         const float* w, const float* b, std::vector<float>& out) {
  if (p.c.norm == NormKind::None) return p.act(resid_site, resid_layer);
  const float* normalized = p.act(norm_site, norm_layer);
  if (!w && !b) return normalized;
  out.resize(size_t(p.N * p.c.d_model));
  k::affine_forward(out.data(), normalized, w, b, p.N, p.c.d_model);
  return out.data();
}

// d_in += dout . W^T per head (or fused); dW += in^T . dout.
void project_heads_backward(float* d_in, const float* dout, const float* in, int64_t N, const HeadProj& P,
                            const HeadProj* G) {
  const int64_t ld = int64_t(P.n_heads) * P.d_head;
  if (P.fused() && P.bias_fused() && (!G || (G->fused() && G->bias_fused()))) {
    k::matmul_backward(d_in, P.d_model, G ? mut(G->all()) : MutMatRef{}, G ? mut(G->b) : nullptr, 1, dout, ld, in,
                       P.d_model, P.all(), N);
    return;
  }
  for (int h = 0; h < P.n_heads; ++h)
    k::matmul_backward(d_in, P.d_model, G ? mut(G->head(h)) : MutMatRef{},
                       G && G->b ? mut(G->b + h * G->b_head_stride) : nullptr, 1, dout + h * P.d_head, ld, in,
                       P.d_model, P.head(h), N);
}

}  // namespace

void Engine::backward(const Batch& batch, const ForwardResult& fwd, const float* dlogits, const HookRegistry* hooks,
                      const Weights* G) {
  const Model& m = model_;
  const Config& c = m.config();
  const Weights& w = m.weights();
  const int64_t B = batch.B, T = batch.T, N = B * T, d = c.d_model, V = c.d_vocab;
  const int64_t H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head, dm = c.d_mlp;
  // Logits of every position, or of the last only (LogitsMode::Last: a metric
  // read at the end needs no T x V unembedding gradient).
  const bool last_only = fwd.logits.shape == Shape{B, 1, V} && T > 1;
  if (fwd.logits.shape != Shape{B, T, V} && !last_only)
    fail("backward: logits of the forward pass do not match the batch");
  BackPass p{c, hooks, {}, B, T, N};
  for (const auto& [pt, t] : fwd.kept) p.kept[{int(pt.site), pt.layer}] = &t;
  std::vector<int32_t> pos;
  std::vector<uint8_t> key_valid;
  detail::compute_positions(batch, nullptr, pos, key_valid);

  std::vector<float> dx_buf, s1, s2, s3, s4, s5, s6, ln_out;
  float* dx = zeros(dx_buf, N * d);

  // ---- unembed: logits = affine(ln_final(x)) . W_U + b_U
  {
    // ln_final reads the last resid_post; in a model of no layers (a tuned lens's head), the embeddings' sum.
    const bool no_layers = c.n_layers == 0;
    const float* xf = norm_output(p, Site::ln_final_normalized, -1, no_layers ? Site::resid_pre : Site::resid_post,
                                  no_layers ? 0 : c.n_layers - 1, w.ln_final_w, w.ln_final_b, ln_out);
    float* dxf = zeros(s1, N * d);
    if (last_only) {  // the B last rows, gathered, then scattered back
      std::vector<float> x_last(static_cast<size_t>(B * d)), dx_last(static_cast<size_t>(B * d), 0.f);
      for (int64_t b = 0; b < B; ++b)
        std::copy_n(xf + (b * T + T - 1) * d, d, x_last.data() + b * d);
      k::matmul_backward(dx_last.data(), d, G ? mut(G->W_U) : MutMatRef{}, G ? mut(G->b_U) : nullptr, 1, dlogits, V,
                         x_last.data(), d, w.W_U, B);
      for (int64_t b = 0; b < B; ++b) std::copy_n(dx_last.data() + b * d, d, dxf + (b * T + T - 1) * d);
    } else {
      k::matmul_backward(dxf, d, G ? mut(G->W_U) : MutMatRef{}, G ? mut(G->b_U) : nullptr, 1, dlogits, V, xf, d,
                         w.W_U, N);
    }
    norm_block_backward(p, Site::ln_final_scale, Site::ln_final_normalized, -1, dx, dxf, w.ln_final_w, w.ln_final_b,
                        G ? mut(G->ln_final_w) : nullptr, G ? mut(G->ln_final_b) : nullptr, s2);
  }

  for (int l = c.n_layers - 1; l >= 0; --l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    const LayerWeights* lg = G ? &G->layers[size_t(l)] : nullptr;
    p.grad(Site::resid_post, l, dx);
    // dx = d resid_post. Attention's output gradient ends up in d_attn_out.
    std::vector<float> d_attn_out_buf;
    float* d_attn_out = dx;
    if (!c.attn_only) {
      // ---- MLP backward: mlp_out = act(pre) [* pre_linear] . W_out + b_out
      float* d_mlp_out = dx;  // resid_post = (resid_mid | resid_pre + attn_out) + mlp_out
      p.grad(Site::mlp_out, l, d_mlp_out);
      const float* post = p.act(Site::mlp_post, l);
      float* d_post = zeros(s1, N * dm);
      k::matmul_backward(d_post, dm, lg ? mut(lg->W_out) : MutMatRef{}, lg ? mut(lg->b_out) : nullptr, 1, d_mlp_out,
                         d, post, dm, lw.W_out, N);
      p.grad(Site::mlp_post, l, d_post);
      const float* pre = p.act(Site::mlp_pre, l);
      const float* pre_linear = c.gated_mlp ? p.act(Site::mlp_pre_linear, l) : nullptr;
      float* d_pre = zeros(s2, N * dm);
      float* d_pre_linear = c.gated_mlp ? zeros(s3, N * dm) : nullptr;
      k::act_backward(d_pre, d_pre_linear, d_post, pre, pre_linear, N * dm, c.act);
      p.grad(Site::mlp_pre, l, d_pre);
      if (c.gated_mlp) p.grad(Site::mlp_pre_linear, l, d_pre_linear);
      const Site mlp_resid = c.parallel_residual ? Site::resid_pre : Site::resid_mid;
      const float* m_in = norm_output(p, Site::ln2_normalized, l, mlp_resid, l, lw.ln2_w, lw.ln2_b, ln_out);
      float* d_m_in = zeros(s4, N * d);
      if (c.gated_mlp) {
        k::matmul_backward(d_m_in, d, lg ? mut(lg->W_gate) : MutMatRef{}, lg ? mut(lg->b_gate) : nullptr, 1, d_pre, dm,
                           m_in, d, lw.W_gate, N);
        k::matmul_backward(d_m_in, d, lg ? mut(lg->W_in) : MutMatRef{}, lg ? mut(lg->b_in) : nullptr, 1, d_pre_linear,
                           dm, m_in, d, lw.W_in, N);
      } else {
        k::matmul_backward(d_m_in, d, lg ? mut(lg->W_in) : MutMatRef{}, lg ? mut(lg->b_in) : nullptr, 1, d_pre, dm,
                           m_in, d, lw.W_in, N);
      }
      if (c.parallel_residual) {
        // resid_post = resid_pre + attn(ln1 x) + mlp(ln2 x): attn_out's gradient is d resid_post;
        // the MLP's input gradient joins d resid_pre after attention's.
        d_attn_out_buf.assign(dx, dx + N * d);
        d_attn_out = d_attn_out_buf.data();
        norm_block_backward(p, Site::ln2_scale, Site::ln2_normalized, l, dx, d_m_in, lw.ln2_w, lw.ln2_b,
                            lg ? mut(lg->ln2_w) : nullptr, lg ? mut(lg->ln2_b) : nullptr, s5);
      } else {
        norm_block_backward(p, Site::ln2_scale, Site::ln2_normalized, l, dx, d_m_in, lw.ln2_w, lw.ln2_b,
                            lg ? mut(lg->ln2_w) : nullptr, lg ? mut(lg->ln2_b) : nullptr, s5);
        p.grad(Site::resid_mid, l, dx);  // dx = d resid_mid = d attn_out
      }
    }

    // ---- attention backward
    p.grad(Site::attn_out, l, d_attn_out);
    if (hooks && hooks->has_grad({Site::result, l})) {
      // attn_out = sum_h result[h] + b_O: every head's result gets d attn_out.
      std::vector<float> dres(static_cast<size_t>(N * H * d));
      for (int64_t n = 0; n < N; ++n)
        for (int64_t h = 0; h < H; ++h) std::memcpy(&dres[size_t((n * H + h) * d)], d_attn_out + n * d, size_t(d) * 4);
      p.grad(Site::result, l, dres.data());
    }
    const float* z = p.act(Site::z, l);
    float* dz = zeros(s1, N * H * dh);
    k::matmul_backward(dz, H * dh, lg ? mut(lg->W_O) : MutMatRef{}, lg ? mut(lg->b_O) : nullptr, 1, d_attn_out, d, z,
                       H * dh, lw.W_O, N);
    p.grad(Site::z, l, dz);
    const float* pattern = p.act(Site::pattern, l);
    const float* v = p.act(Site::v, l);
    float* dpattern = zeros(s2, B * H * T * T);
    float* dv = zeros(s3, N * Hkv * dh);
    for (int64_t b = 0; b < B; ++b)
      k::attn_z_backward(dpattern + b * H * T * T, dv + b * T * Hkv * dh, Hkv * dh, dz + b * T * H * dh, H * dh,
                         pattern + b * H * T * T, v + b * T * Hkv * dh, Hkv * dh, T, T, H, Hkv, dh);
    p.grad(Site::pattern, l, dpattern);
    float* dscores = zeros(s4, B * H * T * T);
    k::softmax_backward(dscores, dpattern, pattern, B * H * T, T);
    p.grad(Site::attn_scores, l, dscores);
    const bool rotary = c.positional == PosKind::Rotary;
    const float* rq = p.act(rotary ? Site::rot_q : Site::q, l);
    const float* rk = p.act(rotary ? Site::rot_k : Site::k, l);
    float* drq = zeros(s5, N * H * dh);
    float* drk = zeros(s6, N * Hkv * dh);
    for (int64_t b = 0; b < B; ++b)
      k::attn_scores_backward(drq + b * T * H * dh, H * dh, drk + b * T * Hkv * dh, Hkv * dh, dscores + b * H * T * T,
                              rq + b * T * H * dh, H * dh, rk + b * T * Hkv * dh, Hkv * dh, T, T, H, Hkv, dh,
                              c.scores_scale());
    float* dq = drq;
    float* dk = drk;
    std::vector<float> dq_buf, dk_buf;
    if (rotary) {
      p.grad(Site::rot_q, l, drq);
      p.grad(Site::rot_k, l, drk);
      dq = zeros(dq_buf, N * H * dh);
      dk = zeros(dk_buf, N * Hkv * dh);
      k::rope_backward(dq, drq, H * dh, pos.data(), N, H, dh, c.rotary_dim, c.rope_theta);
      k::rope_backward(dk, drk, Hkv * dh, pos.data(), N, Hkv, dh, c.rotary_dim, c.rope_theta);
    }
    p.grad(Site::q, l, dq);
    p.grad(Site::k, l, dk);
    p.grad(Site::v, l, dv);
    const float* a_in = norm_output(p, Site::ln1_normalized, l, Site::resid_pre, l, lw.ln1_w, lw.ln1_b, ln_out);
    std::vector<float> d_a_in_buf;
    float* d_a_in = zeros(d_a_in_buf, N * d);
    project_heads_backward(d_a_in, dq, a_in, N, lw.W_Q, lg ? &lg->W_Q : nullptr);
    project_heads_backward(d_a_in, dk, a_in, N, lw.W_K, lg ? &lg->W_K : nullptr);
    project_heads_backward(d_a_in, dv, a_in, N, lw.W_V, lg ? &lg->W_V : nullptr);
    // dx holds d resid_mid (sequential), or d resid_post + the MLP branch (parallel,
    // attention-only): adding attention's input gradient makes it d resid_pre.
    norm_block_backward(p, Site::ln1_scale, Site::ln1_normalized, l, dx, d_a_in, lw.ln1_w, lw.ln1_b,
                        lg ? mut(lg->ln1_w) : nullptr, lg ? mut(lg->ln1_b) : nullptr, s1);
    p.grad(Site::resid_pre, l, dx);
  }

  // ---- embeddings: resid_pre(0) = embed + pos_embed
  p.grad(Site::embed, -1, dx);
  if (G) k::embedding_backward(mut(G->W_E), dx, batch.tokens.data(), N, d);
  if (c.positional == PosKind::Learned) {
    p.grad(Site::pos_embed, -1, dx);
    if (G) k::embedding_backward(mut(G->W_pos), dx, pos.data(), N, d);
  }
}

}  // namespace glassbox
