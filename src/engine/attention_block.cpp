// The attention block, forward and backward:
//   resid_pre -> ln1 -> q, k, v (-> rot_q, rot_k) -> attn_scores -> pattern -> z (-> result) -> attn_out.
// Keys and values of earlier positions come from the KV cache when one is given.
#include <cstring>

#include "engine/pass.h"
#include "kernels/kernels.h"

namespace glassbox::detail {

namespace k = kernels;

namespace {

const float* rope_factors(const Config& c) {
  return c.rope_freq_factors.empty() ? nullptr : c.rope_freq_factors.data();
}

// Layer l's soft-cap and sliding window (Gemma-2), for the score kernels.
k::ScoreMods score_mods(const Config& c, int l) { return {c.attn_softcap, c.window(l)}; }

// out [N, n_heads*d_head] = in [N, d_model] . W (+ b), per head when the heads
// are not one contiguous matrix (e.g. NeoX's interleaved query_key_value).
void project_heads(float* out, const float* in, int64_t N, const HeadProj& P) {
  const int64_t ld = int64_t(P.n_heads) * P.d_head;
  if (P.fused() && P.bias_fused()) {
    k::matmul_forward(out, ld, in, P.d_model, P.all(), P.b, 1, N);
    return;
  }
  for (int h = 0; h < P.n_heads; ++h)
    k::matmul_forward(out + h * P.d_head, ld, in, P.d_model, P.head(h),
                      P.b ? P.b + h * P.b_head_stride : nullptr, 1, N);
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

// Appends this pass's keys / values of layer l to the cache.
void append_kv(KVCache& kv, int l, const float* rk, const float* v, int64_t B, int64_t T, int64_t row) {
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      const size_t dst = size_t((b * kv.capacity + kv.length + t) * row), src = size_t((b * T + t) * row);
      std::memcpy(&kv.k[size_t(l)][dst], rk + src, size_t(row) * sizeof(float));
      std::memcpy(&kv.v[size_t(l)][dst], v + src, size_t(row) * sizeof(float));
    }
}

// attn_out = sum_h result[h] + b_O, with the per-head outputs as a site of their own.
void attn_out_by_head(ForwardPass& p, int l, const float* z, float* attn_out) {
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const int64_t N = p.N, d = p.c.d_model, H = p.c.n_heads, dh = p.c.d_head;
  float* result = p.slice(Site::result, l);
  for (int64_t h = 0; h < H; ++h) {
    const MatRef Wh = lw.W_O.row_block(h * dh, dh);
    k::matmul_forward(result + h * d, H * d, z + h * dh, H * dh, Wh, nullptr, 1, N);
  }
  p.fire(Site::result, l, result);
  // attn_out is summed from result after its hook: it reflects a replaced hook_result.
  for (int64_t n = 0; n < N; ++n) {
    float* o = attn_out + n * d;
    for (int64_t j = 0; j < d; ++j) o[j] = lw.b_O ? lw.b_O[j] : 0.f;
    for (int64_t h = 0; h < H; ++h) k::add_forward(o, o, result + (n * H + h) * d, d);
  }
}

// Prompts (T > 1) run the tiled attention kernels: fused (z straight from
// q, k, v; the scores and pattern never in memory, the masked half never
// computed) when nobody reads attn_scores or pattern (no hook, not kept, not
// kept for backward), else step by step with the same arithmetic, so both
// give the same bits. A decode step (one query) runs the BLAS kernels either
// way: its scores are one row per head, while the tiles would fill 1 of
// their 32 query lanes.
bool tiled_attention(const ForwardPass& p) { return p.T >= 2 || p.last_query_only; }
bool fused_attention(const ForwardPass& p, int l) {
  return tiled_attention(p) && !p.wanted(Site::attn_scores, l) && !p.wanted(Site::pattern, l);
}

// scores -> hook_attn_scores -> pattern -> hook_pattern -> z, each in its slice:
// a hook may read or replace either before the next step uses it.
void materialised_attention(ForwardPass& p, int l, float* z, const float* rq, const float* keys, const float* vals,
                            int64_t kv_rows) {
  const Config& c = p.c;
  const int64_t B = p.B, T = p.T, Tk = p.Tk, H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  const bool tiled = tiled_attention(p);
  float* scores = p.slice(Site::attn_scores, l);
  for (int64_t b = 0; b < B; ++b)
    (tiled ? k::attn_tiled_scores : k::attn_scores_forward)(
        scores + b * H * T * Tk, rq + b * T * H * dh, H * dh, keys + b * kv_rows * Hkv * dh, Hkv * dh,
        p.key_valid.data() + b * Tk, T, Tk, p.past, H, Hkv, dh, c.scores_scale(), score_mods(c, l));
  p.fire(Site::attn_scores, l, scores);
  float* pattern = p.slice(Site::pattern, l);
  (tiled ? k::attn_tiled_softmax : k::softmax_forward)(pattern, scores, B * H * T, Tk);
  p.fire(Site::pattern, l, pattern);
  for (int64_t b = 0; b < B; ++b)
    (tiled ? k::attn_tiled_z : k::attn_z_forward)(z + b * T * H * dh, H * dh, pattern + b * H * T * Tk,
                                                  vals + b * kv_rows * Hkv * dh, Hkv * dh, T, Tk, H, Hkv, dh);
}

}  // namespace

float* attention_forward(ForwardPass& p, int l, const float* x) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const int64_t B = p.B, T = p.T, N = p.N, Tk = p.Tk, d = c.d_model;
  const int64_t H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  const float* a_in = norm_forward(p, Site::ln1_scale, Site::ln1_normalized, l, x, lw.ln1_w, lw.ln1_b);
  float* q = p.slice(Site::q, l);
  float* kk = p.slice(Site::k, l);
  float* v = p.slice(Site::v, l);
  project_heads(q, a_in, N, lw.W_Q);
  project_heads(kk, a_in, N, lw.W_K);
  project_heads(v, a_in, N, lw.W_V);
  p.fire(Site::q, l, q);
  p.fire(Site::k, l, kk);
  p.fire(Site::v, l, v);
  float* rq = q;
  float* rk = kk;
  if (c.positional == PosKind::Rotary) {
    rq = p.slice(Site::rot_q, l);
    rk = p.slice(Site::rot_k, l);
    k::rope_forward(rq, q, H * dh, p.pos.data(), N, H, dh, c.rotary_dim, c.rope_theta, rope_factors(c));
    k::rope_forward(rk, kk, Hkv * dh, p.pos.data(), N, Hkv, dh, c.rotary_dim, c.rope_theta, rope_factors(c));
    p.fire(Site::rot_q, l, rq);
    p.fire(Site::rot_k, l, rk);
  }
  const float* keys = rk;
  const float* vals = v;
  int64_t kv_rows = T;  // key rows per batch item
  if (p.kv) {
    append_kv(*p.kv, l, rk, v, B, T, Hkv * dh);
    keys = p.kv->k[size_t(l)].data();
    vals = p.kv->v[size_t(l)].data();
    kv_rows = p.kv->capacity;
  }
  float* z = p.slice(Site::z, l);
  if (fused_attention(p, l)) {
    for (int64_t b = 0; b < B; ++b)
      k::attn_fused_forward(z + b * T * H * dh, H * dh, rq + b * T * H * dh, H * dh, keys + b * kv_rows * Hkv * dh,
                            Hkv * dh, vals + b * kv_rows * Hkv * dh, Hkv * dh, p.key_valid.data() + b * Tk, T, Tk,
                            p.past, H, Hkv, dh, c.scores_scale(), score_mods(c, l));
  } else {
    materialised_attention(p, l, z, rq, keys, vals, kv_rows);
  }
  p.fire(Site::z, l, z);
  float* attn_out = p.slice(Site::attn_out, l);
  if (p.opt.compute_result || p.wanted(Site::result, l)) attn_out_by_head(p, l, z, attn_out);
  else k::matmul_forward(attn_out, d, z, H * dh, lw.W_O, lw.b_O, 1, N);
  if (c.post_norms) post_norm_forward(p, Site::ln1_post_scale, Site::ln1_post_normalized, l, attn_out, lw.ln1_post_w);
  p.fire(Site::attn_out, l, attn_out);
  return attn_out;
}

