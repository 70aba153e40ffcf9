#include "glassbox/analysis/attribution_patching.h"

#include <map>

#include "analysis/detail.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

std::vector<PatchGrid> attribution_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                                            const std::vector<Site>& sites, const PatchingOptions& opt) {
  const Config& c = e.model().config();
  detail::check_pair(clean, corrupt, "attribution_patching");
  detail::check_patch_sites(c, sites, "attribution_patching");
  const bool denoise = opt.direction == PatchDirection::Denoise;
  const Batch& base = denoise ? corrupt : clean;
  const Batch& source = denoise ? clean : corrupt;
  const int64_t L = c.n_layers, B = base.B, T = base.T;

  CacheOptions co;
  for (Site s : sites) {
    co.names.push_back(std::string("blocks.*.") + site_suffix(s));
    co.with_result |= s == Site::result;
  }
  const ActivationCache src = run_with_cache(e, source, co);
  const double v_source = opt.metric.value(src.logits, T);

  // The base run: forward keeping the swept sites, backward from the metric
  // with gradient hooks collecting d metric / d activation at every swept site.
  HookRegistry reg(c);
  std::map<HookPoint, std::vector<float>> grads;
  std::vector<HookHandle> hs;
  ForwardOptions fo;
  fo.for_backward = true;
  // A metric at the last position needs only that row of logits, forward and backward.
  if (opt.metric.pos == -1) fo.logits = LogitsMode::Last;
  for (Site s : sites) {
    fo.compute_result |= s == Site::result;
    for (int l = 0; l < L; ++l) fo.keep.insert({s, l});
    hs.push_back(reg.add(std::string("blocks.*.") + site_suffix(s), [&grads](TensorView& g, const HookContext& ctx) {
      grads[ctx.point].assign(g.data, g.data + g.numel());
    }, HookMode::Grad));
  }
  const ForwardResult fwd = e.forward(base, &reg, nullptr, fo);
  Tensor dlogits;
  const double v_base = opt.metric.value(fwd.logits, T, &dlogits);
  e.backward(base, fwd, dlogits.f32(), &reg);

  const double v_clean = denoise ? v_source : v_base, v_corrupt = denoise ? v_base : v_source;
  if (opt.metric.normalize && v_clean == v_corrupt)
    fail("attribution_patching: the clean and corrupted runs give the same metric (", v_clean,
         "), so the normalised metric is undefined; set normalize = false");
  auto normalize = [&](double est) {
    const double v = v_base + est;
    return float(opt.metric.normalize ? (v - v_corrupt) / (v_clean - v_corrupt) : v);
  };

  std::vector<PatchGrid> out;
  for (Site s : sites) {
    PatchGrid g;
    g.hook = site_suffix(s);
    g.site = s;
    g.by_head = patchable_by_head(s);
    g.n_layers = L;
    g.clean = v_clean;
    g.corrupt = v_corrupt;
    g.normalized = opt.metric.normalize;
    g.method = "attribution_patching";
    const Shape shape = site_shape(s, c, B, T, T);
    g.n_cols = g.by_head ? (s == Site::pattern ? shape[1] : shape[2]) : T;
    for (int l = 0; l < L; ++l) {
      const HookPoint hp{s, l};
      const std::vector<float>& gr = grads.at(hp);
      const float* a_base = fwd.get(hp).f32();
      const float* a_src = src[hp.name()].f32();
      std::vector<double> est(static_cast<size_t>(g.n_cols), 0.0);
      if (s == Site::pattern) {  // [B, H, T, T]
        const int64_t H = shape[1], TT = T * T;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t i = (b * H + h) * TT, end = i + TT; i < end; ++i)
              est[size_t(h)] += double(a_src[i] - a_base[i]) * gr[size_t(i)];
      } else {  // [B, T, n_heads, width] or [B, T, d]
        const int64_t inner = numel(shape) / (B * T);
        const int64_t heads = g.by_head ? g.n_cols : 1, width = inner / heads;
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = 0; t < T; ++t)
            for (int64_t h = 0; h < heads; ++h) {
              double acc = 0;
              for (int64_t i = ((b * T + t) * heads + h) * width, end = i + width; i < end; ++i)
                acc += double(a_src[i] - a_base[i]) * gr[size_t(i)];
              est[size_t(g.by_head ? h : t)] += acc;
            }
      }
      for (double x : est) g.values.push_back(normalize(x));
    }
    g.forward_runs = 0;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace glassbox::analysis
