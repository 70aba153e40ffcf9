// The forward pass: a driver over the block pairs of engine/pass.h. Activations
// live in per-site scratch buffers reused across layers, except the sites the
// caller keeps (the cache), which are written into tensors of their own:
// caching is choosing which slices outlive the pass, never copying them afterwards.
#include <cstring>

#include "core/large_buffer.h"
#include "engine/pass.h"
#include "engine/positions.h"
#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox {

struct Engine::Impl {
  // Per-site scratch, kept across passes: 2 MiB-aligned and advised huge
  // pages (a GPT-2-small pass of 1024 tokens holds ~70 MiB of it), and never
  // zero-filled (a vector's resize writes every float once more).
  detail::LargeBuffer scratch[kSiteCount];
  std::vector<float> ln_out, last_rows, chosen_rows;
  KVCache last_kv;            // last_block_last_rows: the last block's keys and values
  std::vector<float> x_last;  // and its input rows
  // The last pass's kept slices and logits. The next pass reuses those the
  // caller has let go of (the engine holds the only reference) instead of
  // allocating fresh memory: a training step or a repeated cached run then
  // pays no page faults for gigabytes of activations.
  std::vector<Tensor> spare;
};

Engine::Engine(const Model& m) : model_(m), impl_(std::make_unique<Impl>()) {}
Engine::~Engine() = default;

const Tensor* ForwardResult::find(HookPoint p) const {
  for (const auto& [pt, t] : kept)
    if (pt == p) return &t;
  return nullptr;
}

const Tensor& ForwardResult::get(HookPoint p) const {
  if (const Tensor* t = find(p)) return *t;
  fail("forward result: activation '", p.name(), "' was not kept (add it to ForwardOptions::keep)");
}

namespace detail {

Tensor take_spare(std::vector<Tensor>& spare, const Shape& shape) {
  for (auto it = spare.begin(); it != spare.end(); ++it)
    if (it->shape == shape && it->dtype == DType::F32 && it->storage.use_count() == 1) {
      Tensor t = std::move(*it);
      spare.erase(it);
      return t;
    }
  return Tensor::empty(shape);
}

bool ForwardPass::kept(Site s, int l) const {
  return opt.keep.count({s, l}) > 0 || (opt.for_backward && site_needed_for_backward(s, c));
}

float* ForwardPass::slice(Site s, int l) {
  const Shape shape = site_shape(s, c, B, T, Tk);
  if (kept(s, l)) {
    // Every block writes its whole output, so the slice need not be zero-filled first.
    res.kept.push_back({HookPoint{s, l}, take_spare(spare, shape)});
    return res.kept.back().second.f32();
  }
  LargeBuffer& buf = scratch[int(s)];
  buf.reserve(size_t(numel(shape)) * sizeof(float));
  return static_cast<float*>(buf.data());
}

void ForwardPass::fire(Site s, int l, float* data) {
  if (!hooked(s, l)) return;
  TensorView v{data, site_shape(s, c, B, T, Tk)};
  hooks->fire({s, l}, v, past);
}

}  // namespace detail

