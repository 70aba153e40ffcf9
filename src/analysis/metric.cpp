// PatchMetric: the scalar patching and attribution patching measure.
#include <cmath>

#include "analysis/detail.h"
#include "core/json_integer_read.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

namespace {
constexpr enum_table::Names<MetricKind, 4> kMetricKinds = {
    {MetricKind::LogitDiff, "logit_diff"}, {MetricKind::Logit, "logit"}, {MetricKind::Prob, "prob"},
    {MetricKind::LogProb, "logprob"}};
constexpr enum_table::Names<PatchDirection, 2> kDirections = {{PatchDirection::Denoise, "denoise"},
                                                             {PatchDirection::Noise, "noise"}};
}  // namespace

const char* to_string(MetricKind k) { return enum_table::name(k, kMetricKinds); }
const char* to_string(PatchDirection d) { return enum_table::name(d, kDirections); }

double PatchMetric::value(const Tensor& logits, int64_t T, Tensor* dlogits) const {
  if (logits.shape.size() != 3) fail("metric: logits ", shape_str(logits.shape), " are not [B, T, V]");
  const int64_t B = logits.shape[0], Tl = logits.shape[1], V = logits.shape[2];
  const int64_t abs = detail::resolve_pos(pos, T, "metric");
  const int64_t row = abs - (T - Tl);
  if (row < 0 || row >= Tl) fail("metric: position ", abs, " is not among the ", Tl, " positions with logits");
  if (answer.empty()) fail("metric: no answer token given");
  const auto a = detail::per_row(answer, B, "metric: answer", int32_t(V));
  std::vector<int32_t> w;
  if (kind == MetricKind::LogitDiff) {
    if (wrong.empty()) fail("metric: logit_diff needs a wrong token");
    w = detail::per_row(wrong, B, "metric: wrong", int32_t(V));
  }
  if (dlogits) *dlogits = Tensor::zeros(logits.shape);
  double total = 0;
  std::vector<double> lp;
  for (int64_t b = 0; b < B; ++b) {
    const float* z = logits.f32() + (b * Tl + row) * V;
    float* g = dlogits ? dlogits->f32() + (b * Tl + row) * V : nullptr;
    const size_t ai = size_t(a[size_t(b)]);
    const double inv = 1.0 / double(B);
    switch (kind) {
      case MetricKind::LogitDiff:
        total += double(z[ai]) - z[w[size_t(b)]];
        if (g) g[ai] += float(inv), g[w[size_t(b)]] -= float(inv);
        break;
      case MetricKind::Logit:
        total += z[ai];
        if (g) g[ai] += float(inv);
        break;
      case MetricKind::Prob:
      case MetricKind::LogProb: {
        detail::log_softmax(z, V, lp);
        const double pa = std::exp(lp[ai]);
        total += kind == MetricKind::Prob ? pa : lp[ai];
        if (g) {
          // d log p_a / dz = e_a - p;  d p_a / dz = p_a (e_a - p).
          const double f = kind == MetricKind::Prob ? pa : 1.0;
          for (int64_t j = 0; j < V; ++j) g[j] -= float(f * std::exp(lp[size_t(j)]) * inv);
          g[ai] += float(f * inv);
        }
        break;
      }
    }
  }
  return total / double(B);
}

nlohmann::json PatchMetric::to_json() const {
  nlohmann::json j = {{"kind", to_string(kind)}, {"pos", pos}, {"answer", answer}, {"normalize", normalize}};
  if (!wrong.empty()) j["wrong"] = wrong;
  return j;
}

PatchMetric PatchMetric::from_json(const nlohmann::json& j) {
  if (!j.is_object()) fail("metric: expected a JSON object, got ", j.type_name());
  PatchMetric m;
  try {
    m.kind = from_string<MetricKind>(j.value("kind", std::string("logit_diff")));
    if (j.contains("pos")) m.pos = glassbox::detail::json_integer<int64_t>(j["pos"], "metric: \"pos\"");
    if (j.contains("answer")) m.answer = glassbox::detail::json_integers<int32_t>(j["answer"], "metric: \"answer\"");
    if (j.contains("wrong")) m.wrong = glassbox::detail::json_integers<int32_t>(j["wrong"], "metric: \"wrong\"");
    m.normalize = j.value("normalize", true);
  } catch (const nlohmann::json::exception& e) {
    fail("metric: malformed JSON: ", e.what());
  }
  return m;
}

}  // namespace glassbox::analysis

namespace glassbox {
template <>
analysis::MetricKind from_string<analysis::MetricKind>(std::string_view s) {
  return enum_table::value(s, analysis::kMetricKinds, "metric: kind");
}
template <>
analysis::PatchDirection from_string<analysis::PatchDirection>(std::string_view s) {
  return enum_table::value(s, analysis::kDirections, "patch direction");
}
}  // namespace glassbox
