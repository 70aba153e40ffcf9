// Automated interpretability, part 2: simulating a feature from its
// explanation on held-out contexts, and scoring the simulation.
//
// Scores (all computed from simulated per-token activations, so every
// simulator gets every score):
//  * simulation: Pearson correlation of simulated and true activations over
//    every token of the held-out top and random records pooled ("all at once"
//    scoring, Bills et al. 2023, "Language models can explain neurons in
//    language models").
//  * detection (Paulo et al. 2024, "Automatically interpreting millions of
//    features in LLMs"): does a context activate at all? Held-out top,
//    quantile and random contexts, labelled by max activation > 0, scored by
//    their largest simulated activation.
//  * fuzzing (same paper): are the highlighted tokens the activating ones? Each
//    held-out activating context twice, with its active tokens highlighted and
//    with as many inactive tokens highlighted instead (seeded), scored by the
//    mean simulated activation of the highlighted tokens.
// Detection and fuzzing report AUROC and balanced accuracy, the classifier
// saying "yes" where a score exceeds half the largest score of that task.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/explain.h"
#include "glassbox/features/stats.h"  // pearson, auroc: the statistics behind the scores

namespace glassbox::features {

// Predicts activations (one per token, same lengths as the records, any
// non-negative scale) from an explanation.
class Simulator {
 public:
  virtual ~Simulator() = default;
  virtual std::vector<std::vector<float>> simulate(const Explanation& e,
                                                   const std::vector<ActivationRecord>& records) const = 0;
};

// With patterns (the built-in explainer's): the largest `activation` of the
// patterns a token matches, 0 elsewhere. Free text (a person's or a language
// model's): 1 where the token, trimmed and lower-cased, is one of the
// explanation's quoted strings or words of three or more letters (stop words
// aside), 0 elsewhere.
class BuiltinSimulator : public Simulator {
 public:
  std::vector<std::vector<float>> simulate(const Explanation& e,
                                           const std::vector<ActivationRecord>& records) const override;
};

struct Scores {
  double simulation = 0;
  double detection_auroc = 0.5, detection_balanced_accuracy = 0.5;
  double fuzzing_auroc = 0.5, fuzzing_balanced_accuracy = 0.5;
  int64_t simulated_tokens = 0;   // tokens in the correlation
  int64_t detection_contexts = 0; // contexts in the detection task
  int64_t fuzzing_contexts = 0;   // highlightings in the fuzzing task (2 per context)
};
nlohmann::json to_json(const Scores& s);

// Scores an explanation on split_examples(ex).holdout.
Scores score(const Explanation& e, const FeatureExamples& ex, const Simulator& sim, uint64_t seed = 0);
// ... with the built-in simulator.
Scores score(const Explanation& e, const FeatureExamples& ex);

}  // namespace glassbox::features
