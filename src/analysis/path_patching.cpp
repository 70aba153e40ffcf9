#include "glassbox/analysis/path_patching.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "analysis/detail.h"
#include "analysis/patching_batch.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

std::string PathReceiver::name(const Config& c) const {
  if (is_final()) return HookPoint{Site::resid_post, c.n_layers - 1}.name();
  return HookPoint{input, layer}.name() + "[" + std::to_string(head) + "]";
}

namespace {

using Acts = std::map<HookPoint, Tensor>;

void check_receivers(const Config& c, const std::vector<PathReceiver>& rs, const char* what) {
  if (rs.empty()) fail(what, ": no receivers given");
  for (size_t i = 0; i < rs.size(); ++i) {
    const PathReceiver& r = rs[i];
    if (r.is_final()) continue;
    if (r.layer >= c.n_layers)
      fail(what, ": receivers[", i, "]: layer ", r.layer, " is out of range for ", c.n_layers, " layers");
    if (r.input != Site::q && r.input != Site::k && r.input != Site::v)
      fail(what, ": receivers[", i, "]: input '", site_suffix(r.input), "' is not attn.hook_q, hook_k or hook_v");
    const int n = r.input == Site::q ? c.n_heads : c.n_kv_heads;
    if (r.head < 0 || r.head >= n)
      fail(what, ": receivers[", i, "]: head ", r.head, " is out of range for the ", n, " heads of ",
           HookPoint{r.input, r.layer}.name());
  }
}

// The final residual stream counts as layer n_layers.
int receiver_layer(const Config& c, const PathReceiver& r) { return r.is_final() ? c.n_layers : r.layer; }

struct PathPatcher {
  Engine& e;
  const Config& c;
  const PathPatchingOptions& opt;
  const Batch& base;
  ForwardOptions fo;
  Acts base_acts, source_acts;
  double v_base = 0, v_clean = 0, v_corrupt = 0;
  int64_t mpos = 0;
  detail::LogitReader reader;
  std::vector<float> start_rows;

  PathPatcher(Engine& eng, const Batch& clean, const Batch& corrupt, const PathPatchingOptions& o, const char* what)
      : e(eng), c(eng.model().config()), opt(o), base(o.direction == PatchDirection::Denoise ? corrupt : clean),
        reader(o.metric) {
    detail::check_pair(clean, corrupt, what);
    const Batch& source = &base == &clean ? corrupt : clean;
    mpos = detail::resolve_pos(opt.metric.pos, base.T, what);
    fo.logits = mpos == base.T - 1 ? LogitsMode::Last : LogitsMode::All;
    // Step a: every head's z of both runs; the base's MLP outputs and final stream for freezing and deltas.
    ForwardOptions src_o = fo, base_o = fo;
    for (int l = 0; l < c.n_layers; ++l) {
      src_o.keep.insert(HookPoint{Site::z, l});
      base_o.keep.insert(HookPoint{Site::z, l});
      if (opt.freeze_mlps && site_exists(Site::mlp_out, c)) base_o.keep.insert(HookPoint{Site::mlp_out, l});
    }
    base_o.keep.insert({Site::resid_post, c.n_layers - 1});
    for (int l = 1; l < c.n_layers; ++l) base_o.keep.insert({Site::resid_pre, l});  // where batched passes start
    const double v_source = keep_run(source, src_o, source_acts);
    v_base = keep_run(base, base_o, base_acts);
    const bool denoise = opt.direction == PatchDirection::Denoise;
    v_clean = denoise ? v_source : v_base;
    v_corrupt = denoise ? v_base : v_source;
    if (opt.metric.normalize && v_clean == v_corrupt)
      fail(what, ": the clean and corrupted runs give the same metric (", v_clean,
           "), so the normalised metric is undefined; set normalize = false");
  }

  double keep_run(const Batch& b, const ForwardOptions& o, Acts& out) {
    ForwardResult r = e.forward(b, nullptr, nullptr, o);
    for (auto& [p, t] : r.kept) out[p] = std::move(t);
    return opt.metric.value(r.logits, b.T);
  }

  float normalize(double v) const {
    return float(opt.metric.normalize ? (v - v_corrupt) / (v_clean - v_corrupt) : v);
  }

