// Next-token predictions: the k most likely tokens of one logits row, with
// their probabilities — what `glassbox run`, the tour and the bindings show.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/model.h"

namespace glassbox {

struct Prediction {
  int32_t id;
  double prob;
  float logit;
};

// The k most likely tokens of one logits row (ties: the lower id first);
// softmax in double, so small probabilities of a large vocabulary keep their
// digits.
std::vector<Prediction> top_predictions(const float* logits, int64_t V, int k);

// [{id, text, prob, logit}]; text is the token's bytes, null without a tokenizer.
nlohmann::json to_json(const std::vector<Prediction>& ps, const Model& m);

}  // namespace glassbox
