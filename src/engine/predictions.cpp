#include "glassbox/predictions.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "glassbox/tokenizer.h"
#include "kernels/kernels.h"

namespace glassbox {

std::vector<Prediction> top_predictions(const float* logits, int64_t V, int k) {
  const double lse = V > 0 ? kernels::logsumexp_f64(logits, V) : 0.0;
  std::vector<int32_t> idx(static_cast<size_t>(V));
  std::iota(idx.begin(), idx.end(), 0);
  const int64_t n = std::clamp<int64_t>(k, 0, V);
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] != logits[b] ? logits[a] > logits[b] : a < b;
  });
  std::vector<Prediction> out;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = idx[size_t(i)];
    out.push_back({id, std::exp(double(logits[id]) - lse), logits[id]});
  }
  return out;
}

nlohmann::json to_json(const std::vector<Prediction>& ps, const Model& m) {
  const Tokenizer* t = m.tokenizer();
  nlohmann::json out = nlohmann::json::array();
  for (const Prediction& p : ps) {
    const nlohmann::json text =
        t && p.id >= 0 && p.id < t->vocab_size() ? nlohmann::json(t->token_to_bytes(p.id)) : nlohmann::json(nullptr);
    out.push_back({{"id", p.id}, {"text", text}, {"prob", p.prob}, {"logit", p.logit}});
  }
  return out;
}

}  // namespace glassbox
