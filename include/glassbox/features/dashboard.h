// What a feature dashboard shows besides its example contexts
// (FeatureExamples): the activation histogram, logit effects, co-occurring
// features, and the slots automated interpretability fills (explanation and
// its score). Plain data with a JSON export; collect.h fills it.
//
// JSON schema (dashboard_json(); activations, values and counts rounded to 6
// significant digits):
// {
//   "format": "glassbox.feature_dashboards", "version": 1,
//   "model": str, "hook_name": str, "corpus": str,
//   "n_features": int, "tokens": int, "sequences": int, "seq_len": int,
//   "context_before": int, "context_after": int,
//   "logit_effects": "output_direction . W_U (no ln_final, as Neuronpedia)",
//   "features": [{
//     "feature": int, "density": float (fraction of tokens > 0), "active_tokens": int,
//     "max_act": float, "mean_act": float (over active tokens),
//     "histogram": {"edges": [bins+1 floats, 0 .. max_act], "counts": [bins floats]},
//     "top_logits": [{"token": int, "text": str, "value": float}], "bottom_logits": [...],
//     "cooccurring": [{"feature": int, "count": int, "fraction": float}],
//     "explanation": str ("" = none), "score": float | null, "score_method": str,
//     "top": [record], "random": [record],
//     "quantiles": [{"lo": float, "hi": float, "q_lo": float, "q_hi": float,
//                    "records": [record]}]
//   }]
// }
// record: {"tokens": [str], "acts": [float], "sequence": int, "position": int,
//          "center": int (index in tokens of the token at `position`)}
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/activations.h"
#include "glassbox/model.h"

namespace glassbox::features {

// Where an ActivationRecord came from: the corpus sequence (window of seq_len
// tokens), the position of its centre token in it, and that token's index in
// the record.
struct RecordSource {
  int64_t sequence = 0;
  int32_t position = 0;
  int32_t center = 0;
};

// A histogram of a feature's positive activations on linear bins from 0 to
// its max (as SAE dashboards draw it). counts may be fractional: the collector
// keeps fine logarithmic bins in one pass and spreads each over the linear
// bins it overlaps.
struct ActivationHistogram {
  std::vector<float> edges;    // bins + 1
  std::vector<double> counts;  // bins
};

struct LogitEffect {
  int32_t token = 0;
  std::string text;  // decoded token (bytes)
  float value = 0;
};

struct Cooccurrence {
  int64_t feature = 0;
  int64_t count = 0;     // tokens where both were among the token's strongest features
  float fraction = 0;    // count / tokens where this feature was among them
};

// Activation quantile band of the positive activations: examples.quantiles[first, first + count).
struct QuantileBand {
  float lo = 0, hi = 0;      // activation range of the band
  float q_lo = 0, q_hi = 0;  // quantile range (0.2 .. 0.4)
  int64_t first = 0, count = 0;
};

struct FeatureDashboard {
  int64_t feature = 0;
  double density = 0;  // fraction of tokens where the feature is > 0
  int64_t active_tokens = 0;
  float max_act = 0;
  double mean_act = 0;  // over active tokens
  ActivationHistogram histogram;
  std::vector<LogitEffect> top_logits, bottom_logits;  // empty without an output direction in d_model
  std::vector<Cooccurrence> cooccurring;
  std::vector<QuantileBand> quantile_bands;
  // Provenance of examples.top / .quantiles / .random, index for index.
  std::vector<RecordSource> top_sources, quantile_sources, random_sources;
  // Filled by automated interpretability; "" / NaN: not explained yet.
  std::string explanation;
  double score = NAN;
  std::string score_method;  // e.g. "simulation correlation"
};

struct FeatureDashboardData {
  std::string model, hook_name, corpus;
  int64_t n_features = 0, tokens = 0, sequences = 0;
  int seq_len = 0, context_before = 0, context_after = 0;
  std::vector<FeatureDashboard> features;  // features[i] describes examples[i]
};

// The whole export (schema above). Error when the two vectors differ in length.
nlohmann::json dashboard_json(const std::vector<FeatureExamples>& examples, const FeatureDashboardData& data);
nlohmann::json to_json(const ActivationRecord& r, const RecordSource& s);
// Reads dashboard_json()'s output back (so explanations can be filled in
// later and the pages redrawn). Error naming `what` (a file) and the field
// when the document is not that format.
void dashboard_from_json(const nlohmann::json& j, std::vector<FeatureExamples>& examples, FeatureDashboardData& data,
                         const std::string& what = "dashboard JSON");

// Logit effects of every feature: the k largest and k smallest entries of
// output_direction(j) . W_U over the vocabulary (one GEMM per block of
// features). Neuronpedia's convention: W_dec . W_U directly, without
// ln_final's scale or centring. A feature whose direction is empty or not
// d_model long gets no effects. Token texts come from the model's tokenizer
// ("#id" without one).
struct LogitEffects {
  std::vector<LogitEffect> top, bottom;
};
std::vector<LogitEffects> logit_effects(const Model& m, const FeatureMap& map, int k);

}  // namespace glassbox::features
