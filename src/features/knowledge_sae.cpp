// Known against unseen subjects, read through a sparse autoencoder. On the
// facts organism a linear probe on the residual stream barely beats chance
// (whether a pairing of familiar names is a person it learnt is not linear
// there), while the answer's entropy separates them well. The SAE's code is a
// thresholded, nonlinear read of the same stream: one latent, or a probe on
// the code, may see what the linear probe cannot.
#include <algorithm>
#include <cmath>

#include "features/knowledge_detail.h"
#include "glassbox/error.h"

namespace glassbox::features::detail {

namespace {

// [n, d_sae] latent codes of every example's row at `position`.
std::vector<float> latent_codes(Engine& e, const LabelSet& labels, const Sae& sae, const HookPoint& hook,
                                const char* position) {
  ProbeActivations acts(e, labels, {hook}, ProbePosition{position});
  if (acts.dims()[0] != sae.d_in())
    fail("knowledge: the SAE reads ", sae.d_in(), " values at ", sae.hook_name(), ", the model has ", acts.dims()[0]);
  const int64_t n = int64_t(labels.examples.size()), D = acts.dims()[0], S = sae.n_features();
  std::vector<float> x;
  x.reserve(size_t(n * D));
  ActivationBatch b;
  while (acts.next(b, 4096) > 0) x.insert(x.end(), b.sites[0].begin(), b.sites[0].end());
  // A named position is one row per example, in example order.
  if (int64_t(x.size()) != n * D) fail("knowledge: expected one row per example at ", position);
  std::vector<float> f(size_t(n * S));
  sae.encode(x.data(), n, f.data());
  return f;
}

std::vector<double> column_at(const std::vector<float>& f, int64_t S, int64_t j, const std::vector<int64_t>& rows,
                              double sign) {
  std::vector<double> s;
  s.reserve(rows.size());
  for (int64_t i : rows) s.push_back(sign * f[size_t(i * S + j)]);
  return s;
}

std::vector<int32_t> labels_at(const std::vector<int32_t>& y, const std::vector<int64_t>& rows) {
  std::vector<int32_t> t;
  for (int64_t i : rows) t.push_back(y[size_t(i)]);
  return t;
}

double auroc(const std::vector<double>& s, const std::vector<int32_t>& t) {
  return probe_auroc(s.data(), 1, t.data(), int64_t(t.size()), 2);
}

}  // namespace

void add_sae_signals(Engine& e, const LabelSet& labels, const std::vector<int32_t>& y, const Split& split,
                     const KnowledgeOptions& opt, KnowledgeReport& r) {
  const Sae& sae = *opt.sae;
  if (sae.cfg.n_sources != 1) fail("knowledge: --sae must read one model's site, not a crosscoder's ", sae.cfg.n_sources);
  const HookPoint hook = parse_hook_name(sae.hook_name(), e.model().config());
  const int64_t S = sae.n_features();
  const std::vector<int32_t> y_train = labels_at(y, split.train), y_test = labels_at(y, split.test);
  r.sae_hook = sae.hook_name();
  double best_test = -1;
  for (const char* position : {"subject", "end"}) {
    const std::vector<float> f = latent_codes(e, labels, sae, hook, position);
    // The latent chosen on the training subjects: AUROC furthest from chance,
    // either sign (a latent may fire for the unseen instead).
    int64_t best = 0;
    double best_gap = -1, sign = 1;
    for (int64_t j = 0; j < S; ++j) {
      const double a = auroc(column_at(f, S, j, split.train, 1), y_train);
      if (std::abs(a - 0.5) > best_gap) best_gap = std::abs(a - 0.5), best = j, sign = a >= 0.5 ? 1 : -1;
    }
    const double test_auroc = auroc(column_at(f, S, best, split.test, sign), y_test);
    r.signals.push_back({glassbox::detail::cat("sae latent ", best, sign < 0 ? " (negated) " : " ", position), "sae",
                         test_auroc});
    if (test_auroc > best_test) best_test = test_auroc, r.sae_latent = best, r.sae_latent_position = position;
    // A probe on the whole code.
    std::vector<float> x_train;
    for (int64_t i : split.train) x_train.insert(x_train.end(), f.begin() + i * S, f.begin() + (i + 1) * S);
    const LinearProbe p = fit_probe(x_train.data(), y_train.data(), int64_t(y_train.size()), S, 2, opt.probe);
    std::vector<float> x_test;
    for (int64_t i : split.test) x_test.insert(x_test.end(), f.begin() + i * S, f.begin() + (i + 1) * S);
    const std::vector<double> scores = p.scores(x_test.data(), int64_t(split.test.size()));
    std::vector<int32_t> pred = p.predict(x_test.data(), int64_t(split.test.size()));
    int64_t right = 0;
    for (size_t i = 0; i < pred.size(); ++i) right += pred[i] == y_test[i];
    r.signals.push_back({glassbox::detail::cat("sae probe ", position), "sae",
                         probe_auroc(scores.data(), p.n_outputs, y_test.data(), int64_t(y_test.size()), 2),
                         double(right) / double(pred.size())});
  }
}

}  // namespace glassbox::features::detail
