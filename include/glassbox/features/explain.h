// Automated interpretability, part 1: explaining a feature from its examples.
//
// The built-in explainer needs no language model. It looks at which tokens
// carry a feature's activation in its top and quantile contexts and how often
// the same tokens occur without activation (the rest of those contexts and
// the random ones: the base rate), and keeps the patterns with the largest
// log-odds enrichment that together cover most of the activation: a token
// (" river"), a token after a given token (" bank" after " the"), or any token
// after a given token. Its explanation is a sentence built from those
// patterns, and keeps the patterns so the built-in simulator can replay them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/activations.h"

namespace glassbox::features {

// Matches a token (and optionally the token before it). An empty `token`
// matches any token after `previous`; both are compared verbatim.
struct TokenPattern {
  std::string token, previous;
  double activation = 0;  // predicted activation where it matches, as a fraction of the feature's max (0..1]
  double log_odds = 0;    // enrichment among active vs. inactive tokens (natural log)
  int64_t matches = 0;    // how many active tokens of the explainer's examples it matched
};

struct Explanation {
  int64_t feature = -1;
  std::string text;                   // what a person reads
  std::vector<TokenPattern> patterns; // the built-in explainer's structured form; empty for free text
  std::string explainer;              // "builtin", "llm:<model>", or "" (given by hand)
};
nlohmann::json to_json(const Explanation& e);
Explanation explanation_from_json(const nlohmann::json& j);  // Error naming the bad field

// The examples an explainer sees and the held-out ones a score is computed on:
// alternate records of each list (top is best-first, so both halves span the
// same range of activations). explain() and score() both split this way, so
// passing them the same FeatureExamples never scores on what was explained.
struct ExampleSplit {
  FeatureExamples train, holdout;
};
ExampleSplit split_examples(const FeatureExamples& ex);

struct ExplainOptions {
  int max_patterns = 5;
  double coverage = 0.9;     // stop once the patterns cover this share of the activation mass
  double min_log_odds = 1.0; // a pattern must be at least e times more common among active tokens
};

// An explainer: the built-in one below, or a language model (openai_client.h).
class Explainer {
 public:
  virtual ~Explainer() = default;
  // Explains from split_examples(ex).train.
  virtual Explanation explain(const FeatureExamples& ex) const = 0;
};

class BuiltinExplainer : public Explainer {
 public:
  explicit BuiltinExplainer(ExplainOptions opt = {}) : opt_(opt) {}
  Explanation explain(const FeatureExamples& ex) const override;

 private:
  ExplainOptions opt_;
};

// The built-in explainer with default options.
Explanation explain(const FeatureExamples& ex);

// The sentence for a list of patterns: tokens " river", " lake"; " bank" after " the"; any token after " of".
std::string describe_patterns(const std::vector<TokenPattern>& patterns);

}  // namespace glassbox::features
