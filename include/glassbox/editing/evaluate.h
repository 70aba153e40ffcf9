// How good an edit is, in the CounterFact terms of Meng et al.: efficacy (the
// new object now beats the old one after the edited prompt), paraphrase
// success (also after the other phrasings), neighbourhood specificity (other
// subjects' facts of the same relation still beat the new object), fluency
// (cross-entropy on held-out text, n-gram entropy of generations), for edits
// made one at a time or in batches of many at once.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/editing/edit.h"
#include "glassbox/train.h"

namespace glassbox::editing {

struct RequestScore {
  std::string subject, prompt, target_new, target_true;
  bool efficacy = false;
  double paraphrase = 0, neighbourhood = 0;  // fraction of paraphrases / neighbours that pass
  double p_new = 0, p_true = 0;              // probabilities after the edited prompt
};

// Scores one request on the model as it is now.
RequestScore score_request(Editor& ed, const EditRequest& r);

// Text for the covariance and the fluency measures.
struct EditText {
  std::vector<std::vector<int32_t>> covariance_rows;  // the organism's training text
  std::vector<TrainBatch> heldout;                    // held-out text: cross-entropy before / after
  std::vector<std::vector<int32_t>> generation_prompts;  // generations' starts (n-gram entropy)
};

// Mean next-token cross-entropy over the batches.
double heldout_ce(const Model& m, const std::vector<TrainBatch>& batches);
// ROME's fluency: generations of `max_new` tokens (greedy) from the prompts,
// the weighted mean of their 2- and 3-gram entropies (weights 2/3 and 4/3, bits).
double generation_entropy(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int max_new);

// One method on one batch size, scored.
struct MethodScores {
  Method method = Method::Rome;
  std::vector<int> layers;
  int batch_size = 0;   // edits applied together (ROME: in sequence)
  int n_edits = 0;      // requests scored in all
  double efficacy = 0, paraphrase = 0, neighbourhood = 0;
  double ce_before = 0, ce_after = 0;            // held-out cross-entropy
  double entropy_before = 0, entropy_after = 0;  // generation n-gram entropy
  double seconds = 0;
  std::vector<RequestScore> requests;
};

// Applies `requests` in batches of `batch_size` (the model reset between
// batches) and scores every request after its batch; fluency is measured
// after the first batch (the heaviest change when there is one batch).
MethodScores evaluate_method(Editor& ed, const std::vector<EditRequest>& requests, int batch_size,
                             const EditConfig& cfg, const std::vector<KeyCovariance>& cov, const EditText& text,
                             bool progress = false);

nlohmann::json to_json(const RequestScore& s);
nlohmann::json to_json(const MethodScores& s, bool per_request = false);

// ---- the facts organisms' counterfactuals

// The model directory's organism name from the manifest ("facts"), or "" when
// it is not a shipped organism.
std::string organism_of(const std::string& model_dir);

// n facts of the organism (seeded choice), each with a new object of the
// same relation; paraphrases are the other phrasings; neighbours are up to
// n_neighbours other subjects (not among the n) of the same relation. The
// facts are model_dir/heldout.json when there is one (a retrained or copied
// organism carries its own list), else the shipped organism's. Error when the
// organism has no facts (only facts organisms do).
std::vector<EditRequest> fact_requests(const std::string& organism, int n, uint64_t seed, int n_neighbours = 10,
                                       const std::string& model_dir = "");

// The organism's training text (covariance_rows: about n_tokens tokens),
// held-out text (its base model's held-out pretraining text for a fine-tuned
// organism, else fresh draws of its training text) and generation starts.
EditText organism_text(const std::string& organism, int64_t n_tokens, uint64_t seed);

}  // namespace glassbox::editing
