// Explaining and scoring many latents, with the shuffled-explanation control.
#include "glassbox/features/autointerp.h"

#include <algorithm>
#include <random>

#include "glassbox/error.h"

namespace glassbox::features {

namespace {

// A seeded uniform-ish derangement: shuffle, then rotate any fixed point away.
std::vector<size_t> derangement(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  std::mt19937_64 rng(seed ^ 0xc0417201ull);
  for (size_t i = n; i > 1; --i) std::swap(p[i - 1], p[rng() % i]);
  for (size_t i = 0; i < n; ++i)
    if (p[i] == i) std::swap(p[i], p[(i + 1) % n]);
  return p;
}

nlohmann::json distribution(std::vector<double> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  auto q = [&](double f) {  // linear interpolation between order statistics
    const double pos = f * double(v.size() - 1);
    const size_t lo = size_t(pos), hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - double(lo)) * (v[hi] - v[lo]);
  };
  double mean = 0;
  for (double x : v) mean += x;
  return {{"mean", mean / double(v.size())}, {"q25", q(0.25)}, {"median", q(0.5)}, {"q75", q(0.75)}, {"n", v.size()}};
}

}  // namespace

AutointerpReport score_explanations(const std::vector<Explanation>& explanations,
                                    const std::vector<FeatureExamples>& examples, const Simulator& simulator,
                                    uint64_t seed, const AutointerpProgress& progress) {
  if (explanations.size() != examples.size())
    fail("autointerp: ", explanations.size(), " explanations for ", examples.size(), " latents");
  if (examples.size() < 2) fail("autointerp: the shuffled control needs at least 2 latents, got ", examples.size());
  AutointerpReport r;
  r.explanations = explanations;
  r.shuffle = derangement(examples.size(), seed);
  for (size_t i = 0; i < examples.size(); ++i) {
    r.features.push_back(examples[i].feature);
    r.scores.push_back(score(explanations[i], examples[i], simulator, seed));
    r.control.push_back(score(explanations[r.shuffle[i]], examples[i], simulator, seed));
    if (progress) progress(i + 1, examples.size());
  }
  return r;
}

AutointerpReport autointerp(const std::vector<FeatureExamples>& examples, const Explainer& explainer,
                            const Simulator& simulator, uint64_t seed, const AutointerpProgress& progress) {
  if (examples.size() < 2) fail("autointerp: the shuffled control needs at least 2 latents, got ", examples.size());
  std::vector<Explanation> ex;
  // Explaining is the first half of the work, scoring (two per latent) the second.
  const size_t total = 2 * examples.size();
  for (const FeatureExamples& e : examples) {
    ex.push_back(explainer.explain(e));
    if (progress) progress(ex.size(), total);
  }
  return score_explanations(ex, examples, simulator, seed, [&](size_t done, size_t n) {
    if (progress) progress(n + done, total);
  });
}

nlohmann::json AutointerpReport::summary() const {
  nlohmann::json out = nlohmann::json::object();
  for (const char* name : {"simulation", "detection_auroc", "detection_balanced_accuracy", "fuzzing_auroc",
                           "fuzzing_balanced_accuracy"}) {
    std::vector<double> a, b;
    for (const Scores& s : scores) a.push_back(features::to_json(s)[name].get<double>());
    for (const Scores& s : control) b.push_back(features::to_json(s)[name].get<double>());
    out[name] = {{"explained", distribution(a)}, {"control", distribution(b)}};
  }
  return out;
}

nlohmann::json AutointerpReport::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (size_t i = 0; i < features.size(); ++i)
    rows.push_back({{"feature", features[i]},
                    {"explanation", features::to_json(explanations[i])},
                    {"scores", features::to_json(scores[i])},
                    {"control_explanation_of", features[shuffle[i]]},
                    {"control_scores", features::to_json(control[i])}});
  return {{"summary", summary()}, {"latents", rows}};
}

nlohmann::json explain_report(const std::vector<FeatureExamples>& examples, const Explainer& explainer,
                              const Simulator& simulator, uint64_t seed, const std::vector<std::string>& planted,
                              const AutointerpProgress& progress) {
  if (examples.size() == 1) {
    const Explanation e = explainer.explain(examples[0]);
    const Scores s = score(e, examples[0], simulator, seed);
    return {{"latents", {{{"feature", examples[0].feature}, {"explanation", features::to_json(e)},
                          {"scores", features::to_json(s)}}}},
            {"summary", nullptr}};
  }
  const AutointerpReport r = autointerp(examples, explainer, simulator, seed, progress);
  nlohmann::json report = r.to_json();
  if (planted.empty()) return report;
  int named = 0;
  for (size_t i = 0; i < r.features.size(); ++i) {
    const std::string& want = planted.at(size_t(r.features[i]));
    const bool ok = r.explanations[i].text.find(want) != std::string::npos;
    named += ok;
    report["latents"][i]["planted_feature"] = want;
    report["latents"][i]["names_planted_feature"] = ok;
  }
  report["named_planted_features"] = named;
  return report;
}

}  // namespace glassbox::features