  // Steps b and c for k sender sets at once: copy j of the base's rows has
  // the senders senders[j] (sender[l * n_heads + h] marks them). With
  // `batched`, step b starts at layer `from` (below it every z is the base's:
  // the base's residual stream there), step c at the first receiver's layer,
  // and the metric reads only its logits; else both are full forwards (k = 1).
  // Returns the raw metric of each copy.
  std::vector<double> run(const std::vector<std::vector<uint8_t>>& senders, const std::vector<PathReceiver>& receivers,
                          int from, bool batched) {
    const int64_t k = int64_t(senders.size()), H = c.n_heads, dh = c.d_head, B = base.B, T = base.T, N = B * T;
    std::vector<int64_t> copies(static_cast<size_t>(k));
    for (int64_t j = 0; j < k; ++j) copies[size_t(j)] = j;
    const Batch tiled = detail::tile_batch(base, k, 0);
    auto options = [&](int start) {
      ForwardOptions o = fo;
      if (!batched) return o;
      reader.narrow(o, mpos, 0);
      o.start_at_layer = start;
      if (start > 0 && start < c.n_layers)
        o.start_resid = detail::tile_rows(base_acts.at({Site::resid_pre, start}).f32(), B, T, c.d_model, 0, k,
                                          start_rows);
      return o;
    };
    auto metrics = [&](const Tensor& logits) {
      std::vector<double> v(static_cast<size_t>(k));
      for (int64_t j = 0; j < k; ++j)
        v[size_t(j)] = batched ? reader.value(logits, j, B) : opt.metric.value(logits, T);
      return v;
    };
    HookRegistry freeze(c);
    std::vector<HookHandle> hs;
    for (int l = batched ? from : 0; l < c.n_layers; ++l) {
      const float* bz = base_acts.at(HookPoint{Site::z, l}).f32();
      const float* sz = source_acts.at(HookPoint{Site::z, l}).f32();
      hs.push_back(freeze.add(HookPoint{Site::z, l}, detail::batch_hook(copies, B, [=, &senders](TensorView& act, const HookContext&, int64_t j) {
        const uint8_t* is_sender = senders[size_t(j)].data() + l * H;
        for (int64_t i = 0; i < N * H; ++i)
          std::memcpy(act.data + i * dh, (is_sender[i % H] ? sz : bz) + i * dh, size_t(dh) * sizeof(float));
      }), HookMode::Replace));
      if (opt.freeze_mlps && site_exists(Site::mlp_out, c)) {
        const Tensor& m = base_acts.at(HookPoint{Site::mlp_out, l});
        hs.push_back(freeze.add(HookPoint{Site::mlp_out, l}, detail::batch_hook(copies, B, [&m](TensorView& act, const HookContext&, int64_t) {
          std::memcpy(act.data, m.f32(), m.nbytes());
        }), HookMode::Replace));
      }
    }
    // Step b records what the receivers read: their layer's whole q / k / v, or the final stream.
    Acts rec;
    bool to_final = false, to_heads = false;
    int first_receiver = c.n_layers;
    const HookPoint final_stream{Site::resid_post, c.n_layers - 1};
    for (const PathReceiver& r : receivers) {
      to_final |= r.is_final();
      to_heads |= !r.is_final();
      if (!r.is_final()) first_receiver = std::min(first_receiver, r.layer);
      const HookPoint p = r.is_final() ? final_stream : HookPoint{r.input, r.layer};
      if (rec.count(p)) continue;
      rec[p] = Tensor();
      hs.push_back(freeze.add(p, [&rec](TensorView& act, const HookContext& ctx) {
        rec[ctx.point] = Tensor::from_f32(act.data, act.shape);
      }));
    }
    ForwardOptions fb = options(from);
    if (to_heads) fb.logits = LogitsMode::None, fb.logit_positions.clear(), fb.logit_tokens.clear();
    const ForwardResult rb = e.forward(tiled, &freeze, nullptr, fb);
    if (!to_heads) return metrics(rb.logits);

    // Step c: only the receivers' inputs change; everything downstream recomputes.
    HookRegistry patch(c);
    std::vector<HookHandle> hc;
    for (const PathReceiver& r : receivers) {
      if (r.is_final()) continue;
      const int64_t n = r.input == Site::q ? H : c.n_kv_heads, h = r.head;
      const float* src = rec.at(HookPoint{r.input, r.layer}).f32();
      hc.push_back(patch.add(HookPoint{r.input, r.layer}, detail::batch_hook(copies, B, [=](TensorView& act, const HookContext&, int64_t j) {
        const float* s = src + j * N * n * dh;
        for (int64_t i = 0; i < N; ++i)
          std::memcpy(act.data + (i * n + h) * dh, s + (i * n + h) * dh, size_t(dh) * sizeof(float));
      }), HookMode::Replace));
    }
    if (to_final) {
      // The senders' change to the final stream in step b: their direct path, added to step c's own stream.
      const float* b_final = rec.at(final_stream).f32();
      const float* base_final = base_acts.at(final_stream).f32();
      const int64_t n = N * c.d_model;
      hc.push_back(patch.add(final_stream, detail::batch_hook(copies, B, [=](TensorView& act, const HookContext&, int64_t j) {
        const float* bf = b_final + j * n;
        for (int64_t i = 0; i < n; ++i) act.data[i] += bf[i] - base_final[i];
      }), HookMode::Replace));
    }
    return metrics(e.forward(tiled, &patch, nullptr, options(first_receiver)).logits);
  }

