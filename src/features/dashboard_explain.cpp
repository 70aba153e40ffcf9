#include "glassbox/features/autointerp.h"
#include "glassbox/error.h"

namespace glassbox::features {

AutointerpReport explain_dashboards(const std::vector<FeatureExamples>& examples, FeatureDashboardData& data,
                                    uint64_t seed, const AutointerpProgress& progress) {
  if (examples.size() != data.features.size())
    fail("explain_dashboards: ", examples.size(), " example sets for ", data.features.size(), " dashboards");
  std::vector<FeatureExamples> active;
  std::vector<size_t> at;  // index into data.features of each active one
  for (size_t i = 0; i < examples.size(); ++i)
    if (data.features[i].active_tokens > 0 && !examples[i].top.empty()) {
      active.push_back(examples[i]);
      at.push_back(i);
    }
  if (active.size() < 2) return {};
  const AutointerpReport r = autointerp(active, BuiltinExplainer(), BuiltinSimulator(), seed, progress);
  for (size_t k = 0; k < at.size(); ++k) {
    FeatureDashboard& f = data.features[at[k]];
    f.explanation = r.explanations[k].text;
    f.score = r.scores[k].simulation;
    f.score_method = "simulation correlation (built-in explainer and simulator, held-out contexts)";
  }
  return r;
}

}  // namespace glassbox::features
