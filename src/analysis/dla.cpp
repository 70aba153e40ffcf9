#include "glassbox/analysis/dla.h"

#include <cmath>

#include "analysis/detail.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

double DlaResult::sum() const {
  double s = 0;
  for (const DlaComponent& c : by_layer) s += c.value;
  return s;
}

nlohmann::json DlaResult::to_json() const {
  nlohmann::json comps = nlohmann::json::array();
  for (const DlaComponent& c : by_layer) comps.push_back({{"name", c.name}, {"value", c.value}});
  nlohmann::json j = {{"technique", "direct_logit_attribution"}, {"logit", logit}, {"sum", sum()},
                      {"by_layer", std::move(comps)}, {"n_layers", n_layers}};
  if (!by_head.empty()) {
    j["n_heads"] = n_heads;
    j["by_head"] = by_head;
    j["head_bias"] = head_bias;
  }
  if (!by_neuron.empty()) {
    j["d_mlp"] = d_mlp;
    j["by_neuron"] = by_neuron;
    j["neuron_bias"] = neuron_bias;
  }
  return j;
}

DlaResult direct_logit_attribution(Engine& e, const Batch& batch, const DlaOptions& opt) {
  const Model& m = e.model();
  const Config& c = m.config();
  const Weights& w = m.weights();
  const int64_t B = batch.B, T = batch.T, d = c.d_model, V = c.d_vocab, L = c.n_layers, H = c.n_heads;
  const int64_t dm = c.attn_only ? 0 : c.d_mlp;
  const int64_t pos = detail::resolve_pos(opt.pos, T, "direct_logit_attribution");
  if (opt.answer.empty()) fail("direct_logit_attribution: no answer token given");
  const auto ans = detail::per_row(opt.answer, B, "direct_logit_attribution: answer", int32_t(V));
  const auto wrong = opt.wrong.empty() ? std::vector<int32_t>{}
                                       : detail::per_row(opt.wrong, B, "direct_logit_attribution: wrong", int32_t(V));
  const bool norm = c.norm != NormKind::None, center = c.norm == NormKind::LayerNorm;
  // Gemma-2's post-norms sit between the heads (neurons) and hook_attn_out (hook_mlp_out): their parts do not add up.
  if (c.post_norms && (opt.heads || opt.neurons))
    fail("direct_logit_attribution: per-head and per-neuron attribution are undefined for a model with post-norms (",
         c.family, "): a norm sits between them and the residual stream; attribute by layer instead");

  CacheOptions co;
  co.positions = {pos};
  co.names = {"hook_embed"};
  if (c.positional == PosKind::Learned) co.names.push_back("hook_pos_embed");
  co.names.push_back("blocks.*.hook_attn_out");
  if (opt.heads) co.names.push_back("blocks.*.attn.hook_result");
  if (dm) {
    co.names.push_back("blocks.*.hook_mlp_out");
    if (opt.neurons) co.names.push_back("blocks.*.mlp.hook_post");
  }
  if (norm) co.names.push_back("ln_final.hook_scale");
  const ActivationCache cache = run_with_cache(e, batch, co);

  DlaResult r;
  r.n_layers = int(L);
  r.n_heads = opt.heads ? int(H) : 0;
  r.d_mlp = opt.neurons ? int(dm) : 0;
  if (opt.heads) r.by_head.assign(size_t(L * H), 0.0), r.head_bias.assign(size_t(L), 0.0);
  if (opt.neurons && dm) r.by_neuron.assign(size_t(L * dm), 0.0), r.neuron_bias.assign(size_t(L), 0.0);

  const std::vector<float> scale = norm ? detail::cached_f32(cache, {Site::ln_final_scale, -1}) : std::vector<float>{};
  std::vector<std::pair<std::string, std::vector<float>>> acts;  // [B, 1, d] per component, by_layer order
  auto add_site = [&](HookPoint p) { acts.push_back({p.name(), detail::cached_f32(cache, p)}); };
  add_site({Site::embed, -1});
  if (c.positional == PosKind::Learned) add_site({Site::pos_embed, -1});
  for (int l = 0; l < L; ++l) {
    add_site({Site::attn_out, l});
    if (dm) add_site({Site::mlp_out, l});
  }
  std::vector<double> comp(acts.size(), 0.0);
  std::vector<std::vector<float>> results(static_cast<size_t>(L)), posts(static_cast<size_t>(L));
  for (int l = 0; l < L; ++l) {
    if (opt.heads) results[size_t(l)] = detail::cached_f32(cache, {Site::result, l});  // [B, 1, H, d]
    if (opt.neurons && dm) posts[size_t(l)] = detail::cached_f32(cache, {Site::mlp_post, l});  // [B, 1, d_mlp]
  }
  double logit = 0, bias = 0;

  std::vector<double> u(static_cast<size_t>(d));  // the direction in the residual stream, divided by the row's scale
  for (int64_t b = 0; b < B; ++b) {
    // u = w_ln * (W_U[:, a] - W_U[:, c]); centred for LayerNorm so that center(x) . u = x . u_c.
    double dir_bias = w.b_U ? double(w.b_U[ans[size_t(b)]]) - (wrong.empty() ? 0.0 : w.b_U[wrong[size_t(b)]]) : 0.0;
    double mean = 0;
    for (int64_t j = 0; j < d; ++j) {
      double x = detail::at(w.W_U, j, ans[size_t(b)]) - (wrong.empty() ? 0.0 : detail::at(w.W_U, j, wrong[size_t(b)]));
      if (w.ln_final_b) dir_bias += double(w.ln_final_b[j]) * x;
      if (w.ln_final_w) x *= w.ln_final_w[j];
      u[size_t(j)] = x;
      mean += x;
    }
    mean /= double(d);
    const double s = norm ? double(scale[size_t(b)]) : 1.0;
    for (int64_t j = 0; j < d; ++j) u[size_t(j)] = ((center ? u[size_t(j)] - mean : u[size_t(j)])) / s;
    auto dot = [&](const float* x) {
      double acc = 0;
      for (int64_t j = 0; j < d; ++j) acc += double(x[j]) * u[size_t(j)];
      return acc;
    };
    for (size_t i = 0; i < acts.size(); ++i) comp[i] += dot(acts[i].second.data() + b * d) / double(B);
    bias += dir_bias / double(B);
    const float* lg = cache.logits.f32() + (b * T + pos) * V;
    logit += (double(lg[ans[size_t(b)]]) - (wrong.empty() ? 0.0 : double(lg[wrong[size_t(b)]]))) / double(B);

    for (int l = 0; l < L; ++l) {
      const LayerWeights& lw = w.layers[size_t(l)];
      if (opt.heads) {
        const std::vector<float>& result = results[size_t(l)];
        for (int64_t h = 0; h < H; ++h) r.by_head[size_t(l * H + h)] += dot(result.data() + (b * H + h) * d) / double(B);
        if (lw.b_O) r.head_bias[size_t(l)] += dot(lw.b_O) / double(B);
      }
      if (opt.neurons && dm) {
        const std::vector<float>& post = posts[size_t(l)];
        for (int64_t n = 0; n < dm; ++n) {
          double wu = 0;
          for (int64_t j = 0; j < d; ++j) wu += double(detail::at(lw.W_out, n, j)) * u[size_t(j)];
          r.by_neuron[size_t(l * dm + n)] += double(post[size_t(b * dm + n)]) * wu / double(B);
        }
        if (lw.b_out) r.neuron_bias[size_t(l)] += dot(lw.b_out) / double(B);
      }
    }
  }
  for (size_t i = 0; i < acts.size(); ++i) r.by_layer.push_back({acts[i].first, comp[i]});
  r.by_layer.push_back({"bias", bias});
  r.logit = logit;
  return r;
}

}  // namespace glassbox::analysis
