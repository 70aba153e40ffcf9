// The collector's pass: batches of corpus sequences through the engine up to
// the feature map's hook, encoded and handed to the accumulators.
#include "glassbox/features/collect.h"

#include <algorithm>

#include "features/collect_state.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::features {

namespace {

void check_options(const CollectOptions& o) {
  auto need = [](bool ok, const char* what) {
    if (!ok) fail("collect_dashboards: ", what);
  };
  need(o.top_k >= 0 && o.top_k <= 10000, "top_k must be in [0, 10000]");
  need(o.quantile_bands >= 0 && o.quantile_bands <= 100, "quantile_bands must be in [0, 100]");
  need(o.per_band >= 0 && o.per_band <= 1000, "per_band must be in [0, 1000]");
  need(o.random >= 0 && o.random <= 10000, "random must be in [0, 10000]");
  need(o.context_before >= 0 && o.context_after >= 0 && o.context_before + o.context_after <= 4096,
       "context_before / context_after must be >= 0 and sum to at most 4096");
  need(o.cooccur_top >= 0 && o.cooccur_top <= 64, "cooccur_top must be in [0, 64]");
  need(o.cooccur_slots >= 1 && o.cooccur_slots <= 4096, "cooccur_slots must be in [1, 4096]");
  need(o.cooccurring >= 0, "cooccurring must be >= 0");
  need(o.logit_k >= 0, "logit_k must be >= 0");
  need(o.histogram_bins >= 1 && o.histogram_bins <= 10000, "histogram_bins must be in [1, 10000]");
  need(o.batch >= 1, "batch must be >= 1");
  need(o.max_tokens >= 0, "max_tokens must be >= 0");
}

// Where the pass can stop: right after the block that fires the hook.
int stop_layer(HookPoint p) {
  if (p.site == Site::embed || p.site == Site::pos_embed) return 0;
  return p.layer >= 0 ? p.layer + 1 : -1;  // ln_final: every block (logits are off anyway)
}

std::vector<std::string> token_texts(const Model& m) {
  std::vector<std::string> t(size_t(m.config().d_vocab));
  const Tokenizer* tok = m.tokenizer();
  for (size_t i = 0; i < t.size(); ++i)
    t[i] = tok && int32_t(i) < tok->vocab_size() ? tok->token_to_bytes(int32_t(i)) : std::string("#").append(std::to_string(i));
  return t;
}

}  // namespace

Dashboards collect_dashboards(Engine& e, const FeatureMap& map, const std::vector<int32_t>& corpus,
                              const CollectOptions& opt) {
  check_options(opt);
  const Model& m = e.model();
  const Config& c = m.config();
  const HookPoint hook = parse_hook_name(map.hook_name(), c);
  const SiteShape shape = site_info(hook.site).shape;
  if (shape == SiteShape::Scores)
    fail("collect_dashboards: ", hook.name(), " is not a per-token site (it is indexed by query and key)");
  const int64_t row = numel(site_shape(hook.site, c, 1, 1, 1));
  if (row != map.d_in())
    fail("collect_dashboards: the feature map reads ", map.d_in(), " values per token but ", hook.name(), " has ",
         row);
  const int64_t F = map.n_features();
  if (F <= 0) fail("collect_dashboards: the feature map has no features");
  const int L = opt.seq_len > 0 ? opt.seq_len : c.n_ctx;
  if (L < 2 || L > c.n_ctx) fail("collect_dashboards: seq_len ", L, " must be in [2, ", c.n_ctx, "] (the context)");

  const int64_t N0 = opt.max_tokens > 0 ? std::min<int64_t>(opt.max_tokens, int64_t(corpus.size()))
                                        : int64_t(corpus.size());
  const int64_t tail = N0 % L >= 2 ? N0 % L : 0;  // a last sequence of one token has no context: dropped
  const int64_t n_seq = N0 / L + (tail ? 1 : 0), N = (N0 / L) * L + tail;
  if (N == 0) fail("collect_dashboards: the corpus has ", corpus.size(), " tokens; at least 2 are needed");
  for (int64_t i = 0; i < N; ++i)
    if (corpus[size_t(i)] < 0 || corpus[size_t(i)] >= c.d_vocab)
      fail("collect_dashboards: corpus token ", i, " is ", corpus[size_t(i)], ", outside the vocabulary [0, ",
           c.d_vocab, ")");

  detail::FeatureAccumulators acc(F, opt, N, L);
  ForwardOptions fo;
  fo.logits = LogitsMode::None;
  fo.keep = {hook};
  fo.stop_at_layer = stop_layer(hook);
  // The features of a batch, [B*T, F] floats, stay under ~64 MB (a GPT-2 SAE's
  // 24k latents over 1k-token sequences would otherwise want gigabytes).
  const int64_t max_batch = std::clamp<int64_t>((int64_t(1) << 24) / (int64_t(L) * F), 1, opt.batch);
  std::vector<float> f;
  Batch b;
  for (int64_t s0 = 0; s0 < n_seq;) {
    // Full sequences in batches; the shorter last one on its own.
    const int64_t T = std::min<int64_t>(L, N - s0 * L);
    const int64_t B = T < L ? 1 : std::min<int64_t>(max_batch, (N / L) - s0);
    b.B = B, b.T = T;
    b.tokens.assign(corpus.begin() + s0 * L, corpus.begin() + s0 * L + B * T);
    const ForwardResult r = e.forward(b, nullptr, nullptr, fo);
    const Tensor& x = r.get(hook);
    f.resize(size_t(B * T * F));
    map.encode(x.f32(), B * T, f.data());
    acc.add_batch(f.data(), B, T, s0);
    s0 += B;
    if (opt.progress) opt.progress(std::min(N, s0 * L), N);
  }

  Dashboards out;
  acc.finish(corpus, token_texts(m), out.examples, out.data.features);
  const std::vector<LogitEffects> logits = logit_effects(m, map, opt.logit_k);
  for (size_t j = 0; j < logits.size(); ++j) {
    out.data.features[j].top_logits = logits[j].top;
    out.data.features[j].bottom_logits = logits[j].bottom;
  }
  FeatureDashboardData& d = out.data;
  d.model = m.source();
  d.hook_name = hook.name();
  d.n_features = F;
  d.tokens = N;
  d.sequences = n_seq;
  d.seq_len = L;
  d.context_before = opt.context_before;
  d.context_after = opt.context_after;
  return out;
}

}  // namespace glassbox::features