void keys_values_forward(ForwardPass& p, int l, const float* x, float* rk, float* v) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const int64_t N = p.N, Hkv = c.n_kv_heads, dh = c.d_head;
  const float* a_in = norm_forward(p, Site::ln1_scale, Site::ln1_normalized, l, x, lw.ln1_w, lw.ln1_b);
  project_heads(v, a_in, N, lw.W_V);
  if (c.positional != PosKind::Rotary) return project_heads(rk, a_in, N, lw.W_K);
  float* kk = p.slice(Site::k, l);
  project_heads(kk, a_in, N, lw.W_K);
  k::rope_forward(rk, kk, Hkv * dh, p.pos.data(), N, Hkv, dh, c.rotary_dim, c.rope_theta, rope_factors(c));
}

void attention_backward(BackwardPass& p, int l, const float* d_attn_out, float* dx) {
  const Config& c = p.c;
  const LayerWeights& lw = p.w.layers[size_t(l)];
  const LayerWeights* lg = p.G ? &p.G->layers[size_t(l)] : nullptr;
  const int64_t B = p.B, T = p.T, N = p.N, d = c.d_model;
  const int64_t H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  p.grad(Site::attn_out, l, mut(d_attn_out));
  // With a post-norm, what follows is the gradient of its input (the heads' summed output).
  if (c.post_norms)
    d_attn_out = post_norm_backward(p, Site::ln1_post_scale, Site::ln1_post_normalized, l, d_attn_out,
                                    lw.ln1_post_w, lg ? lg->ln1_post_w : nullptr);
  if (p.wants_grad(Site::result, l)) {
    // attn_out = sum_h result[h] + b_O: every head's result gets d attn_out.
    p.d_result.resize(size_t(N * H * d));
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        std::memcpy(&p.d_result[size_t((n * H + h) * d)], d_attn_out + n * d, size_t(d) * 4);
    p.grad(Site::result, l, p.d_result.data());
  }
  const float* z = p.act(Site::z, l);
  float* dz = zeros(p.dz, N * H * dh);
  k::matmul_backward(dz, H * dh, lg ? mut(lg->W_O) : MutMatRef{}, lg ? mut(lg->b_O) : nullptr, 1, d_attn_out, d, z,
                     H * dh, lw.W_O, N);
  p.grad(Site::z, l, dz);
  const float* pattern = p.act(Site::pattern, l);
  const float* v = p.act(Site::v, l);
  float* dpattern = zeros(p.d_pattern, B * H * T * T);
  float* dv = zeros(p.dv, N * Hkv * dh);
  for (int64_t b = 0; b < B; ++b)
    k::attn_z_backward(dpattern + b * H * T * T, dv + b * T * Hkv * dh, Hkv * dh, dz + b * T * H * dh, H * dh,
                       pattern + b * H * T * T, v + b * T * Hkv * dh, Hkv * dh, T, T, H, Hkv, dh);
  p.grad(Site::pattern, l, dpattern);
  float* dscores = zeros(p.d_scores, B * H * T * T);
  k::softmax_backward(dscores, dpattern, pattern, B * H * T, T);
  p.grad(Site::attn_scores, l, dscores);
  const bool rotary = c.positional == PosKind::Rotary;
  const float* rq = p.act(rotary ? Site::rot_q : Site::q, l);
  const float* rk = p.act(rotary ? Site::rot_k : Site::k, l);
  if (c.attn_softcap > 0) {
    // d(scaled q.k) = d(capped scores) * (1 - (capped / c)^2): the capped scores recomputed from q and k,
    // which costs one product and keeps attn_scores out of what a backward pass must hold.
    p.capped_scores.resize(size_t(B * H * T * T));
    for (int64_t b = 0; b < B; ++b)
      k::attn_scores_forward(p.capped_scores.data() + b * H * T * T, rq + b * T * H * dh, H * dh,
                             rk + b * T * Hkv * dh, Hkv * dh, nullptr, T, T, 0, H, Hkv, dh, c.scores_scale(),
                             score_mods(c, l));
    k::softcap_backward(dscores, p.capped_scores.data(), B * H * T * T, c.attn_softcap);
  }
  float* drq = zeros(p.d_rot_q, N * H * dh);
  float* drk = zeros(p.d_rot_k, N * Hkv * dh);
  for (int64_t b = 0; b < B; ++b)
    k::attn_scores_backward(drq + b * T * H * dh, H * dh, drk + b * T * Hkv * dh, Hkv * dh, dscores + b * H * T * T,
                            rq + b * T * H * dh, H * dh, rk + b * T * Hkv * dh, Hkv * dh, T, T, H, Hkv, dh,
                            c.scores_scale());
  float* dq = drq;
  float* dk = drk;
  if (rotary) {
    p.grad(Site::rot_q, l, drq);
    p.grad(Site::rot_k, l, drk);
    dq = zeros(p.dq, N * H * dh);
    dk = zeros(p.dk, N * Hkv * dh);
    k::rope_backward(dq, drq, H * dh, p.pos.data(), N, H, dh, c.rotary_dim, c.rope_theta, rope_factors(c));
    k::rope_backward(dk, drk, Hkv * dh, p.pos.data(), N, Hkv, dh, c.rotary_dim, c.rope_theta, rope_factors(c));
  }
  p.grad(Site::q, l, dq);
  p.grad(Site::k, l, dk);
  p.grad(Site::v, l, dv);
  const float* a_in = norm_output(p, Site::ln1_normalized, l, Site::resid_pre, l, lw.ln1_w, lw.ln1_b);
  float* d_a_in = zeros(p.d_norm_out, N * d);
  project_heads_backward(d_a_in, dq, a_in, N, lw.W_Q, lg ? &lg->W_Q : nullptr);
  project_heads_backward(d_a_in, dk, a_in, N, lw.W_K, lg ? &lg->W_K : nullptr);
  project_heads_backward(d_a_in, dv, a_in, N, lw.W_V, lg ? &lg->W_V : nullptr);
  norm_backward(p, Site::ln1_scale, Site::ln1_normalized, l, dx, d_a_in, lw.ln1_w, lw.ln1_b,
                lg ? mut(lg->ln1_w) : nullptr, lg ? mut(lg->ln1_b) : nullptr);
}

}  // namespace glassbox::detail
