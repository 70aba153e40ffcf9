#include "glassbox/analysis/patching.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

#include "analysis/detail.h"
#include "analysis/patching_batch.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

bool patchable_by_position(Site s) { return site_info(s).patch == PatchAxis::Position; }
bool patchable_by_head(Site s) { return site_info(s).patch == PatchAxis::Head; }

Site parse_patch_site(const std::string& name, const std::string& what) {
  std::string valid;
  for (const SiteInfo& i : kSiteTable) {
    if (i.patch == PatchAxis::None) continue;
    if (name == i.name || name == i.suffix) return i.site;
    valid += (valid.empty() ? "" : ", ") + std::string(i.name);
  }
  fail(what, ": '", name, "' is not a patchable site; expected one of ", valid);
}

nlohmann::json PatchGrid::to_json() const {
  nlohmann::json j = {{"technique", method}, {"hook", hook}, {"axis", by_head ? "head" : "position"},
                      {"n_layers", n_layers}, {"n_cols", n_cols}, {"values", values}, {"clean", clean},
                      {"corrupt", corrupt}, {"normalized", normalized}, {"forward_runs", forward_runs}};
  if (!receivers.empty()) j["receivers"] = receivers;
  if (first_layer != 0) j["first_layer"] = first_layer;
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

using detail::CellPatch;

// The patch of cell `p` (a position) at a site [B, T, d]: the source's row at p.
CellPatch position_patch(const float* src, int64_t T, int64_t d) {
  return [src, T, d](TensorView& act, const HookContext& ctx, int64_t p) {
    const int64_t Tq = act.shape[1], r = p - ctx.pos_offset;
    for (int64_t b = 0; b < act.shape[0]; ++b)
      std::memcpy(act.data + (b * Tq + r) * d, src + (b * T + p) * d, size_t(d) * sizeof(float));
  };
}

// The patch of cell `h` (a head) at every position: pattern [B, H, T, T], or q / k / v / z / result [B, T, n, width].
CellPatch head_patch(const float* src, Site s, const Config& c, int64_t T, int64_t n_heads) {
  if (s == Site::pattern) {
    const int64_t H = c.n_heads;
    return [src, H, T](TensorView& act, const HookContext&, int64_t h) {
      for (int64_t b = 0; b < act.shape[0]; ++b)
        std::memcpy(act.data + (b * H + h) * T * T, src + (b * H + h) * T * T, size_t(T * T) * sizeof(float));
    };
  }
  const int64_t width = s == Site::result ? c.d_model : c.d_head;
  return [src, n_heads, width, T](TensorView& act, const HookContext&, int64_t h) {
    for (int64_t n = 0; n < act.shape[0] * T; ++n)
      std::memcpy(act.data + (n * n_heads + h) * width, src + (n * n_heads + h) * width, size_t(width) * sizeof(float));
  };
}

// Whether `count` blocks of `len` floats, `stride` apart from `offset`, are the same bits in a and b.
bool same_blocks(const float* a, const float* b, int64_t offset, int64_t stride, int64_t count, int64_t len) {
  for (int64_t i = 0; i < count; ++i)
    if (std::memcmp(a + offset + i * stride, b + offset + i * stride, size_t(len) * sizeof(float)) != 0) return false;
  return true;
}

struct Sweeper {
  Engine& e;
  const Config& c;
  const PatchingOptions& opt;
  const Batch& base;                  // the run being patched
  ActivationCache source;             // where patched values come from
  ForwardResult base_run;             // keeps blocks.{l}.hook_resid_pre (prefix reuse) and the swept sites
  KVCache kv_full;                    // base keys / values (position reuse)
  double v_clean = 0, v_corrupt = 0, v_base = 0;
  int64_t metric_pos = 0;
  ForwardOptions fo;                  // the reference's passes: every logit the metric may read
  detail::LogitReader reader;
  // reuse_prefix = reuse_positions = false: one full forward per cell with
  // full logits, nothing batched or skipped (the exact reference).
  bool reference = false;
  KVCache kv;
  std::vector<float> start_rows;

  // Runs `cells` as copies of the base's rows from layer `first` and position
  // p0 (earlier keys / values from the base) and returns each cell's metric.
  std::vector<double> run(int first, int64_t p0, const std::vector<int64_t>& cells, HookPoint at,
                          const CellPatch& patch) {
    const int64_t k = int64_t(cells.size()), B = base.B, T = base.T;
    HookRegistry reg(c);
    const HookHandle h = reg.add(at, detail::batch_hook(cells, B, patch), HookMode::Replace);
    ForwardOptions o = fo;
    if (!reference) reader.narrow(o, metric_pos, p0);
    o.start_at_layer = first;
    if (first > 0)
      o.start_resid = detail::tile_rows(base_run.get({Site::resid_pre, first}).f32(), B, T, c.d_model, p0, k,
                                        start_rows);
    if (p0 > 0) detail::tile_kv(kv_full, base, first, p0, k, kv);
    const ForwardResult r = e.forward(detail::tile_batch(base, k, p0), &reg, p0 > 0 ? &kv : nullptr, o);
    std::vector<double> v(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) v[size_t(j)] = reference ? opt.metric.value(r.logits, T) : reader.value(r.logits, j, B);
    return v;
  }

  // How many cells one pass may hold: its activations, the copies' start rows and keys / values.
  int64_t max_cells(int first) const {
    if (opt.batch_bytes == 0) return 1;
    const int64_t B = base.B, T = base.T;
    ForwardOptions o = fo;
    reader.narrow(o, metric_pos, 0);
    const size_t kv_bytes = size_t(2 * (c.n_layers - first) * B * T * c.n_kv_heads * c.d_head) * sizeof(float);
    return detail::cells_per_batch(e, B, T, o, opt.batch_bytes, kv_bytes + size_t(B * T * c.d_model) * sizeof(float));
  }

  // Runs the cells (cols, with the positions their runs start at, ascending) in batches; values into row.
  int64_t run_cells(int first, const std::vector<int64_t>& cols, const std::vector<int64_t>& starts, HookPoint at,
                    const CellPatch& patch, std::vector<float>& row) {
    const int64_t cap = reference ? 1 : max_cells(first);
    const int64_t overhead = reference ? 0 : opt.batch_overhead_rows;
    int64_t runs = 0;
    for (const detail::CellRange& g : detail::group_cells(starts, base.T, overhead, cap)) {
      const std::vector<int64_t> cells(cols.begin() + int64_t(g.begin), cols.begin() + int64_t(g.end));
      const std::vector<double> v = run(first, starts[g.begin], cells, at, patch);
      for (size_t j = 0; j < cells.size(); ++j) row[size_t(cells[j])] = normalize(v[j]);
      ++runs;
    }
    return runs;
  }

  float normalize(double v) const {
    if (!opt.metric.normalize) return float(v);
    return float((v - v_corrupt) / (v_clean - v_corrupt));
  }

  PatchGrid by_position(Site s) {
    const int64_t L = c.n_layers, T = base.T, B = base.B, d = c.d_model;
    const bool from_pos = !reference && opt.reuse_positions;
    PatchGrid g;
    g.n_cols = T;
    for (int l = opt.first_layer; l < L; ++l) {
      const HookPoint at{s, l};
      const float* src = source[at.name()].f32();
      const float* own = reference ? nullptr : base_run.get(at).f32();
      std::vector<float> row(static_cast<size_t>(T), normalize(v_base));
      std::vector<int64_t> cols, starts;  // the cells that need a run, by ascending start
      for (int64_t p = 0; p < T; ++p) {
        if (from_pos && metric_pos < p) continue;  // the patch lies after the measured position: nothing it can change
        if (own && opt.skip_unchanged && same_blocks(src, own, p * d, T * d, B, d)) continue;
        cols.push_back(p);
        starts.push_back(from_pos ? p : 0);
      }
      g.forward_runs += run_cells(opt.reuse_prefix ? l : 0, cols, starts, at, position_patch(src, T, d), row);
      g.values.insert(g.values.end(), row.begin(), row.end());
    }
    return g;
  }

  PatchGrid by_head(Site s) {
    const int64_t L = c.n_layers, T = base.T, B = base.B, H = c.n_heads;
    const int64_t n_heads = s == Site::k || s == Site::v ? c.n_kv_heads : H;
    const int64_t width = s == Site::result ? c.d_model : c.d_head;
    PatchGrid g;
    g.n_cols = n_heads;
    for (int l = opt.first_layer; l < L; ++l) {
      const HookPoint at{s, l};
      const float* src = source[at.name()].f32();
      const float* own = reference ? nullptr : base_run.get(at).f32();
      std::vector<float> row(static_cast<size_t>(n_heads), normalize(v_base));
      std::vector<int64_t> cols;
      for (int64_t h = 0; h < n_heads; ++h) {
        const bool same = own && opt.skip_unchanged &&
                          (s == Site::pattern ? same_blocks(src, own, h * T * T, H * T * T, B, T * T)
                                              : same_blocks(src, own, h * width, n_heads * width, B * T, width));
        if (!same) cols.push_back(h);
      }
      const std::vector<int64_t> starts(cols.size(), 0);
      g.forward_runs += run_cells(opt.reuse_prefix ? l : 0, cols, starts, at, head_patch(src, s, c, T, n_heads), row);
      g.values.insert(g.values.end(), row.begin(), row.end());
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
  if (opt.batch_overhead_rows < 0)
    fail("patching: batch_overhead_rows must be >= 0, got ", opt.batch_overhead_rows);
  if (opt.first_layer < 0 || opt.first_layer >= c.n_layers)
    fail("patching: first_layer ", opt.first_layer, " is out of range (", c.n_layers, " layers)");
  Sweeper sw{e, c, opt, base, {}, {}, {}, 0, 0, 0, 0, {}, detail::LogitReader(opt.metric), false, {}, {}};
  sw.reference = !opt.reuse_prefix && !opt.reuse_positions;
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
  if (!sw.reference)  // the swept sites, to skip cells whose patch changes nothing
    for (Site s : sites)
      for (int l = 0; l < c.n_layers; ++l) bo.keep.insert({s, l});
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
    g.n_layers = c.n_layers - opt.first_layer;
    g.first_layer = opt.first_layer;
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
