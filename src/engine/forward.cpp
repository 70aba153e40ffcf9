// The forward pass, one layer at a time, with a hook site after every
// activation. Activations live in per-site scratch slices reused across
// layers, except the slices the caller keeps (the cache), which are
// allocated as their own tensors: caching is choosing which slices outlive
// the pass, never copying them afterwards.
#include <cstring>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "engine/positions.h"
#include "kernels/kernels.h"

namespace glassbox {

namespace k = kernels;

struct Engine::Impl {
  std::vector<float> scratch[kSiteCount];
  std::vector<float> ln_out, last_rows, logits_tmp;
  // The last pass's kept slices and logits. The next pass reuses those the
  // caller has let go of (the engine holds the only reference) instead of
  // allocating fresh memory: a training step or a repeated cached run then
  // pays no page faults for gigabytes of activations.
  std::vector<Tensor> spare;
};

Engine::Engine(const Model& m) : model_(m), impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

namespace {

Tensor take_spare(std::vector<Tensor>& spare, const Shape& shape) {
  for (auto it = spare.begin(); it != spare.end(); ++it)
    if (it->shape == shape && it->dtype == DType::F32 && it->storage.use_count() == 1) {
      Tensor t = std::move(*it);
      spare.erase(it);
      return t;
    }
  return Tensor::empty(shape);
}

// One forward call's state: sizes, the hook registry, where slices come from.
struct Pass {
  const Config& c;
  const Weights& w;
  const HookRegistry* hooks;
  const ForwardOptions& opt;
  std::vector<float>* scratch;
  std::vector<Tensor>& spare;
  ForwardResult& res;
  int64_t B, T, N, Tk, past;

  bool kept(Site s, int l) const {
    return opt.keep.count({int(s), l}) > 0 || (opt.for_backward && detail::needed_for_backward(s, c));
  }
  bool hooked(Site s, int l) const { return hooks && hooks->has({s, l}); }
  bool wanted(Site s, int l) const { return kept(s, l) || hooked(s, l); }

  // The slice for site s of layer l: a fresh kept tensor or the site's scratch.
  float* slice(Site s, int l) {
    const Shape shape = site_shape(s, c, B, T, Tk);
    if (kept(s, l)) {
      // Every kernel writes its whole output, so the slice need not be zero-filled first.
      res.kept.push_back({HookPoint{s, l}, take_spare(spare, shape)});
      return res.kept.back().second.f32();
    }
    auto& buf = scratch[int(s)];
    const size_t n = size_t(numel(shape));
    if (buf.size() < n) buf.resize(n);
    return buf.data();
  }

