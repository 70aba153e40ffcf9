#include "glassbox/features/crosscoder_diff.h"

#include <algorithm>
#include <cmath>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/hooks.h"

namespace glassbox::features {

namespace {

// "tiny-lm-chat/blocks.0.hook_resid_post" -> "blocks.0.hook_resid_post".
std::string site_of(const std::string& source) {
  const size_t slash = source.rfind('/');
  return slash == std::string::npos ? source : source.substr(slash + 1);
}

HookPoint source_hook(const Sae& xc, int s, const Model& m, const char* which) {
  const std::string& name = xc.cfg.source_names.at(size_t(s));
  const HookPoint hp = parse_hook_name(site_of(name), m.config());
  const Shape sh = site_shape(hp.site, m.config(), 1, 1, 1);
  if (sh.size() != 3 || sh[2] != xc.cfg.d_in)
    fail("crosscoder diff: source ", s, " ('", name, "') is read in the ", which, " model at ", hp.name(),
         ", which is not a residual-width site of ", xc.cfg.d_in, " values per token");
  return hp;
}

// Rows of `hp` at positions [from, to) of one token row.
std::vector<float> site_rows(Engine& e, const HookPoint& hp, const std::vector<int32_t>& tokens, int64_t from,
                             int64_t to, int64_t d) {
  ForwardOptions fo;
  fo.logits = LogitsMode::None;
  fo.keep.insert(hp);
  // Stop after the block that writes the site (the whole pass for a global or last-layer site).
  fo.stop_at_layer = hp.layer >= 0 && hp.layer + 1 < e.model().config().n_layers ? hp.layer + 1 : -1;
  const ForwardResult r = e.forward(Batch::single(tokens), nullptr, nullptr, fo);
  const float* a = r.get(hp).f32();
  return std::vector<float>(a + from * d, a + to * d);
}

void add_to(CrosscoderGroup& g, bool start, double v) { (start ? g.activation_start : g.activation_rest) += v; }

nlohmann::json group_json(const CrosscoderGroup& g) {
  return {{"latents", g.latents},
          {"activation_start", g.activation_start},
          {"activation_rest", g.activation_rest},
          {"start_share", g.start_share()}};
}

nlohmann::json latents_json(const std::vector<CrosscoderLatent>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& l : v)
    a.push_back({{"latent", l.latent},
                 {"relative_norm", l.relative_norm},
                 {"decoder_cosine", l.decoder_cosine},
                 {"freq_start", l.freq_start},
                 {"freq_rest", l.freq_rest},
                 {"mean_start", l.mean_start},
                 {"mean_rest", l.mean_rest},
                 {"max_activation", l.max_activation},
                 {"max_token", l.max_token}});
  return a;
}

}  // namespace

nlohmann::json CrosscoderDiff::to_json() const {
  return {{"technique", "crosscoder_diff"},
          {"base_hook", base_hook},
          {"tuned_hook", tuned_hook},
          {"d_sae", d_sae},
          {"n_prompts", n_prompts},
          {"start_positions", start_positions},
          {"positions", {{"start", positions_start}, {"rest", positions_rest}, {"start_share", start_position_share()}}},
          {"relative_norm_histogram", relative_norm_histogram},
          {"groups", {{"base_only", group_json(base_only)}, {"shared", group_json(shared)},
                      {"tuned_only", group_json(tuned_only)}}},
          {"exclusivity", {{"start", exclusivity_start}, {"rest", exclusivity_rest}}},
          {"decoder_cosine", {{"start", cosine_start}, {"rest", cosine_rest}}},
          {"top_tuned_only", latents_json(top_tuned_only)},
          {"top_base_only", latents_json(top_base_only)},
          {"top_start", latents_json(top_start)}};
}

