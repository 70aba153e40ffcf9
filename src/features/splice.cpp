#include "glassbox/features/splice.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/interventions.h"
#include "kernels/kernels.h"

namespace glassbox::features {

nlohmann::json SpliceMetrics::to_json() const {
  return {{"tokens", tokens},
          {"ce_clean", ce_clean},
          {"ce_spliced", ce_spliced},
          {"ce_spliced_with_error", ce_spliced_with_error},
          {"ce_ablated", ce_ablated},
          {"ce_loss_recovered", ce_loss_recovered},
          {"kl_spliced", kl_spliced},
          {"kl_spliced_with_error", kl_spliced_with_error},
          {"kl_ablated", kl_ablated}};
}

namespace {

// Sums of -log p(target) and KL(clean || run) over the predicted positions of one batch.
struct Sums {
  double ce = 0, kl = 0;
};

Sums compare(const Tensor& clean, const Tensor& run, const Batch& b, int64_t V) {
  Sums s;
  std::vector<double> lc(static_cast<size_t>(V)), lr(static_cast<size_t>(V));
  for (int64_t r = 0; r < b.B; ++r)
    for (int64_t t = 0; t + 1 < b.T; ++t) {
      if (!b.valid(r, t) || !b.valid(r, t + 1)) continue;
      const int64_t row = r * b.T + t;
      kernels::log_softmax_f64(lc.data(), clean.f32() + row * V, V);
      kernels::log_softmax_f64(lr.data(), run.f32() + row * V, V);
      s.ce -= lr[size_t(b.tokens[size_t(row + 1)])];
      double kl = 0;
      for (int64_t v = 0; v < V; ++v) kl += std::exp(lc[size_t(v)]) * (lc[size_t(v)] - lr[size_t(v)]);
      s.kl += kl;
    }
  return s;
}

Intervention splice(std::shared_ptr<const LatentCodec> codec, const std::string& hook, bool keep_error) {
  Intervention iv;
  iv.kind = InterventionKind::Sae;
  iv.hook = hook;
  iv.sae = "(in memory)";
  iv.codec = std::move(codec);
  iv.keep_error = keep_error;
  return iv;
}

}  // namespace

SpliceMetrics evaluate_splice(Engine& e, std::shared_ptr<const LatentCodec> codec, const std::string& hook,
                              const std::vector<std::vector<int32_t>>& sequences, int batch,
                              const std::function<void(size_t, size_t)>& progress) {
  if (!codec) fail("evaluate_splice: no dictionary");
  if (batch < 1) fail("evaluate_splice: batch must be >= 1, got ", batch);
  const Config& c = e.model().config();
  const int64_t V = c.d_vocab;
  Intervention ablate;
  ablate.kind = InterventionKind::ZeroAblate;
  ablate.hook = hook;
  HookRegistry spliced(c), with_error(c), ablated(c);
  const auto h1 = attach(spliced, {splice(codec, hook, false)});
  const auto h2 = attach(with_error, {splice(codec, hook, true)});
  const auto h3 = attach(ablated, {ablate});

  SpliceMetrics m;
  Sums clean_sum, sp, we, ab;
  const size_t n_batches = (sequences.size() + size_t(batch) - 1) / size_t(batch);
  for (size_t i = 0; i < n_batches; ++i) {
    const size_t lo = i * size_t(batch), hi = std::min(sequences.size(), lo + size_t(batch));
    const Batch b = Batch::from_rows({sequences.begin() + int64_t(lo), sequences.begin() + int64_t(hi)});
    const Tensor clean = e.logits(b);
    clean_sum.ce += compare(clean, clean, b, V).ce;
    const Sums s1 = compare(clean, e.logits(b, &spliced), b, V);
    const Sums s2 = compare(clean, e.logits(b, &with_error), b, V);
    const Sums s3 = compare(clean, e.logits(b, &ablated), b, V);
    sp.ce += s1.ce, sp.kl += s1.kl, we.ce += s2.ce, we.kl += s2.kl, ab.ce += s3.ce, ab.kl += s3.kl;
    for (int64_t r = 0; r < b.B; ++r)
      for (int64_t t = 0; t + 1 < b.T; ++t) m.tokens += b.valid(r, t) && b.valid(r, t + 1);
    if (progress) progress(i + 1, n_batches);
  }
  if (m.tokens == 0) fail("evaluate_splice: no sequence has two tokens to predict from");
  const double n = double(m.tokens);
  m.ce_clean = clean_sum.ce / n;
  m.ce_spliced = sp.ce / n, m.kl_spliced = sp.kl / n;
  m.ce_spliced_with_error = we.ce / n, m.kl_spliced_with_error = we.kl / n;
  m.ce_ablated = ab.ce / n, m.kl_ablated = ab.kl / n;
  m.ce_loss_recovered = (m.ce_ablated - m.ce_spliced) / (m.ce_ablated - m.ce_clean);
  return m;
}

}  // namespace glassbox::features
