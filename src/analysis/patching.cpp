#include "glassbox/analysis/patching.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "analysis/detail.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

bool patchable_by_position(Site s) { return site_info(s).patch == PatchAxis::Position; }
bool patchable_by_head(Site s) { return site_info(s).patch == PatchAxis::Head; }

nlohmann::json PatchGrid::to_json() const {
  nlohmann::json j = {{"technique", method}, {"hook", hook}, {"axis", by_head ? "head" : "position"},
                      {"n_layers", n_layers}, {"n_cols", n_cols}, {"values", values}, {"clean", clean},
                      {"corrupt", corrupt}, {"normalized", normalized}, {"forward_runs", forward_runs}};
  if (!receivers.empty()) j["receivers"] = receivers;
  return j;
}

double correlation(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) fail("correlation: series of ", a.size(), " and ", b.size(), " values");
  const size_t n = a.size();
  if (n < 2) fail("correlation: needs at least two values");
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= double(n), mb /= double(n);
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < n; ++i) {
    const double x = a[i] - ma, y = b[i] - mb;
    sab += x * y, saa += x * x, sbb += y * y;
  }
  if (saa == 0 || sbb == 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double correlation(const PatchGrid& a, const PatchGrid& b) {
  if (a.n_layers != b.n_layers || a.n_cols != b.n_cols)
    fail("correlation: grids of ", a.n_layers, "x", a.n_cols, " and ", b.n_layers, "x", b.n_cols);
  return correlation(a.values, b.values);
}

namespace {

Batch slice_positions(const Batch& b, int64_t p0) {
  if (p0 == 0) return b;
  Batch s;
  s.B = b.B;
  s.T = b.T - p0;
  for (int64_t i = 0; i < b.B; ++i) {
    s.tokens.insert(s.tokens.end(), b.tokens.begin() + i * b.T + p0, b.tokens.begin() + (i + 1) * b.T);
    if (!b.mask.empty()) s.mask.insert(s.mask.end(), b.mask.begin() + i * b.T + p0, b.mask.begin() + (i + 1) * b.T);
  }
  return s;
}

// Rows p0.. of every batch item of x [B, T, d] into out [B, T - p0, d].
const float* slice_rows(const float* x, int64_t B, int64_t T, int64_t d, int64_t p0, std::vector<float>& out) {
  if (p0 == 0) return x;
  out.resize(size_t(B * (T - p0) * d));
  for (int64_t b = 0; b < B; ++b)
    std::memcpy(&out[size_t(b * (T - p0) * d)], x + (b * T + p0) * d, size_t((T - p0) * d) * sizeof(float));
  return out.data();
}

// Keeps the first `length` positions of the cache: the next forward continues
// at position `length`. Rows past `length` are overwritten by that forward, so
// a sweep rewinding to ever earlier positions needs no fresh copy.
void rewind_kv(KVCache& kv, int64_t length, const Batch& batch) {
  kv.length = length;
  kv.next_pos.assign(static_cast<size_t>(kv.B), 0);
  for (int64_t b = 0; b < kv.B; ++b)
    for (int64_t t = 0; t < length; ++t) kv.next_pos[size_t(b)] += batch.valid(b, t);
}

// The baseline's keys / values of layers first.. (earlier layers do not run from `first`).
void restore_kv(KVCache& kv, const KVCache& full, int first) {
  kv.B = full.B;
  kv.capacity = full.capacity;
  kv.length = full.length;
  kv.k.resize(full.k.size());
  kv.v.resize(full.v.size());
  for (size_t l = size_t(first); l < full.k.size(); ++l) kv.k[l] = full.k[l], kv.v[l] = full.v[l];
  kv.key_valid = full.key_valid;
  kv.next_pos = full.next_pos;
}

struct Sweeper {
  Engine& e;
  const Config& c;
  const PatchingOptions& opt;
  const Batch& base;                  // the run being patched
  ActivationCache source;             // where patched values come from
  ForwardResult base_run;             // keeps blocks.{l}.hook_resid_pre (prefix reuse)
  KVCache kv_full;                    // base keys / values (prefix reuse)
  double v_clean = 0, v_corrupt = 0, v_base = 0;
  int64_t metric_pos = 0;
  ForwardOptions fo;
  std::vector<float> start_rows;

  // One patched run, starting at layer `first` (from the base's residual stream there) and position p0.
  double run(int first, int64_t p0, KVCache* kv, HookPoint at, const HookFn& patch) {
    HookRegistry reg(c);
    const HookHandle h = reg.add(at, patch, HookMode::Replace);
    ForwardOptions o = fo;
    o.start_at_layer = first;
    if (first > 0)
      o.start_resid = slice_rows(base_run.get({Site::resid_pre, first}).f32(), base.B, base.T, c.d_model, p0,
                                 start_rows);
    if (p0 > 0) rewind_kv(*kv, p0, base);
    const ForwardResult r = e.forward(slice_positions(base, p0), &reg, p0 > 0 ? kv : nullptr, o);
    return opt.metric.value(r.logits, base.T);
  }

  float normalize(double v) const {
    if (!opt.metric.normalize) return float(v);
    return float((v - v_corrupt) / (v_clean - v_corrupt));
  }

  PatchGrid by_position(Site s) {
    const int64_t L = c.n_layers, T = base.T, B = base.B, d = c.d_model;
    PatchGrid g;
    g.n_cols = T;
    KVCache kv;
    const bool kv_reuse = opt.reuse_positions;
    for (int l = 0; l < L; ++l) {
      const HookPoint at{s, l};
      const Tensor& src_t = source[at.name()];
      const float* src = src_t.f32();
      if (kv_reuse) restore_kv(kv, kv_full, opt.reuse_prefix ? l : 0);
      // Descending positions: each run only overwrites the cached keys / values at or after its start.
      std::vector<float> row(static_cast<size_t>(T));
      for (int64_t p = T - 1; p >= 0; --p) {
        double v;
        if (kv_reuse && metric_pos < p) {
          v = v_base;  // the patch lies after the measured position: nothing it can change
        } else {
          const HookFn patch = [src, p, T, B, d](TensorView& act, const HookContext& ctx) {
            const int64_t Tq = act.shape[1], r = p - ctx.pos_offset;
            for (int64_t b = 0; b < B; ++b)
              std::memcpy(act.data + (b * Tq + r) * d, src + (b * T + p) * d, size_t(d) * sizeof(float));
          };
          v = run(opt.reuse_prefix ? l : 0, kv_reuse ? p : 0, &kv, at, patch);
          ++g.forward_runs;
        }
        row[size_t(p)] = normalize(v);
      }
      g.values.insert(g.values.end(), row.begin(), row.end());
    }
    return g;
  }

  PatchGrid by_head(Site s) {
    const int64_t L = c.n_layers, T = base.T, B = base.B, H = c.n_heads;
    const bool kv_site = s == Site::k || s == Site::v;
    const int64_t n_heads = kv_site ? c.n_kv_heads : H;
    PatchGrid g;
    g.n_cols = n_heads;
    for (int l = 0; l < L; ++l) {
      const HookPoint at{s, l};
      const Tensor& src_t = source[at.name()];
      const float* src = src_t.f32();
      for (int64_t h = 0; h < n_heads; ++h) {
        HookFn patch;
        if (s == Site::pattern) {
          patch = [src, h, H, T](TensorView& act, const HookContext&) {
            const int64_t B = act.shape[0];
            for (int64_t b = 0; b < B; ++b)
              std::memcpy(act.data + (b * H + h) * T * T, src + (b * H + h) * T * T, size_t(T * T) * sizeof(float));
          };
        } else {
          const int64_t width = s == Site::result ? c.d_model : c.d_head;
          patch = [src, h, n_heads, width, B, T](TensorView& act, const HookContext&) {
            for (int64_t n = 0; n < B * T; ++n)
              std::memcpy(act.data + (n * n_heads + h) * width, src + (n * n_heads + h) * width,
                          size_t(width) * sizeof(float));
          };
        }
        const double v = run(opt.reuse_prefix ? l : 0, 0, nullptr, at, patch);
        ++g.forward_runs;
        g.values.push_back(normalize(v));
      }
    }
    return g;
  }
};

}  // namespace

std::vector<PatchGrid> activation_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                                           const std::vector<Site>& sites, const PatchingOptions& opt) {
  const Config& c = e.model().config();
  detail::check_pair(clean, corrupt, "patching");
  detail::check_patch_sites(c, sites, "patching");
  const bool denoise = opt.direction == PatchDirection::Denoise;
  const Batch& base = denoise ? corrupt : clean;
  const Batch& source = denoise ? clean : corrupt;
  Sweeper sw{e, c, opt, base, {}, {}, {}, 0, 0, 0, 0, {}, {}};
  sw.metric_pos = detail::resolve_pos(opt.metric.pos, base.T, "patching: metric");
  sw.fo.logits = sw.metric_pos == base.T - 1 ? LogitsMode::Last : LogitsMode::All;

  // The patch source: one run caching every swept site at every layer.
  CacheOptions co;
  for (Site s : sites) {
    co.names.push_back(std::string("blocks.*.") + site_suffix(s));
    co.with_result |= s == Site::result;
  }
  sw.source = run_with_cache(e, source, co);
  const double v_source = opt.metric.value(sw.source.logits, source.T);

  // The baseline: its residual stream at every layer and its keys / values start every partial run.
  ForwardOptions bo;
  bo.logits = sw.fo.logits;
  if (opt.reuse_prefix)
    for (int l = 1; l < c.n_layers; ++l) bo.keep.insert({Site::resid_pre, l});
  if (opt.reuse_positions) sw.kv_full.reset(c, base.B, base.T);
  sw.base_run = e.forward(base, nullptr, opt.reuse_positions ? &sw.kv_full : nullptr, bo);
  sw.v_base = opt.metric.value(sw.base_run.logits, base.T);
  sw.v_clean = denoise ? v_source : sw.v_base;
  sw.v_corrupt = denoise ? sw.v_base : v_source;
  if (opt.metric.normalize && sw.v_clean == sw.v_corrupt)
    fail("patching: the clean and corrupted runs give the same metric (", sw.v_clean,
         "), so the normalised metric is undefined; set normalize = false");

  std::vector<PatchGrid> out;
  for (Site s : sites) {
    PatchGrid g = patchable_by_position(s) ? sw.by_position(s) : sw.by_head(s);
    g.hook = site_suffix(s);
    g.site = s;
    g.by_head = patchable_by_head(s);
    g.n_layers = c.n_layers;
    g.clean = sw.v_clean;
    g.corrupt = sw.v_corrupt;
    g.normalized = opt.metric.normalize;
    out.push_back(std::move(g));
  }
  return out;
}

PatchGrid activation_patching(Engine& e, const Batch& clean, const Batch& corrupt, Site site,
                              const PatchingOptions& opt) {
  return std::move(activation_patching(e, clean, corrupt, std::vector<Site>{site}, opt).front());
}

}  // namespace glassbox::analysis
