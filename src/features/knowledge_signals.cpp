// Known against unseen subjects: probes at the last subject token and the
// final token (probe_sweep, split by subject), and three signals read off
// the output without training (entropy, top probability, the layer where the
// logit lens settles), and an SAE's latents when given (knowledge_sae.cpp),
// all scored by AUROC on the same held-out subjects.
#include <algorithm>
#include <cmath>
#include <map>

#include "features/knowledge_detail.h"
#include "glassbox/error.h"
#include "glassbox/features/knowledge.h"
#include "glassbox/features/probe_metrics.h"

namespace glassbox::features {

namespace {

struct OutputSignals {
  std::vector<double> entropy, top_prob, settle;  // per example
};

// Entropy and top probability of one row of logits.
void row_stats(const float* z, int64_t V, double& entropy, double& top) {
  const double m = *std::max_element(z, z + V);
  double sum = 0;
  for (int64_t v = 0; v < V; ++v) sum += std::exp(double(z[v]) - m);
  const double lz = m + std::log(sum);
  entropy = 0;
  top = std::exp(m - lz);
  for (int64_t v = 0; v < V; ++v) {
    const double lp = double(z[v]) - lz;
    entropy -= std::exp(lp) * lp;
  }
}

int32_t argmax_row(const float* z, int64_t V) { return int32_t(std::max_element(z, z + V) - z); }

// One forward pass per batch keeping every resid_post; the lens decodes each
// layer's final-position rows by starting a pass at the unembedding.
OutputSignals output_signals(Engine& e, const LabelSet& labels, int64_t batch_examples,
                             const std::function<void(const char*, int64_t, int64_t)>& progress) {
  const Config& c = e.model().config();
  const int L = c.n_layers;
  const int64_t V = c.d_vocab, D = c.d_model;
  OutputSignals out;
  const size_t n = labels.examples.size();
  ForwardOptions keep;
  for (int l = 0; l < L; ++l) keep.keep.insert({Site::resid_post, l});
  for (size_t from = 0; from < n; from += size_t(batch_examples)) {
    const size_t to = std::min(n, from + size_t(batch_examples));
    std::vector<std::vector<int32_t>> rows;
    for (size_t i = from; i < to; ++i) rows.push_back(labels.examples[i].tokens);
    const Batch b = Batch::from_rows(rows);
    const ForwardResult f = e.forward(b, nullptr, nullptr, keep);
    const int64_t B = b.B;
    std::vector<int64_t> last(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) last[size_t(r)] = int64_t(rows[size_t(r)].size()) - 1;
    std::vector<int32_t> final_top(static_cast<size_t>(B));
    for (int64_t r = 0; r < B; ++r) {
      const float* z = f.logits.f32() + (r * b.T + last[size_t(r)]) * V;
      double h, top;
      row_stats(z, V, h, top);
      out.entropy.push_back(h);
      out.top_prob.push_back(top);
      final_top[size_t(r)] = argmax_row(z, V);
    }
    // The lens's top token per layer; settle = the first layer from which it stays the answer.
    std::vector<int> settle(static_cast<size_t>(B), L - 1);
    std::vector<uint8_t> stays(static_cast<size_t>(B), 1);
    Batch one;
    one.B = B;
    one.T = 1;
    one.tokens.assign(size_t(B), 0);
    ForwardOptions lens;
    lens.start_at_layer = L;
    for (int l = L - 1; l >= 0; --l) {
      std::vector<float> x(size_t(B * D));
      const float* rp = f.get({Site::resid_post, l}).f32();
      for (int64_t r = 0; r < B; ++r)
        std::copy_n(rp + (r * b.T + last[size_t(r)]) * D, D, x.data() + r * D);
      lens.start_resid = x.data();
      const ForwardResult lr = e.forward(one, nullptr, nullptr, lens);
      for (int64_t r = 0; r < B; ++r) {
        stays[size_t(r)] = stays[size_t(r)] && argmax_row(lr.logits.f32() + r * V, V) == final_top[size_t(r)];
        if (stays[size_t(r)]) settle[size_t(r)] = l;
      }
    }
    for (int s : settle) out.settle.push_back(s);
    if (progress) progress("output signals", int64_t(to), int64_t(n));
  }
  return out;
}

double auroc_on(const std::vector<double>& score, const std::vector<int32_t>& y, const std::vector<int64_t>& test) {
  std::vector<double> s;
  std::vector<int32_t> t;
  for (int64_t i : test) s.push_back(score[size_t(i)]), t.push_back(y[size_t(i)]);
  return probe_auroc(s.data(), 1, t.data(), int64_t(t.size()), 2);
}

double mean_of(const std::vector<double>& v, const std::vector<int32_t>& y, int32_t label) {
  double s = 0;
  int64_t n = 0;
  for (size_t i = 0; i < v.size(); ++i)
    if (y[i] == label) s += v[i], ++n;
  return n ? s / double(n) : NAN;
}

}  // namespace

KnowledgeReport knowledge_signals(Engine& e, const LabelSet& labels, const KnowledgeOptions& opt) {
  if (labels.classes.size() != 2)
    fail("knowledge: label set ", labels.name, " needs two classes (unknown, known), has ", labels.classes.size());
  std::vector<int32_t> y;
  std::vector<std::string> groups;
  for (const auto& ex : labels.examples) {
    if (!ex.positions.count("subject") || !ex.positions.count("end"))
      fail("knowledge: every example of ", labels.name, " needs the positions \"subject\" and \"end\"");
    y.push_back(ex.label);
    groups.push_back(ex.group);
  }
  KnowledgeReport r;
  r.label_set = labels.name;
  r.model = e.model().source();
  r.n_examples = int64_t(y.size());
  r.n_known = std::count(y.begin(), y.end(), 1);
  r.n_unknown = std::count(y.begin(), y.end(), 0);
  if (r.n_known == 0 || r.n_unknown == 0) fail("knowledge: ", labels.name, " needs known and unseen subjects");
  if (!opt.probe_position.empty() && opt.probe_position != "subject" && opt.probe_position != "end")
    fail("knowledge: probe position '", opt.probe_position, "': expected subject or end");

  for (const char* position : {"subject", "end"}) {
    ProbeSweepOptions so;
    so.position.spec = position;
    so.probe = opt.probe;
    so.test_fraction = opt.test_fraction;
    so.seed = opt.seed;
    so.control = false;
    so.progress = opt.progress;
    const ProbeSweep s = probe_sweep(e, labels, so);
    r.n_test = s.n_test;
    for (const ProbeCell& c : s.cells) {
      r.signals.push_back({glassbox::detail::cat("probe ", position, " ", c.hook), "probe", c.auroc, c.accuracy});
      const bool eligible = opt.probe_position.empty() || opt.probe_position == position;
      if (eligible && (c.auroc > r.best_probe_auroc || r.best_probe_hook.empty())) {
        r.best_probe_auroc = c.auroc;
        r.best_probe = c.probe;
        r.best_probe_hook = c.hook;
        r.best_probe_position = position;
      }
    }
  }
  // The same held-out subjects as the probes' (probe_sweep splits grouped examples this way).
  const Split split = group_split(groups, opt.test_fraction, opt.seed);
  const OutputSignals o = output_signals(e, labels, 64, opt.progress);
  std::vector<double> neg_entropy, neg_settle;
  for (double h : o.entropy) neg_entropy.push_back(-h);
  for (double s : o.settle) neg_settle.push_back(-s);
  r.signals.push_back({"entropy", "output", auroc_on(neg_entropy, y, split.test)});
  r.signals.push_back({"top_prob", "output", auroc_on(o.top_prob, y, split.test)});
  r.signals.push_back({"settle_layer", "output", auroc_on(neg_settle, y, split.test)});
  // The subject's mean entropy over all its prompts (every relation asked):
  // what a monitor that has seen several answers about one subject can use.
  std::map<std::string, std::pair<double, int64_t>> by_subject;
  for (size_t i = 0; i < groups.size(); ++i) by_subject[groups[i]].first += o.entropy[i], by_subject[groups[i]].second += 1;
  std::vector<double> subject_entropy;
  for (size_t i = 0; i < groups.size(); ++i) {
    const auto& [sum, n] = by_subject[groups[i]];
    subject_entropy.push_back(-sum / double(n));
  }
  r.signals.push_back({"entropy (subject mean)", "output", auroc_on(subject_entropy, y, split.test)});
  r.entropy_known = mean_of(o.entropy, y, 1);
  r.entropy_unknown = mean_of(o.entropy, y, 0);
  r.settle_known = mean_of(o.settle, y, 1);
  r.settle_unknown = mean_of(o.settle, y, 0);
  if (opt.sae) detail::add_sae_signals(e, labels, y, split, opt, r);
  for (size_t i = 0; i < r.signals.size(); ++i)
    if (r.signals[i].auroc > r.signals[r.best].auroc) r.best = i;
  return r;
}

nlohmann::json KnowledgeReport::to_json() const {
  using nlohmann::json;
  json sig = json::array();
  for (const auto& s : signals)
    sig.push_back({{"name", s.name},
                   {"kind", s.kind},
                   {"auroc", s.auroc},
                   {"accuracy", std::isfinite(s.accuracy) ? json(s.accuracy) : json(nullptr)}});
  return {{"technique", "knowledge"},
          {"label_set", label_set},
          {"model", model},
          {"n_examples", n_examples},
          {"n_known", n_known},
          {"n_unknown", n_unknown},
          {"n_test", n_test},
          {"signals", sig},
          {"best", signals.empty() ? json(nullptr) : json{{"name", signals[best].name}, {"auroc", signals[best].auroc}}},
          {"means",
           {{"entropy_known", entropy_known},
            {"entropy_unknown", entropy_unknown},
            {"settle_layer_known", settle_known},
            {"settle_layer_unknown", settle_unknown}}},
          {"sae", sae_latent < 0 ? json(nullptr)
                                 : json{{"hook", sae_hook}, {"latent", sae_latent}, {"position", sae_latent_position}}}};
}

nlohmann::json KnowledgeReport::probe_json() const {
  return {{"format", "glassbox-probe"},
          {"label_set", label_set},
          {"model", model},
          {"classes", {"unknown", "known"}},
          {"hook", best_probe_hook},
          {"position", best_probe_position},
          {"auroc", best_probe_auroc},
          {"score", "(x - mean) . direction[0] + bias[0]; > 0: known"},
          {"probe", best_probe.to_json()}};
}

}  // namespace glassbox::features
