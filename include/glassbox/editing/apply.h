// Editing as `glassbox edit apply | eval` and glassbox.Editor / edit_eval run
// it: the covariance set-up, the before / after probabilities and the
// method-by-batch evaluation, in one place for the CLI and Python.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/editing/edit.h"
#include "glassbox/editing/evaluate.h"

namespace glassbox::editing {

// p(new), p(old) (when the request names it) and the top token's text after
// the request's prompt: `edit apply --json`'s "before" / "after". Null for a
// request without a subject (an edit file applied as it was saved).
nlohmann::json request_probabilities(Editor& ed, const EditRequest& r);

// The key covariance of each layer: over the organism's training text
// (organism_of() of the model), or for any other model over n_tokens of text
// it samples itself.
std::vector<KeyCovariance> edit_covariances(Editor& ed, const std::string& organism, const std::vector<int>& layers,
                                            int64_t n_tokens, bool progress = false);

// One edit and what it did, as `edit apply --json` prints it.
struct AppliedEdit {
  std::vector<WeightDelta> deltas;
  nlohmann::json about;          // method, model, layers, subject, prompt, new, old (the edit file's metadata)
  nlohmann::json before, after;  // request_probabilities()
  nlohmann::json to_json() const;  // {edit, before, after, changes: [{layer, rank}]}
};

// Writes one fact into ed (the model at model_path): empty cfg.layers take
// default_layers(), ROME / MEMIT get edit_covariances() of cov_tokens tokens.
AppliedEdit apply_fact(Editor& ed, const std::string& model_path, const EditRequest& r, EditConfig cfg,
                       int64_t cov_tokens, bool progress = false);

// evaluate_method() for each config (its method and layers set) at each batch
// size, in that order; a layer's covariance over text.covariance_rows is
// estimated once and shared by every method editing it.
std::vector<MethodScores> evaluate_methods(Editor& ed, const std::vector<EditRequest>& requests,
                                           const std::vector<EditConfig>& configs, const std::vector<int>& batches,
                                           const EditText& text, bool progress = false);

}  // namespace glassbox::editing
