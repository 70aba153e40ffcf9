// The built-in simulator and the scores of an explanation (simulate.h).
#include "glassbox/features/simulate.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <random>
#include <set>

#include "glassbox/error.h"

namespace glassbox::features {

namespace {

std::string normalise(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  std::string out = s.substr(a, b - a);
  for (char& c : out) c = char(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The words a free-text explanation names: its quoted strings, and its words
// of 3+ letters that are not stop words ("the word river" -> river).
std::set<std::string> named_words(const std::string& text) {
  static const std::set<std::string> stop = {
      "the",   "and",  "for",   "that",  "this",   "with", "word",    "words",  "token",   "tokens", "any",
      "after", "before", "like", "such", "about", "from", "its",    "are",     "fires",  "neuron", "feature",
      "activates", "mentions", "mention", "finds", "find", "looks", "references", "related", "concept",
      "concepts", "phrases", "phrase", "text", "when", "where", "which", "also", "other", "all"};
  std::set<std::string> out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '"') continue;
    const size_t j = text.find('"', i + 1);
    if (j == std::string::npos) break;
    if (j > i + 1) out.insert(normalise(text.substr(i + 1, j - i - 1)));
    i = j;
  }
  std::string w;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ' ';
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '\'') {
      w += char(std::tolower(static_cast<unsigned char>(c)));
    } else {
      if (w.size() >= 3 && !stop.count(w)) out.insert(w);
      w.clear();
    }
  }
  return out;
}

// Yes where a score exceeds half the largest score: the scale-free threshold
// every simulator shares.
double balanced_accuracy(const std::vector<double>& pos, const std::vector<double>& neg) {
  if (pos.empty() || neg.empty()) return 0.5;
  double top = 0;
  for (double v : pos) top = std::max(top, v);
  for (double v : neg) top = std::max(top, v);
  const double thr = top / 2;
  double tp = 0, tn = 0;
  for (double v : pos) tp += top > 0 && v > thr;
  for (double v : neg) tn += !(top > 0 && v > thr);
  return 0.5 * (tp / double(pos.size()) + tn / double(neg.size()));
}

}  // namespace

std::vector<std::vector<float>> BuiltinSimulator::simulate(const Explanation& e,
                                                           const std::vector<ActivationRecord>& records) const {
  std::vector<std::vector<float>> out;
  const std::set<std::string> words = e.patterns.empty() ? named_words(e.text) : std::set<std::string>{};
  for (const ActivationRecord& r : records) {
    std::vector<float> s(r.tokens.size(), 0.f);
    for (size_t t = 0; t < r.tokens.size(); ++t) {
      if (e.patterns.empty()) {
        s[t] = words.count(normalise(r.tokens[t])) ? 1.f : 0.f;
        continue;
      }
      for (const TokenPattern& p : e.patterns) {
        const bool token_ok = p.token.empty() || p.token == r.tokens[t];
        const bool prev_ok = p.previous.empty() || (t > 0 && p.previous == r.tokens[t - 1]);
        if (token_ok && prev_ok) s[t] = std::max(s[t], float(p.activation));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

Scores score(const Explanation& e, const FeatureExamples& ex, const Simulator& sim, uint64_t seed) {
  const FeatureExamples h = split_examples(ex).holdout;
  // One simulate() call for every held-out record (one request for a language model).
  std::vector<ActivationRecord> recs;
  for (const auto* list : {&h.top, &h.random, &h.quantiles}) recs.insert(recs.end(), list->begin(), list->end());
  const std::vector<std::vector<float>> pred = sim.simulate(e, recs);
  if (pred.size() != recs.size()) fail("score: the simulator returned ", pred.size(), " records for ", recs.size());
  for (size_t i = 0; i < recs.size(); ++i)
    if (pred[i].size() != recs[i].tokens.size() || recs[i].acts.size() != recs[i].tokens.size())
      fail("score: record ", i, " has ", recs[i].tokens.size(), " tokens, ", recs[i].acts.size(),
           " activations and ", pred[i].size(), " simulated ones");
  Scores s;
  const size_t n_corr = h.top.size() + h.random.size();
  std::vector<double> truth, simulated;
  for (size_t i = 0; i < n_corr; ++i)
    for (size_t t = 0; t < recs[i].acts.size(); ++t) truth.push_back(recs[i].acts[t]), simulated.push_back(pred[i][t]);
  s.simulation = pearson(truth, simulated);
  s.simulated_tokens = int64_t(truth.size());

  std::vector<double> det_pos, det_neg, fuzz_pos, fuzz_neg;
  std::mt19937_64 rng(seed ^ uint64_t(ex.feature) * 0x9e3779b97f4a7c15ull);
  for (size_t i = 0; i < recs.size(); ++i) {
    const ActivationRecord& r = recs[i];
    if (r.tokens.empty()) continue;
    double top_sim = 0;
    std::vector<size_t> on, off;
    for (size_t t = 0; t < r.tokens.size(); ++t) {
      top_sim = std::max(top_sim, double(pred[i][t]));
      (r.acts[t] > 0 ? on : off).push_back(t);
    }
    (on.empty() ? det_neg : det_pos).push_back(top_sim);
    if (on.empty() || off.empty() || (i >= h.top.size() && i < n_corr)) continue;  // fuzz activating top / quantile contexts
    for (size_t k = off.size(); k > 1; --k) std::swap(off[k - 1], off[rng() % k]);
    double right = 0, wrong = 0;
    const size_t k = std::min(on.size(), off.size());
    for (size_t t : on) right += pred[i][t];
    for (size_t j = 0; j < k; ++j) wrong += pred[i][off[j]];
    fuzz_pos.push_back(right / double(on.size()));
    fuzz_neg.push_back(wrong / double(k));
  }
  s.detection_auroc = auroc(det_pos, det_neg);
  s.detection_balanced_accuracy = balanced_accuracy(det_pos, det_neg);
  s.detection_contexts = int64_t(det_pos.size() + det_neg.size());
  s.fuzzing_auroc = auroc(fuzz_pos, fuzz_neg);
  s.fuzzing_balanced_accuracy = balanced_accuracy(fuzz_pos, fuzz_neg);
  s.fuzzing_contexts = int64_t(fuzz_pos.size() + fuzz_neg.size());
  return s;
}

Scores score(const Explanation& e, const FeatureExamples& ex) { return score(e, ex, BuiltinSimulator()); }

nlohmann::json to_json(const Scores& s) {
  return {{"simulation", s.simulation},
          {"detection_auroc", s.detection_auroc},
          {"detection_balanced_accuracy", s.detection_balanced_accuracy},
          {"fuzzing_auroc", s.fuzzing_auroc},
          {"fuzzing_balanced_accuracy", s.fuzzing_balanced_accuracy},
          {"simulated_tokens", s.simulated_tokens},
          {"detection_contexts", s.detection_contexts},
          {"fuzzing_contexts", s.fuzzing_contexts}};
}

}  // namespace glassbox::features