namespace {

void check_batch(const Config& c, const Batch& b, const KVCache* kv) {
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

void check_options(const Config& c, const ForwardOptions& o, int64_t T, const KVCache* kv, const HookRegistry* hooks) {
  const int L = c.n_layers;
  if (o.start_at_layer < 0 || o.start_at_layer > L)
    fail("forward: start_at_layer ", o.start_at_layer, " is out of range [0, ", L, "]");
  if (o.start_at_layer > 0 && !o.start_resid)
    fail("forward: start_at_layer ", o.start_at_layer, " needs start_resid, the residual stream entering that layer");
  if (o.stop_at_layer != -1 && (o.stop_at_layer < o.start_at_layer || o.stop_at_layer > L))
    fail("forward: stop_at_layer ", o.stop_at_layer, " is out of range [", o.start_at_layer, ", ", L,
         "] (or -1: run every layer)");
  if (o.for_backward && (kv || o.logits == LogitsMode::None || o.stop_at_layer != -1))
    fail("forward: a pass kept for backward needs logits (all, or the last position's), every layer from its start, "
         "and no KV cache");
  if (!o.logit_positions.empty() || !o.logit_tokens.empty()) {
    if (o.logits != LogitsMode::All || o.for_backward)
      fail("forward: logit_positions / logit_tokens choose among all logits (logits = all) and a pass kept for "
           "backward needs them all");
    for (int32_t t : o.logit_tokens)
      if (t < 0 || t >= c.d_vocab) fail("forward: logit_tokens: token ", t, " is out of range [0, ", c.d_vocab, ")");
    // Checked before the pass runs, not after its blocks.
    for (size_t i = 0; i < o.logit_positions.size(); ++i) {
      const int64_t t = o.logit_positions[i] < 0 ? o.logit_positions[i] + T : o.logit_positions[i];
      if (t < 0 || t >= T)
        fail("forward: logit_positions[", i, "] = ", o.logit_positions[i], " is out of range for ", T, " positions");
    }
  }
  if (hooks && (hooks->config().n_layers != L || hooks->config().d_model != c.d_model))
    fail("forward: the hook registry was made for a different model");
}

// The residual stream entering block `start` as a pass from there sees it: in
// the slice of the site that holds it (resid_pre of that block; the last
// resid_post when only the unembedding runs), where hooks fire on it.
float* start_residual(detail::ForwardPass& p, int start) {
  const bool unembed_only = start == p.c.n_layers;
  const HookPoint at = unembed_only ? HookPoint{Site::resid_post, start - 1} : HookPoint{Site::resid_pre, start};
  float* x = p.slice(at.site, at.layer);
  std::memcpy(x, p.opt.start_resid, size_t(p.N * p.c.d_model) * sizeof(float));
  if (unembed_only) p.fire(at.site, at.layer, x);  // block_forward fires resid_pre itself
  return x;
}

// ForwardOptions::logit_positions / logit_tokens: ln_final and W_U applied to
// the chosen rows (gathered into `rows`) and columns only, by a pass over
// those rows that unembeds them all.
void unembed_chosen(detail::ForwardPass& p, const float* x, std::vector<float>& rows) {
  const Config& c = p.c;
  const int64_t B = p.B, T = p.T, d = c.d_model;
  const std::vector<int64_t>& want = p.opt.logit_positions;
  int64_t P = T;
  if (!want.empty()) {
    P = int64_t(want.size());
    rows.resize(size_t(B * P * d));
    for (int64_t i = 0; i < P; ++i) {
      const int64_t t = want[size_t(i)] < 0 ? want[size_t(i)] + T : want[size_t(i)];  // in range: check_options
      for (int64_t b = 0; b < B; ++b)
        std::memcpy(&rows[size_t((b * P + i) * d)], x + (b * T + t) * d, size_t(d) * sizeof(float));
    }
    x = rows.data();
  }
  // The same pass over the P chosen rows (opt.logits is All: unembed_forward unembeds them all).
  detail::ForwardPass q = p;
  q.T = P;
  q.N = B * P;
  const std::vector<int32_t>& cols = p.opt.logit_tokens;
  if (cols.empty()) return detail::unembed_forward(q, x);
  const Weights& w = p.w;
  const float* xf = detail::norm_forward(q, Site::ln_final_scale, Site::ln_final_normalized, -1, x, w.ln_final_w,
                                         w.ln_final_b);
  const int64_t C = int64_t(cols.size());
  p.res.logits = detail::take_spare(p.spare, {B, P, C});
  float* out = p.res.logits.f32();
  // A quantised W_U: the C chosen columns, dequantised once.
  std::vector<float> wq(w.W_U.q ? size_t(C * d) : 0);
  for (int64_t j = 0; j < C && w.W_U.q; ++j)
    kernels::dequantize_weight_rows(&wq[size_t(j * d)], w.W_U, cols[size_t(j)], 1);
  // A few dot products (double sums: within rounding of the GEMM's column).
  for (int64_t n = 0; n < B * P; ++n)
    for (int64_t j = 0; j < C; ++j) {
      const float* wu = w.W_U.q ? &wq[size_t(j * d)] : w.W_U.data + int64_t(cols[size_t(j)]) * w.W_U.cs;
      const int64_t rs = w.W_U.q ? 1 : w.W_U.rs;
      double s = w.b_U ? double(w.b_U[cols[size_t(j)]]) : 0.0;
      for (int64_t k = 0; k < d; ++k) s += double(xf[n * d + k]) * wu[k * rs];
      out[n * C + j] = float(s);
    }
  if (c.final_softcap > 0) kernels::softcap_forward(out, B * P * C, c.final_softcap);
}

// LogitsMode::Last unembeds one position per row, and in the last block
// nothing but attention's keys and values mixes positions: when nobody reads
// that block's activations (no hook, nothing kept, no backward), it runs its
// queries, attention output and MLP for each row's last position only (as
// llama.cpp does), ~1/12 of GPT-2-small's prompt pass.
bool narrow_last_block(const detail::ForwardPass& p, int start, int stop) {
  const ForwardOptions& o = p.opt;
  if (o.logits != LogitsMode::Last || o.stop_at_layer >= 0 || o.for_backward || p.kv || p.T < 2 || start >= stop)
    return false;
  for (int s = 0; s < kSiteCount; ++s)
    if (p.wanted(Site(s), stop - 1)) return false;
  return !p.wanted(Site::ln_final_scale, -1) && !p.wanted(Site::ln_final_normalized, -1);
}

// Block l, given its input x [B, T, d], for each row's last position: the
// keys and values of every position into kv (a cache of T positions, the
// last one rewritten by the block), then the block as a one-position pass q
// that continues from them. Returns q's resid_post [B, 1, d].
float* last_block_last_rows(detail::ForwardPass& p, detail::ForwardPass& q, int l, const float* x, KVCache& kv,
                            std::vector<float>& x_last) {
  const Config& c = p.c;
  const int64_t B = p.B, T = p.T, d = c.d_model, row = int64_t(c.n_kv_heads) * c.d_head;
  kv.B = B, kv.capacity = T, kv.length = T - 1;
  kv.k.resize(size_t(c.n_layers)), kv.v.resize(size_t(c.n_layers));
  kv.k[size_t(l)].resize(size_t(B * T * row)), kv.v[size_t(l)].resize(size_t(B * T * row));
  detail::keys_values_forward(p, l, x, kv.k[size_t(l)].data(), kv.v[size_t(l)].data());
  x_last.resize(size_t(B * d));
  std::vector<int32_t> pos(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    std::memcpy(&x_last[size_t(b * d)], x + (b * T + T - 1) * d, size_t(d) * sizeof(float));
    pos[size_t(b)] = p.pos[size_t(b * T + T - 1)];
  }
  q.T = 1, q.N = B, q.Tk = T, q.past = T - 1, q.kv = &kv, q.last_query_only = true;
  q.pos = std::move(pos);  // key_valid [B, T]: the full pass's
  return detail::block_forward(q, l, x_last.data());
}

}  // namespace

ForwardResult Engine::forward(const Batch& batch, const HookRegistry* hooks, KVCache* kv, const ForwardOptions& opt) {
  const Config& c = model_.config();
  check_batch(c, batch, kv);
  check_options(c, opt, batch.T, kv, hooks);
  ForwardResult res;
  res.start_at_layer = opt.start_at_layer;
  res.from_resid = opt.start_resid != nullptr;
  const int64_t past = kv ? kv->length : 0;
  detail::ForwardPass p{c,    model_.weights(), hooks, opt, impl_->scratch, impl_->spare, res, kv,
                        batch.B, batch.T, batch.B * batch.T, past + batch.T, past, {}, {}, impl_->ln_out,
                        impl_->last_rows};
  detail::compute_positions(batch, kv, p.pos, p.key_valid);
  if (c.positional == PosKind::Learned)
    for (int32_t q : p.pos)
      if (q >= c.n_ctx) fail("forward: position ", q, " exceeds the model's context of ", c.n_ctx, " tokens");

  const int start = opt.start_at_layer, stop = opt.stop_at_layer < 0 ? c.n_layers : opt.stop_at_layer;
  float* x = opt.start_resid ? start_residual(p, start) : detail::embed_forward(p, batch.tokens.data());
  const bool narrow = narrow_last_block(p, start, stop);
  for (int l = start; l < stop - int(narrow); ++l) x = detail::block_forward(p, l, x);
  if (kv) kv->length += batch.T;
  if (narrow) {
    detail::ForwardPass q = p;
    x = last_block_last_rows(p, q, stop - 1, x, impl_->last_kv, impl_->x_last);
    detail::unembed_forward(q, x);
  } else if (opt.stop_at_layer < 0) {
    if (opt.logit_positions.empty() && opt.logit_tokens.empty()) detail::unembed_forward(p, x);
    else unembed_chosen(p, x, impl_->chosen_rows);
  } else {
    res.resid = detail::take_spare(impl_->spare, {batch.B, batch.T, c.d_model});
    std::memcpy(res.resid.f32(), x, res.resid.nbytes());
  }
  impl_->spare.clear();
  for (const auto& [pt, t] : res.kept) impl_->spare.push_back(t);
  for (const Tensor* t : {&res.logits, &res.resid})
    if (t->storage) impl_->spare.push_back(*t);
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
  for (const HookPoint& p : opt.keep) total += size_t(numel(site_shape(p.site, c, B, T, T))) * sizeof(float);
  if (opt.logits == LogitsMode::All) {
    const int64_t P = opt.logit_positions.empty() ? T : int64_t(opt.logit_positions.size());
    const int64_t C = opt.logit_tokens.empty() ? c.d_vocab : int64_t(opt.logit_tokens.size());
    total += size_t(B * P * C) * sizeof(float);
  }
  return total;
}

namespace {
constexpr enum_table::Names<LogitsMode, 3> kLogitsModeNames = {
    {LogitsMode::All, "all"}, {LogitsMode::Last, "last"}, {LogitsMode::None, "none"}};
}  // namespace

const char* to_string(LogitsMode m) { return enum_table::name(m, kLogitsModeNames); }
template <>
LogitsMode from_string<LogitsMode>(std::string_view s) { return enum_table::value(s, kLogitsModeNames, "logits mode"); }

}  // namespace glassbox
