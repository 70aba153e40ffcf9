// FeatureExamples over the superposition organism's samples: its features
// read as text, a sample's "tokens" being the names of its active features.
#include <algorithm>
#include <numeric>

#include "glassbox/error.h"
#include "glassbox/features/superposition.h"

namespace glassbox::features {

ActivationRecord superposition_record(const zoo::SuperpositionModel& model, const FeatureMap& map, const float* x,
                                      int64_t latent) {
  const int64_t n = model.n_features, m = model.d_hidden, K = map.n_features();
  if (map.d_in() != m) fail("superposition_record: the feature map reads ", map.d_in(), " dims, hook_hidden has ", m);
  if (latent < 0 || latent >= K) fail("superposition_record: latent ", latent, " out of range [0, ", K, ")");
  std::vector<int64_t> active;
  for (int64_t i = 0; i < n; ++i)
    if (x[i] > 0) active.push_back(i);
  std::stable_sort(active.begin(), active.end(), [x](int64_t a, int64_t b) { return x[a] > x[b]; });
  ActivationRecord r;
  if (active.empty()) return r;
  // One row per active feature: h of the sample reduced to that feature alone.
  const int64_t T = int64_t(active.size());
  std::vector<float> h(static_cast<size_t>(T * m)), f(static_cast<size_t>(T * K));
  for (int64_t t = 0; t < T; ++t)
    for (int64_t k = 0; k < m; ++k) h[size_t(t * m + k)] = model.W[size_t(k * n + active[size_t(t)])] * x[active[size_t(t)]];
  map.encode(h.data(), T, f.data());
  for (int64_t t = 0; t < T; ++t) {
    r.tokens.push_back(model.names[size_t(active[size_t(t)])]);
    r.acts.push_back(f[size_t(t * K + latent)]);
  }
  return r;
}

namespace {

// Indices of samples in decreasing order of latent j's activation, active ones only.
std::vector<int64_t> active_by_rank(const std::vector<float>& F, int64_t S, int64_t K, int64_t j) {
  std::vector<int64_t> idx;
  for (int64_t s = 0; s < S; ++s)
    if (F[size_t(s * K + j)] > 0) idx.push_back(s);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int64_t a, int64_t b) { return F[size_t(a * K + j)] > F[size_t(b * K + j)]; });
  return idx;
}

}  // namespace

std::vector<FeatureExamples> superposition_examples(const zoo::SuperpositionModel& model, const FeatureMap& map,
                                                    const SuperpositionExamplesOptions& opt) {
  if (opt.samples <= 0 || opt.top < 0 || opt.quantiles < 0 || opt.random < 0)
    fail("superposition_examples: samples must be positive and the record counts non-negative");
  if (map.d_in() != model.d_hidden)
    fail("superposition_examples: the feature map reads ", map.d_in(), " dims, hook_hidden has ", model.d_hidden);
  SuperpositionStream stream(model, opt.seed, opt.samples);
  ActivationBatch batch;
  const int64_t S = stream.next(batch, opt.samples), n = model.n_features, K = map.n_features();
  const std::vector<float> X = stream.last_features();
  std::vector<float> F(static_cast<size_t>(S * K));
  map.encode(batch.sites[0].data(), S, F.data());
  auto nonempty = [&](int64_t s) { return std::any_of(X.begin() + s * n, X.begin() + (s + 1) * n, [](float v) { return v > 0; }); };
  // The random records: the first non-empty samples of a shuffled order, shared by all latents.
  std::vector<int64_t> order(static_cast<size_t>(S));
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(opt.seed ^ 0x7a11f00dull);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  std::vector<int64_t> random;
  for (int64_t s : order)
    if (int64_t(random.size()) < opt.random && nonempty(s)) random.push_back(s);

  std::vector<FeatureExamples> out(static_cast<size_t>(K));
  for (int64_t j = 0; j < K; ++j) {
    FeatureExamples& e = out[size_t(j)];
    e.feature = j;
    const std::vector<int64_t> ranked = active_by_rank(F, S, K, j);
    e.density = double(ranked.size()) / double(S);
    const size_t n_top = std::min(ranked.size(), size_t(opt.top));
    for (size_t i = 0; i < n_top; ++i) e.top.push_back(superposition_record(model, map, &X[size_t(ranked[i] * n)], j));
    const size_t rest = ranked.size() - n_top;
    for (int q = 0; q < opt.quantiles && rest > 0; ++q) {
      const size_t i = n_top + (size_t(q) * rest) / size_t(opt.quantiles);
      if (q > 0 && i == n_top + (size_t(q - 1) * rest) / size_t(opt.quantiles)) continue;  // fewer samples than quantiles
      e.quantiles.push_back(superposition_record(model, map, &X[size_t(ranked[i] * n)], j));
    }
    for (int64_t s : random) e.random.push_back(superposition_record(model, map, &X[size_t(s * n)], j));
  }
  return out;
}

}  // namespace glassbox::features
