// Automated interpretability over many latents: explain each, score each
// explanation on its own latent's held-out examples, and score the same
// explanations shuffled across latents as the control (a latent scored with
// another latent's explanation: what the scores look like by chance). Plus
// the JSON form of FeatureExamples that `glassbox explain` reads.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/dashboard.h"
#include "glassbox/features/explain.h"
#include "glassbox/features/simulate.h"

namespace glassbox::features {

struct AutointerpReport {
  std::vector<int64_t> features;          // FeatureExamples::feature of each latent
  std::vector<Explanation> explanations;  // explanations[i] explains features[i]
  std::vector<Scores> scores;             // explanations[i] on latent i
  std::vector<Scores> control;            // explanations[shuffle[i]] on latent i
  std::vector<size_t> shuffle;            // a seeded derangement (no latent keeps its own)
  // Per score name: {"explained": {mean, median, q25, q75}, "control": {...}}.
  nlohmann::json summary() const;
  nlohmann::json to_json() const;          // summary plus one row per latent
};

// progress(done, total) after each latent.
using AutointerpProgress = std::function<void(size_t, size_t)>;

// Explains every latent with `explainer`, then scores as above. Error if fewer
// than 2 latents (no control possible).
AutointerpReport autointerp(const std::vector<FeatureExamples>& examples, const Explainer& explainer,
                            const Simulator& simulator, uint64_t seed = 0, const AutointerpProgress& progress = {});
// The same for explanations already made (explanations[i] for examples[i]).
AutointerpReport score_explanations(const std::vector<Explanation>& explanations,
                                    const std::vector<FeatureExamples>& examples, const Simulator& simulator,
                                    uint64_t seed = 0, const AutointerpProgress& progress = {});

// `glassbox explain --json` / glassbox.explain: for one latent (no other to
// shuffle with) {"latents": [{feature, explanation, scores}], "summary": null};
// for several autointerp()'s report. With `planted` (the true feature of each
// latent id, the superposition organism's names) every latent also gets
// "planted_feature" and "names_planted_feature" (its explanation contains
// it), and the report "named_planted_features".
nlohmann::json explain_report(const std::vector<FeatureExamples>& examples, const Explainer& explainer,
                              const Simulator& simulator, uint64_t seed, const std::vector<std::string>& planted = {},
                              const AutointerpProgress& progress = {});

// Built-in autointerp of every feature a dashboard collection saw active
// (dead latents have nothing to explain), written into the dashboards'
// explanation / score slots (score = simulation correlation on held-out
// contexts). Returns the report (its control: shuffled explanations), or an
// empty one with fewer than 2 active features.
AutointerpReport explain_dashboards(const std::vector<FeatureExamples>& examples, FeatureDashboardData& data,
                                    uint64_t seed = 0, const AutointerpProgress& progress = {});

// FeatureExamples as JSON: {"feature", "density", "top": [{"tokens": [...],
// "acts": [...]}], "quantiles": [...], "random": [...]}.
nlohmann::json to_json(const ActivationRecord& r);
nlohmann::json to_json(const FeatureExamples& ex);
// Error naming `where` and the field when malformed (lengths differ, a
// non-finite activation, a missing list).
FeatureExamples feature_examples_from_json(const nlohmann::json& j, const std::string& where = "feature examples");
// A document holding one FeatureExamples object, an array of them,
// {"features": [...]}, or a dashboards export (`sae dashboard`'s
// dashboards.json, features/dashboard.h): what `glassbox explain` and
// glassbox.explain read. `what` names it in errors.
std::vector<FeatureExamples> feature_examples_from_document(const nlohmann::json& j, const std::string& what);
// The same from a file.
std::vector<FeatureExamples> read_feature_examples(const std::string& path);

}  // namespace glassbox::features