CrosscoderDiff crosscoder_diff(const Model& base, const Model& tuned, const Sae& xc,
                               const std::vector<analysis::DiffPrompt>& prompts, const CrosscoderDiffOptions& opt) {
  analysis::check_diffable(base, tuned);
  if (xc.cfg.n_sources != 2 || !xc.cfg.autoencoder())
    fail("crosscoder diff: expected a crosscoder over two sources (the base's site, then the tuned model's), got ",
         xc.cfg.n_sources, " source(s)", xc.cfg.autoencoder() ? "" : " (a transcoder)");
  if (xc.cfg.source_names.size() != 2) fail("crosscoder diff: the crosscoder names ", xc.cfg.source_names.size(),
                                            " source sites; expected 2 (source_names in cfg.json)");
  if (prompts.empty()) fail("crosscoder diff: no prompts");
  if (!(opt.exclusive > 0.5 && opt.exclusive < 1)) fail("crosscoder diff: exclusive must be in (0.5, 1), got ", opt.exclusive);
  if (opt.start_positions < 1) fail("crosscoder diff: start_positions must be at least 1, got ", opt.start_positions);
  if (opt.bins < 1 || opt.top < 0) fail("crosscoder diff: bins must be positive and top non-negative");
  const HookPoint hb = source_hook(xc, 0, base, "base"), ht = source_hook(xc, 1, tuned, "tuned");
  const int64_t d = xc.cfg.d_in, S = xc.cfg.d_sae;

  CrosscoderDiff r;
  r.base_hook = hb.name();
  r.tuned_hook = ht.name();
  r.d_sae = S;
  r.n_prompts = int64_t(prompts.size());
  r.start_positions = opt.start_positions;

  // The latents' groups by relative decoder norm.
  const std::vector<float> norms = xc.decoder_norms_per_source();
  std::vector<double> rel(size_t(S), -1.0);
  std::vector<double> cosine(size_t(S), 0.0);
  std::vector<int8_t> group(size_t(S), 0);  // -1 base only, 0 shared, +1 tuned only
  r.relative_norm_histogram.assign(size_t(opt.bins), 0);
  for (int64_t j = 0; j < S; ++j) {
    const double nb = norms[size_t(2 * j)], nt = norms[size_t(2 * j + 1)];
    if (nb + nt <= 0) continue;
    rel[size_t(j)] = nt / (nb + nt);
    const float* dj = xc.W_dec.data() + j * 2 * d;
    double dot = 0;
    for (int64_t i = 0; i < d; ++i) dot += double(dj[i]) * dj[d + i];
    cosine[size_t(j)] = nb > 0 && nt > 0 ? dot / (nb * nt) : 0.0;
    r.relative_norm_histogram[size_t(std::min<int64_t>(opt.bins - 1, int64_t(rel[size_t(j)] * opt.bins)))] += 1;
    group[size_t(j)] = rel[size_t(j)] > opt.exclusive ? 1 : rel[size_t(j)] < 1 - opt.exclusive ? -1 : 0;
    CrosscoderGroup& g = group[size_t(j)] > 0 ? r.tuned_only : group[size_t(j)] < 0 ? r.base_only : r.shared;
    g.latents += 1;
  }

  // Encode both models' rows at every scored position (those predicting a response token).
  std::vector<CrosscoderLatent> lat(static_cast<size_t>(S));
  std::vector<int64_t> fired_start(size_t(S), 0), fired_rest(size_t(S), 0);
  double weight_start = 0, weight_rest = 0;
  Engine eb(base), et(tuned);
  std::vector<float> x, f;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const analysis::DiffPrompt& p = prompts[i];
    const int64_t T = int64_t(p.tokens.size());
    if (p.response_from < 1 || p.response_from >= T)
      fail("crosscoder diff: prompt ", i, " has response_from ", p.response_from, " outside [1, ", T, ")");
    const int64_t from = p.response_from - 1, to = T - 1, n = to - from;
    const std::vector<float> xb = site_rows(eb, hb, p.tokens, from, to, d), xt = site_rows(et, ht, p.tokens, from, to, d);
    x.resize(size_t(n * 2 * d));
    for (int64_t row = 0; row < n; ++row) {
      std::copy_n(xb.begin() + row * d, d, x.begin() + row * 2 * d);
      std::copy_n(xt.begin() + row * d, d, x.begin() + row * 2 * d + d);
    }
    f.resize(size_t(n * S));
    xc.encode(x.data(), n, f.data());
    for (int64_t row = 0; row < n; ++row) {
      const bool start = row < opt.start_positions;
      (start ? r.positions_start : r.positions_rest) += 1;
      for (int64_t j = 0; j < S; ++j) {
        const float v = f[size_t(row * S + j)];
        if (v <= 0) continue;
        CrosscoderLatent& l = lat[size_t(j)];
        (start ? l.mean_start : l.mean_rest) += v;
        (start ? fired_start : fired_rest)[size_t(j)] += 1;
        if (v > l.max_activation) l.max_activation = v, l.max_token = p.tokens[size_t(from + row)];
        if (rel[size_t(j)] >= 0) {
          CrosscoderGroup& g = group[size_t(j)] > 0 ? r.tuned_only : group[size_t(j)] < 0 ? r.base_only : r.shared;
          add_to(g, start, v);
          (start ? r.exclusivity_start : r.exclusivity_rest) += v * 2 * std::abs(rel[size_t(j)] - 0.5);
          (start ? r.cosine_start : r.cosine_rest) += v * cosine[size_t(j)];
          (start ? weight_start : weight_rest) += v;
        }
      }
    }
  }

  const auto mean = [](double sum, double w) { return w > 0 ? sum / w : 0.0; };
  r.exclusivity_start = mean(r.exclusivity_start, weight_start);
  r.exclusivity_rest = mean(r.exclusivity_rest, weight_rest);
  r.cosine_start = mean(r.cosine_start, weight_start);
  r.cosine_rest = mean(r.cosine_rest, weight_rest);

  std::vector<int64_t> tuned_ids, base_ids, start_ids;
  for (int64_t j = 0; j < S; ++j) {
    CrosscoderLatent& l = lat[size_t(j)];
    l.latent = j;
    l.relative_norm = rel[size_t(j)];
    l.decoder_cosine = cosine[size_t(j)];
    l.freq_start = r.positions_start ? double(fired_start[size_t(j)]) / double(r.positions_start) : 0.0;
    l.freq_rest = r.positions_rest ? double(fired_rest[size_t(j)]) / double(r.positions_rest) : 0.0;
    const double sum_start = l.mean_start, sum_rest = l.mean_rest;
    l.mean_start = r.positions_start ? sum_start / double(r.positions_start) : 0.0;
    l.mean_rest = r.positions_rest ? sum_rest / double(r.positions_rest) : 0.0;
    if (l.max_activation <= 0) continue;
    if (l.mean_start > l.mean_rest) start_ids.push_back(j);
    if (group[size_t(j)] > 0) tuned_ids.push_back(j);
    if (group[size_t(j)] < 0) base_ids.push_back(j);
  }
  const auto total = [&](int64_t j) {
    const CrosscoderLatent& l = lat[size_t(j)];
    return l.mean_start * double(r.positions_start) + l.mean_rest * double(r.positions_rest);
  };
  const auto start_excess = [&](int64_t j) { return lat[size_t(j)].mean_start - lat[size_t(j)].mean_rest; };
  const auto keep_top = [&](std::vector<int64_t> ids, const auto& key, std::vector<CrosscoderLatent>& out) {
    std::stable_sort(ids.begin(), ids.end(), [&](int64_t a, int64_t b) { return key(a) > key(b); });
    if (ids.size() > size_t(opt.top)) ids.resize(size_t(opt.top));
    for (int64_t j : ids) out.push_back(lat[size_t(j)]);
  };
  keep_top(tuned_ids, total, r.top_tuned_only);
  keep_top(base_ids, total, r.top_base_only);
  keep_top(start_ids, start_excess, r.top_start);
  return r;
}

}  // namespace glassbox::features