  // How many sender sets one batched pass may hold (its activations, step b's records).
  int64_t max_copies() const {
    if (opt.batch_bytes == 0) return 1;
    const int64_t B = base.B, T = base.T;
    ForwardOptions o = fo;
    reader.narrow(o, mpos, 0);
    const size_t records = size_t(B * T * (c.d_model + 3 * c.n_heads * c.d_head)) * sizeof(float);
    return detail::cells_per_batch(e, B, T, o, opt.batch_bytes, records);
  }
};

}  // namespace

double path_patch(Engine& e, const Batch& clean, const Batch& corrupt, const std::vector<HeadRef>& senders,
                  const std::vector<PathReceiver>& receivers, const PathPatchingOptions& opt) {
  const Config& c = e.model().config();
  if (senders.empty()) fail("path_patch: no senders given");
  check_receivers(c, receivers, "path_patch");
  std::vector<uint8_t> is_sender(size_t(c.n_layers * c.n_heads), 0);
  for (size_t i = 0; i < senders.size(); ++i) {
    const HeadRef& s = senders[i];
    if (s.layer < 0 || s.layer >= c.n_layers)
      fail("path_patch: senders[", i, "]: layer ", s.layer, " is out of range for ", c.n_layers, " layers");
    if (s.head < 0 || s.head >= c.n_heads)
      fail("path_patch: senders[", i, "]: head ", s.head, " is out of range for ", c.n_heads, " heads");
    for (size_t j = 0; j < receivers.size(); ++j)
      if (receiver_layer(c, receivers[j]) <= s.layer)
        fail("path_patch: receivers[", j, "] (", receivers[j].name(c), ") is not downstream of senders[", i,
             "] (layer ", s.layer, "); every receiver must lie in a later layer than every sender");
    is_sender[size_t(s.layer * c.n_heads + s.head)] = 1;
  }
  PathPatcher pp(e, clean, corrupt, opt, "path_patch");
  return pp.normalize(pp.run({is_sender}, receivers, 0, false).front());
}

PatchGrid path_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                        const std::vector<PathReceiver>& receivers, const PathPatchingOptions& opt) {
  const Config& c = e.model().config();
  check_receivers(c, receivers, "path_patching");
  PathPatcher pp(e, clean, corrupt, opt, "path_patching");
  int reach = 0;
  bool to_heads = false;
  for (const PathReceiver& r : receivers) {
    reach = std::max(reach, receiver_layer(c, r));
    to_heads |= !r.is_final();
  }
  PatchGrid g;
  g.hook = site_suffix(Site::z);
  g.site = Site::z;
  g.by_head = true;
  g.n_layers = c.n_layers;
  g.n_cols = c.n_heads;
  g.clean = pp.v_clean;
  g.corrupt = pp.v_corrupt;
  g.normalized = opt.metric.normalize;
  g.method = "path_patching";
  for (const PathReceiver& r : receivers) g.receivers.push_back(r.name(c));
  // The heads of one layer as the copies of a few batched passes.
  const int64_t cap = pp.max_copies();
  for (int l = 0; l < c.n_layers; ++l) {
    if (l >= reach) {  // downstream of every receiver: no path, nothing changes
      g.values.insert(g.values.end(), size_t(c.n_heads), pp.normalize(pp.v_base));
      continue;
    }
    for (int h0 = 0; h0 < c.n_heads; h0 += int(cap)) {
      std::vector<std::vector<uint8_t>> senders;
      for (int h = h0; h < c.n_heads && h < h0 + cap; ++h) {
        senders.emplace_back(size_t(c.n_layers * c.n_heads), 0);
        senders.back()[size_t(l * c.n_heads + h)] = 1;
      }
      for (double v : pp.run(senders, receivers, l, true)) g.values.push_back(pp.normalize(v));
      g.forward_runs += to_heads ? 2 : 1;
    }
  }
  return g;
}

}  // namespace glassbox::analysis
