#include "glassbox/features/dashboard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "kernels/kernels.h"
#include "tokenizer/utf8.h"

namespace glassbox::features {

using nlohmann::json;

namespace {

// Six significant digits: dashboards need no more, and the export of
// thousands of features shrinks by about half.
json num(double v) {
  if (!std::isfinite(v)) return nullptr;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return std::strtod(buf, nullptr);
}

// Tokens are bytes; a byte-level BPE token can hold part of a character,
// which a JSON string cannot: those bytes become U+FFFD (as Neuronpedia shows them).
std::string valid_utf8(std::string_view b) {
  std::string out;
  for (size_t i = 0; i < b.size();) {
    const size_t n = glassbox::detail::utf8_valid_len(b, i);
    if (n) out.append(b.substr(i, n)), i += n;
    else out += "\xEF\xBF\xBD", ++i;
  }
  return out;
}

json texts(const std::vector<std::string>& v) {
  json a = json::array();
  for (const std::string& t : v) a.push_back(valid_utf8(t));
  return a;
}

template <class T>
json nums(const std::vector<T>& v) {
  json a = json::array();
  for (T x : v) a.push_back(num(double(x)));
  return a;
}

json effects_json(const std::vector<LogitEffect>& v) {
  json a = json::array();
  for (const LogitEffect& e : v) a.push_back({{"token", e.token}, {"text", valid_utf8(e.text)}, {"value", num(e.value)}});
  return a;
}

json records_json(const std::vector<ActivationRecord>& r, const std::vector<RecordSource>& s, size_t first,
                  size_t count) {
  json a = json::array();
  for (size_t i = first; i < first + count && i < r.size(); ++i)
    a.push_back(to_json(r[i], i < s.size() ? s[i] : RecordSource{}));
  return a;
}

json feature_json(const FeatureExamples& ex, const FeatureDashboard& d) {
  json bands = json::array();
  for (const QuantileBand& b : d.quantile_bands)
    bands.push_back({{"lo", num(b.lo)}, {"hi", num(b.hi)}, {"q_lo", num(b.q_lo)}, {"q_hi", num(b.q_hi)},
                     {"records", records_json(ex.quantiles, d.quantile_sources, size_t(b.first), size_t(b.count))}});
  json co = json::array();
  for (const Cooccurrence& c : d.cooccurring)
    co.push_back({{"feature", c.feature}, {"count", c.count}, {"fraction", num(c.fraction)}});
  return {{"feature", d.feature},
          {"density", d.density},
          {"active_tokens", d.active_tokens},
          {"max_act", num(d.max_act)},
          {"mean_act", num(d.mean_act)},
          {"histogram", {{"edges", nums(d.histogram.edges)}, {"counts", nums(d.histogram.counts)}}},
          {"top_logits", effects_json(d.top_logits)},
          {"bottom_logits", effects_json(d.bottom_logits)},
          {"cooccurring", co},
          {"explanation", d.explanation},
          {"score", std::isfinite(d.score) ? json(d.score) : json(nullptr)},
          {"score_method", d.score_method},
          {"top", records_json(ex.top, d.top_sources, 0, ex.top.size())},
          {"quantiles", bands},
          {"random", records_json(ex.random, d.random_sources, 0, ex.random.size())}};
}

}  // namespace

json to_json(const ActivationRecord& r, const RecordSource& s) {
  return {{"tokens", texts(r.tokens)}, {"acts", nums(r.acts)}, {"sequence", s.sequence}, {"position", s.position},
          {"center", s.center}};
}

json dashboard_json(const std::vector<FeatureExamples>& examples, const FeatureDashboardData& data) {
  if (examples.size() != data.features.size())
    fail("dashboard_json: ", examples.size(), " feature examples but ", data.features.size(), " dashboards");
  json feats = json::array();
  for (size_t i = 0; i < examples.size(); ++i) feats.push_back(feature_json(examples[i], data.features[i]));
  return {{"format", "glassbox.feature_dashboards"},
          {"version", 1},
          {"model", data.model},
          {"hook_name", data.hook_name},
          {"corpus", data.corpus},
          {"n_features", data.n_features},
          {"tokens", data.tokens},
          {"sequences", data.sequences},
          {"seq_len", data.seq_len},
          {"context_before", data.context_before},
          {"context_after", data.context_after},
          {"logit_effects", "output_direction . W_U (no ln_final, as Neuronpedia)"},
          {"features", std::move(feats)}};
}

namespace {

void read_records(const json& a, std::vector<ActivationRecord>& out, std::vector<RecordSource>& src) {
  for (const json& r : a) {
    out.push_back({r.at("tokens").get<std::vector<std::string>>(), r.at("acts").get<std::vector<float>>()});
    if (out.back().tokens.size() != out.back().acts.size()) fail("a record has ", out.back().tokens.size(),
                                                                 " tokens but ", out.back().acts.size(), " acts");
    src.push_back({r.at("sequence").get<int64_t>(), r.at("position").get<int32_t>(), r.at("center").get<int32_t>()});
  }
}

std::vector<LogitEffect> read_effects(const json& a) {
  std::vector<LogitEffect> v;
  for (const json& e : a) v.push_back({e.at("token").get<int32_t>(), e.at("text").get<std::string>(), e.at("value").get<float>()});
  return v;
}

}  // namespace

void dashboard_from_json(const json& j, std::vector<FeatureExamples>& examples, FeatureDashboardData& data,
                         const std::string& what) {
  try {
    if (!j.is_object() || j.value("format", "") != "glassbox.feature_dashboards")
      fail("not a glassbox.feature_dashboards document");
    if (j.at("version").get<int>() != 1) fail("version ", j.at("version").dump(), " (this build reads 1)");
    FeatureDashboardData d;
    d.model = j.at("model"), d.hook_name = j.at("hook_name"), d.corpus = j.at("corpus");
    d.n_features = j.at("n_features"), d.tokens = j.at("tokens"), d.sequences = j.at("sequences");
    d.seq_len = j.at("seq_len"), d.context_before = j.at("context_before"), d.context_after = j.at("context_after");
    std::vector<FeatureExamples> ex;
    for (const json& f : j.at("features")) {
      FeatureExamples e;
      FeatureDashboard fd;
      e.feature = fd.feature = f.at("feature");
      e.density = fd.density = f.at("density");
      fd.active_tokens = f.at("active_tokens"), fd.max_act = f.at("max_act"), fd.mean_act = f.at("mean_act");
      fd.histogram.edges = f.at("histogram").at("edges").get<std::vector<float>>();
      fd.histogram.counts = f.at("histogram").at("counts").get<std::vector<double>>();
      fd.top_logits = read_effects(f.at("top_logits"));
      fd.bottom_logits = read_effects(f.at("bottom_logits"));
      for (const json& c : f.at("cooccurring"))
        fd.cooccurring.push_back({c.at("feature"), c.at("count"), c.at("fraction")});
      fd.explanation = f.at("explanation");
      fd.score = f.at("score").is_null() ? NAN : f.at("score").get<double>();
      fd.score_method = f.at("score_method");
      read_records(f.at("top"), e.top, fd.top_sources);
      for (const json& b : f.at("quantiles")) {
        QuantileBand qb{b.at("lo"), b.at("hi"), b.at("q_lo"), b.at("q_hi"), int64_t(e.quantiles.size()), 0};
        read_records(b.at("records"), e.quantiles, fd.quantile_sources);
        qb.count = int64_t(e.quantiles.size()) - qb.first;
        fd.quantile_bands.push_back(qb);
      }
      read_records(f.at("random"), e.random, fd.random_sources);
      ex.push_back(std::move(e));
      d.features.push_back(std::move(fd));
    }
    examples = std::move(ex);
    data = std::move(d);
  } catch (const Error& e) {
    fail(what, ": ", e.what());
  } catch (const json::exception& e) {
    fail(what, ": ", e.what());
  }
}

std::vector<LogitEffects> logit_effects(const Model& m, const FeatureMap& map, int k) {
  const Config& c = m.config();
  const int64_t F = map.n_features(), D = c.d_model, V = c.d_vocab;
  const size_t kk = size_t(std::clamp<int64_t>(k, 0, V));
  std::vector<LogitEffects> out(static_cast<size_t>(F));
  if (kk == 0) return out;
  const Tokenizer* tok = m.tokenizer();
  auto text = [&](int32_t id) {
    return tok && id < tok->vocab_size() ? tok->token_to_bytes(id) : std::string("#").append(std::to_string(id));
  };
  constexpr int64_t kRows = 256;  // features per GEMM: bounds the [rows, d_vocab] buffer
  std::vector<float> dirs(size_t(kRows * D)), logits(size_t(kRows * V));
  std::vector<uint8_t> has(static_cast<size_t>(kRows));
  for (int64_t j0 = 0; j0 < F; j0 += kRows) {
    const int64_t n = std::min(kRows, F - j0);
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<float> d = map.output_direction(j0 + i);
      has[size_t(i)] = int64_t(d.size()) == D;
      if (has[size_t(i)]) std::copy(d.begin(), d.end(), dirs.begin() + i * D);
      else std::fill(dirs.begin() + i * D, dirs.begin() + (i + 1) * D, 0.f);
    }
    kernels::matmul_forward(logits.data(), V, dirs.data(), D, m.weights().W_U, nullptr, 0, n);
#pragma omp parallel for schedule(dynamic, 8)
    for (int64_t i = 0; i < n; ++i) {
      if (!has[size_t(i)]) continue;
      const float* z = &logits[size_t(i * V)];
      std::vector<int32_t> idx(static_cast<size_t>(V));
      std::iota(idx.begin(), idx.end(), 0);
      LogitEffects& e = out[size_t(j0 + i)];
      std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(kk), idx.end(),
                        [&](int32_t a, int32_t b) { return z[a] > z[b] || (z[a] == z[b] && a < b); });
      for (size_t r = 0; r < kk; ++r) e.top.push_back({idx[r], {}, z[idx[r]]});
      std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(kk), idx.end(),
                        [&](int32_t a, int32_t b) { return z[a] < z[b] || (z[a] == z[b] && a < b); });
      for (size_t r = 0; r < kk; ++r) e.bottom.push_back({idx[r], {}, z[idx[r]]});
    }
    for (int64_t i = 0; i < n; ++i) {  // the tokenizer is thread-safe, but strings are cheap here
      for (auto* v : {&out[size_t(j0 + i)].top, &out[size_t(j0 + i)].bottom})
        for (LogitEffect& e : *v) e.text = text(e.token);
    }
  }
  return out;
}

}  // namespace glassbox::features
