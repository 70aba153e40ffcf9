// The logit lens (nostalgebraist 2020): decode the residual stream before
// every layer, and after the last, through the model's own final norm (with
// its weights, each row normalised by its own statistics) and unembedding.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"

namespace glassbox::analysis {

struct LogitLensOptions {
  int top_k = 5;
  int64_t row = 0;                  // batch row to decode
  std::vector<int64_t> positions;   // negative: from the end; empty = all
  // Token whose rank and probability are tracked: empty = the next token of
  // the prompt (none at the last position), one id for every position, or one per position.
  std::vector<int32_t> targets;
};

struct LensCell {
  std::vector<int32_t> top_tokens;  // most probable first
  std::vector<float> top_probs;
  int32_t target = -1;              // -1: no target at this position
  int64_t target_rank = -1;         // 0 = most probable
  float target_prob = 0;
  float kl_to_final = 0;            // KL(p_final || p_layer), nats
};

struct LogitLensResult {
  // "blocks.{l}.hook_resid_pre" for every layer, then "blocks.{L-1}.hook_resid_post".
  std::vector<std::string> layers;
  std::vector<int64_t> positions;   // absolute
  std::vector<int32_t> tokens;      // the row's token at each position
  std::vector<LensCell> cells;      // [layers.size(), positions.size()]

  const LensCell& at(size_t layer, size_t pos) const { return cells[layer * positions.size() + pos]; }
  nlohmann::json to_json() const;
};

// Rewrites the residual rows x [N, d_model] of layers[layer] in place before
// they are decoded: how the tuned lens (tuned_lens.h) reuses this decoder.
using LensTranslator = std::function<void(float* x, int64_t N, size_t layer)>;

LogitLensResult logit_lens(Engine& e, const Batch& batch, const LogitLensOptions& opt = {},
                           const LensTranslator& translate = nullptr);

}  // namespace glassbox::analysis
