#include "glassbox/analysis/logit_lens.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/detail.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

nlohmann::json LogitLensResult::to_json() const {
  nlohmann::json cells_j = nlohmann::json::array();
  for (size_t l = 0; l < layers.size(); ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (size_t p = 0; p < positions.size(); ++p) {
      const LensCell& c = at(l, p);
      nlohmann::json j = {{"top_tokens", c.top_tokens}, {"top_probs", c.top_probs}, {"kl_to_final", c.kl_to_final}};
      if (c.target >= 0) {
        j["target"] = c.target;
        j["target_rank"] = c.target_rank;
        j["target_prob"] = c.target_prob;
      }
      row.push_back(std::move(j));
    }
    cells_j.push_back(std::move(row));
  }
  return {{"technique", "logit_lens"}, {"layers", layers}, {"positions", positions}, {"tokens", tokens},
          {"cells", std::move(cells_j)}};
}

LogitLensResult logit_lens(Engine& e, const Batch& batch, const LogitLensOptions& opt,
                           const LensTranslator& translate) {
  const Model& m = e.model();
  const Config& c = m.config();
  const int64_t T = batch.T, d = c.d_model, V = c.d_vocab, L = c.n_layers;
  if (opt.row < 0 || opt.row >= batch.B) fail("logit_lens: row ", opt.row, " is out of range for ", batch.B, " rows");
  if (opt.top_k < 0) fail("logit_lens: top_k must be >= 0, got ", opt.top_k);

  LogitLensResult r;
  if (opt.positions.empty()) {
    r.positions.resize(static_cast<size_t>(T));
    std::iota(r.positions.begin(), r.positions.end(), int64_t(0));
  } else {
    for (int64_t p : opt.positions) r.positions.push_back(detail::resolve_pos(p, T, "logit_lens"));
  }
  const int64_t P = int64_t(r.positions.size());
  const int32_t* toks = batch.tokens.data() + opt.row * T;
  for (int64_t p : r.positions) r.tokens.push_back(toks[p]);

  std::vector<int32_t> targets(static_cast<size_t>(P), -1);
  for (int64_t i = 0; i < P; ++i) {
    const int64_t t = r.positions[size_t(i)];
    if (opt.targets.empty()) targets[size_t(i)] = t + 1 < T ? toks[t + 1] : -1;
    else if (opt.targets.size() == 1) targets[size_t(i)] = opt.targets[0];
    else if (int64_t(opt.targets.size()) == P) targets[size_t(i)] = opt.targets[size_t(i)];
    else fail("logit_lens: ", opt.targets.size(), " targets for ", P, " positions (give none, one or one per position)");
    if (targets[size_t(i)] >= V) fail("logit_lens: target token ", targets[size_t(i)], " is out of range [0, ", V, ")");
  }

  // Residual streams at the chosen positions only; the positions filter keeps the cache small.
  std::vector<HookPoint> sites;
  for (int l = 0; l < L; ++l) sites.push_back({Site::resid_pre, l});
  sites.push_back({Site::resid_post, int(L - 1)});
  CacheOptions co;
  for (const HookPoint& s : sites) co.names.push_back(s.name());
  co.positions = r.positions;
  const ActivationCache cache = run_with_cache(e, batch, co);

  // Final distribution: the model's own logits at those positions.
  std::vector<std::vector<double>> final_lp(static_cast<size_t>(P));
  const float* logits = cache.logits.f32();
  for (int64_t i = 0; i < P; ++i)
    detail::log_softmax(logits + (opt.row * T + r.positions[size_t(i)]) * V, V, final_lp[size_t(i)]);

  const int k = int(std::min<int64_t>(opt.top_k, V));
  std::vector<float> lens(static_cast<size_t>(P * V));
  std::vector<double> lp;
  std::vector<int32_t> idx(static_cast<size_t>(V));
  for (const HookPoint& s : sites) {
    r.layers.push_back(s.name());
    std::vector<float> x = detail::cached_f32(cache, s);  // [B, P, d]
    if (translate) translate(x.data() + opt.row * P * d, P, r.layers.size() - 1);
    detail::lens_logits(lens.data(), x.data() + opt.row * P * d, P, c, m.weights());
    for (int64_t i = 0; i < P; ++i) {
      LensCell cell;
      detail::log_softmax(lens.data() + i * V, V, lp);
      std::iota(idx.begin(), idx.end(), 0);
      std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                        [&](int32_t a, int32_t b) { return lp[size_t(a)] > lp[size_t(b)] || (lp[size_t(a)] == lp[size_t(b)] && a < b); });
      for (int j = 0; j < k; ++j) {
        cell.top_tokens.push_back(idx[size_t(j)]);
        cell.top_probs.push_back(float(std::exp(lp[size_t(idx[size_t(j)])])));
      }
      const int32_t tgt = targets[size_t(i)];
      if (tgt >= 0) {
        cell.target = tgt;
        cell.target_prob = float(std::exp(lp[size_t(tgt)]));
        int64_t rank = 0;
        for (int64_t v = 0; v < V; ++v) rank += lp[size_t(v)] > lp[size_t(tgt)];
        cell.target_rank = rank;
      }
      cell.kl_to_final = float(detail::kl(final_lp[size_t(i)], lp));
      r.cells.push_back(std::move(cell));
    }
  }
  return r;
}

}  // namespace glassbox::analysis