  void fire(Site s, int l, float* data) {
    if (!hooked(s, l)) return;
    TensorView v{data, site_shape(s, c, B, T, Tk)};
    hooks->fire({s, l}, v, past);
  }
};

// x [N, d] -> normalized / scale sites -> affine -> out (or x itself without norm).
const float* norm_block(Pass& p, Site scale_site, Site norm_site, int l, const float* x, const float* wgt,
                        const float* bias, std::vector<float>& out) {
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
  out.resize(size_t(p.N * c.d_model));
  k::affine_forward(out.data(), normalized, wgt, bias, p.N, c.d_model);
  return out.data();
}

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

void check_batch(const Model& m, const Batch& b, const KVCache* kv) {
  const Config& c = m.config();
  if (b.B <= 0 || b.T <= 0) fail("forward: empty batch");
  if (int64_t(b.tokens.size()) != b.B * b.T)
    fail("forward: batch has ", b.tokens.size(), " tokens, expected B*T = ", b.B * b.T);
  if (!b.mask.empty() && int64_t(b.mask.size()) != b.B * b.T)
    fail("forward: mask has ", b.mask.size(), " entries, expected B*T = ", b.B * b.T);
  for (size_t i = 0; i < b.tokens.size(); ++i)
    if (b.tokens[i] < 0 || b.tokens[i] >= c.d_vocab)
      fail("forward: token id ", b.tokens[i], " at position ", i % size_t(b.T), " of row ", i / size_t(b.T),
           " is out of range [0, ", c.d_vocab, ")");
  const int64_t past = kv ? kv->length : 0;
  if (past + b.T > c.n_ctx)
    fail("forward: ", past + b.T, " positions exceed the model's context of ", c.n_ctx, " tokens");
  if (kv) {
    if (kv->B != b.B) fail("forward: KV cache holds ", kv->B, " rows but the batch has ", b.B);
    if (past + b.T > kv->capacity)
      fail("forward: KV cache capacity ", kv->capacity, " is too small for ", past + b.T, " positions");
  }
}

}  // namespace

ForwardResult Engine::forward(const Batch& batch, const HookRegistry* hooks, KVCache* kv,
                              const ForwardOptions& opt) {
  const Model& m = model_;
  const Config& c = m.config();
  const Weights& w = m.weights();
  check_batch(m, batch, kv);
  if (opt.for_backward && (kv || opt.logits == LogitsMode::None))
    fail("forward: a pass kept for backward needs logits (all, or the last position's) and no KV cache");
  if (hooks && (hooks->config().n_layers != c.n_layers || hooks->config().d_model != c.d_model))
    fail("forward: the hook registry was made for a different model");

  ForwardResult res;
  const int64_t B = batch.B, T = batch.T, N = B * T, d = c.d_model;
  const int64_t past = kv ? kv->length : 0, Tk = past + T;
  const int64_t H = c.n_heads, Hkv = c.n_kv_heads, dh = c.d_head;
  Pass p{c, w, hooks, opt, impl_->scratch, impl_->spare, res, B, T, N, Tk, past};

  std::vector<int32_t> pos;
  std::vector<uint8_t> key_valid;
  detail::compute_positions(batch, kv, pos, key_valid);
  if (c.positional == PosKind::Learned)
    for (int32_t q : pos)
      if (q >= c.n_ctx) fail("forward: position ", q, " exceeds the model's context of ", c.n_ctx, " tokens");

  // ---- embeddings
  float* x = p.slice(Site::resid_pre, 0);
  {
    float* embed = p.slice(Site::embed, -1);
    k::embedding_forward(embed, batch.tokens.data(), w.W_E, N, d);
    p.fire(Site::embed, -1, embed);
    if (c.positional == PosKind::Learned) {
      float* pe = p.slice(Site::pos_embed, -1);
      k::embedding_forward(pe, pos.data(), w.W_pos, N, d);
      p.fire(Site::pos_embed, -1, pe);
      k::add_forward(x, embed, pe, N * d);
    } else {
      std::memcpy(x, embed, size_t(N * d) * sizeof(float));
    }
  }

  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    if (l > 0 && p.wanted(Site::resid_pre, l)) {
      float* pre = p.slice(Site::resid_pre, l);
      if (pre != x) std::memcpy(pre, x, size_t(N * d) * sizeof(float));
      x = pre;
    }
    p.fire(Site::resid_pre, l, x);

    // ---- attention
    const float* a_in = norm_block(p, Site::ln1_scale, Site::ln1_normalized, l, x, lw.ln1_w, lw.ln1_b, impl_->ln_out);
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
      k::rope_forward(rq, q, H * dh, pos.data(), N, H, dh, c.rotary_dim, c.rope_theta);
      k::rope_forward(rk, kk, Hkv * dh, pos.data(), N, Hkv, dh, c.rotary_dim, c.rope_theta);
      p.fire(Site::rot_q, l, rq);
      p.fire(Site::rot_k, l, rk);
    }
    const float* keys = rk;
    const float* vals = v;
    int64_t kv_row_stride = T;  // rows per batch item in keys / vals
    if (kv) {
      const size_t row = size_t(Hkv * dh);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
          const size_t dst = size_t(b * kv->capacity + past + t) * row, src = size_t(b * T + t) * row;
          std::memcpy(&kv->k[size_t(l)][dst], rk + src, row * sizeof(float));
          std::memcpy(&kv->v[size_t(l)][dst], v + src, row * sizeof(float));
        }
      keys = kv->k[size_t(l)].data();
      vals = kv->v[size_t(l)].data();
      kv_row_stride = kv->capacity;
    }
    float* scores = p.slice(Site::attn_scores, l);
    for (int64_t b = 0; b < B; ++b)
      k::attn_scores_forward(scores + b * H * T * Tk, rq + b * T * H * dh, H * dh,
                             keys + b * kv_row_stride * Hkv * dh, Hkv * dh, key_valid.data() + b * Tk, T, Tk,
                             past, H, Hkv, dh, c.scores_scale());
    p.fire(Site::attn_scores, l, scores);
    float* pattern = p.slice(Site::pattern, l);
    k::softmax_forward(pattern, scores, B * H * T, Tk);
    p.fire(Site::pattern, l, pattern);
    float* z = p.slice(Site::z, l);
    for (int64_t b = 0; b < B; ++b)
      k::attn_z_forward(z + b * T * H * dh, H * dh, pattern + b * H * T * Tk, vals + b * kv_row_stride * Hkv * dh,
                        Hkv * dh, T, Tk, H, Hkv, dh);
    p.fire(Site::z, l, z);
    float* attn_out = p.slice(Site::attn_out, l);
    if (opt.compute_result || p.wanted(Site::result, l)) {
      // Per-head outputs, then their sum: attn_out reflects a replaced hook_result.
      float* result = p.slice(Site::result, l);
      for (int64_t h = 0; h < H; ++h) {
        const MatRef Wh{lw.W_O.data + h * dh * lw.W_O.rs, dh, d, lw.W_O.rs, lw.W_O.cs};
        k::matmul_forward(result + h * d, H * d, z + h * dh, H * dh, Wh, nullptr, 1, N);
      }
      p.fire(Site::result, l, result);
      for (int64_t n = 0; n < N; ++n) {
        float* o = attn_out + n * d;
        for (int64_t j = 0; j < d; ++j) o[j] = lw.b_O ? lw.b_O[j] : 0.f;
        for (int64_t h = 0; h < H; ++h) k::add_forward(o, o, result + (n * H + h) * d, d);
      }
    } else {
      k::matmul_forward(attn_out, d, z, H * dh, lw.W_O, lw.b_O, 1, N);
    }
    p.fire(Site::attn_out, l, attn_out);

    float* resid_post;
    if (c.attn_only) {
      resid_post = p.slice(Site::resid_post, l);
      k::add_forward(resid_post, x, attn_out, N * d);
    } else {
      const float* mlp_in_src = x;
      float* resid_mid = nullptr;
      if (!c.parallel_residual) {
        resid_mid = p.slice(Site::resid_mid, l);
        k::add_forward(resid_mid, x, attn_out, N * d);
        p.fire(Site::resid_mid, l, resid_mid);
        mlp_in_src = resid_mid;
      }
      // ---- MLP
      const float* m_in = norm_block(p, Site::ln2_scale, Site::ln2_normalized, l, mlp_in_src, lw.ln2_w, lw.ln2_b,
                                     impl_->ln_out);
      const int64_t dm = c.d_mlp;
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
      p.fire(Site::mlp_out, l, mlp_out);
      resid_post = p.slice(Site::resid_post, l);
      if (c.parallel_residual) {
        k::add_forward(resid_post, x, attn_out, N * d);
        k::add_forward(resid_post, resid_post, mlp_out, N * d);
      } else {
        k::add_forward(resid_post, resid_mid, mlp_out, N * d);
      }
    }
    p.fire(Site::resid_post, l, resid_post);
    x = resid_post;
  }
  if (kv) kv->length += T;

  // ---- unembed
  const float* xf = norm_block(p, Site::ln_final_scale, Site::ln_final_normalized, -1, x, w.ln_final_w,
                               w.ln_final_b, impl_->ln_out);
  const int64_t V = c.d_vocab;
  if (opt.logits == LogitsMode::All) {
    res.logits = take_spare(impl_->spare, {B, T, V});
    k::matmul_forward(res.logits.f32(), V, xf, d, w.W_U, w.b_U, 1, N);
  } else if (opt.logits == LogitsMode::Last) {
    auto& rows = impl_->last_rows;
    rows.resize(size_t(B * d));
    for (int64_t b = 0; b < B; ++b) std::memcpy(&rows[size_t(b * d)], xf + ((b + 1) * T - 1) * d, size_t(d) * 4);
    res.logits = take_spare(impl_->spare, {B, 1, V});
    k::matmul_forward(res.logits.f32(), V, rows.data(), d, w.W_U, w.b_U, 1, B);
  }
  impl_->spare.clear();
  for (const auto& [pt, t] : res.kept) impl_->spare.push_back(t);
  if (res.logits.storage) impl_->spare.push_back(res.logits);
  return res;
}

size_t Engine::estimate_bytes(int64_t B, int64_t T, const ForwardOptions& opt) const {
  const Config& c = model_.config();
  size_t total = 0;
  for (int s = 0; s < kSiteCount; ++s) {
    if (!site_exists(Site(s), c)) continue;
    const size_t n = size_t(numel(site_shape(Site(s), c, B, T, T))) * sizeof(float);
    if (Site(s) != Site::result || opt.compute_result) total += n;  // one scratch slice per site
  }
  for (const auto& [s, l] : opt.keep) total += size_t(numel(site_shape(Site(s), c, B, T, T))) * sizeof(float);
  if (opt.logits == LogitsMode::All) total += size_t(B * T * c.d_vocab) * sizeof(float);
  return total;
}

}  // namespace glassbox
