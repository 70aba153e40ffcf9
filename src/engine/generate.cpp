#include "glassbox/generate.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "glassbox/error.h"

namespace glassbox {

int32_t sample_token(const float* logits, int64_t V, const SamplingOptions& o, std::mt19937_64& rng) {
  if (o.temperature <= 0) return int32_t(std::max_element(logits, logits + V) - logits);
  // Candidates sorted by logit; top-k then top-p trim the tail, as HF's warpers do.
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t k = o.top_k > 0 ? std::min<int64_t>(o.top_k, V) : V;
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  idx.resize(size_t(k));
  std::vector<double> p(idx.size());
  const double mx = logits[idx[0]];
  double sum = 0;
  for (size_t i = 0; i < idx.size(); ++i) sum += p[i] = std::exp((logits[idx[i]] - mx) / o.temperature);
  size_t keep = idx.size();
  if (o.top_p < 1.0f) {
    double cum = 0;
    for (size_t i = 0; i < idx.size(); ++i) {
      cum += p[i] / sum;
      if (cum >= o.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  std::discrete_distribution<size_t> dist(p.begin(), p.begin() + std::ptrdiff_t(keep));
  return idx[dist(rng)];
}

Generation generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts, const SamplingOptions& o,
                    const HookRegistry* hooks) {
  return generate(e, prompts, o, hooks, GenerateObserver{});
}

Generation generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts, const SamplingOptions& o,
                    const HookRegistry* hooks, const GenerateObserver& observe) {
  const Config& c = e.model().config();
  if (o.max_new_tokens < 0) fail("generate: max_new_tokens must be >= 0");
  if (o.top_p <= 0 || o.top_p > 1) fail("generate: top_p must be in (0, 1], got ", o.top_p);
  Batch batch = Batch::from_rows(prompts, /*pad_left=*/true);
  const int64_t total = batch.T + o.max_new_tokens;
  if (total > c.n_ctx)
    fail("generate: prompt of ", batch.T, " tokens + ", o.max_new_tokens, " new tokens exceeds the context of ",
         c.n_ctx);
  KVCache kv;
  kv.reset(c, batch.B, total);
  std::mt19937_64 rng(o.seed);
  Generation g;
  g.tokens.resize(size_t(batch.B));
  std::vector<uint8_t> done(size_t(batch.B), 0), stop(size_t(batch.B), 0);
  ForwardOptions fo;
  fo.logits = LogitsMode::Last;
  for (int step = 0; step < o.max_new_tokens; ++step) {
    ForwardResult r = e.forward(batch, hooks, &kv, fo);
    if (observe) {
      std::fill(stop.begin(), stop.end(), uint8_t(0));
      GenerateStep st{step, r.logits.f32(), batch.B, c.d_vocab, done.data(), stop.data(),
                       step > 0 ? batch.tokens.data() : nullptr};
      observe(st);
      for (int64_t b = 0; b < batch.B; ++b) done[size_t(b)] |= stop[size_t(b)];
    }
    Batch next;
    next.B = batch.B;
    next.T = 1;
    next.tokens.resize(size_t(batch.B));
    for (int64_t b = 0; b < batch.B; ++b) {
      const int32_t t = sample_token(r.logits.f32() + b * c.d_vocab, c.d_vocab, o, rng);
      next.tokens[size_t(b)] = t;
      if (!done[size_t(b)]) {  // (a row stopped by the observer emits nothing this step)
        g.tokens[size_t(b)].push_back(t);
        if (std::find(o.stop_tokens.begin(), o.stop_tokens.end(), t) != o.stop_tokens.end()) done[size_t(b)] = 1;
      }
    }
    if (std::all_of(done.begin(), done.end(), [](uint8_t d) { return d; })) break;
    batch = std::move(next);
  }
  return g;
}

}  // namespace glassbox
