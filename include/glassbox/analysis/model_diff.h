// Model diffing: what did fine-tuning change? A base model and its tuned
// counterpart (same architecture and vocabulary) read the same prompts, each
// followed by a response (the tuned model's own greedy continuation, or any
// tokens the caller gives), and the report says
//
//  * where in the response they diverge: KL(tuned || base) between their
//    next-token distributions at each response position;
//  * which layers and components carry the difference: each component's
//    output (attn_out, mlp_out at every layer, all positions at once) patched
//    from the base into the tuned model ("base_into_tuned": how much of the
//    KL disappears without that component's change) and from the tuned into
//    the base ("tuned_into_base": how much of it that change alone brings);
//  * how much each weight matrix moved (relative Frobenius norm);
//  * which tokens the residual difference promotes at each layer: the mean
//    change of the logit lens's log-probabilities, log p_tuned - log p_base,
//    each model's resid_post decoded through its own final norm and
//    unembedding (over the response start, and over the rest).
//
// Shares are 1 - KL_patched / KL, over every scored position and over the
// response start; they need not add up to 1 (components interact).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/model.h"
#include "glassbox/sites.h"

namespace glassbox::analysis {

// One prompt and its response as one token row: tokens[response_from] is the
// first response token (>= 1). Position response_from - 1 + r predicts
// response token r: "response position r".
struct DiffPrompt {
  std::vector<int32_t> tokens;
  int64_t response_from = 1;
};

// A prompt (token ids) and its response when given (ids, no BOS).
struct AskedPrompt {
  std::vector<int32_t> prompt;
  std::optional<std::vector<int32_t>> response;
};

// `glassbox diff` / glassbox.model_diff's prompts: each prompt followed by
// its response, the missing ones written greedily (max_new_tokens) by
// `writer` in one batch. Error for an empty response.
std::vector<DiffPrompt> with_responses(Engine& writer, const std::vector<AskedPrompt>& asked, int max_new_tokens);

struct ModelDiffOptions {
  // Components patched at every layer (residual-shaped sites only).
  std::vector<Site> sites = {Site::attn_out, Site::mlp_out};
  // The response start: response positions 0 .. start_positions-1.
  int64_t start_positions = 3;
  int top_k = 8;              // tokens per layer in the lens of the difference
  bool patching = true;
  int64_t batch_rows = 16;    // prompts per forward pass
  // Called with (done, total) forward passes.
  std::function<void(int64_t, int64_t)> progress;
};

// Error unless base and tuned can be compared position by position and
// component by component: the same vocabulary size, width, depth and heads
// (the message names both models and the field that differs).
void check_diffable(const Model& base, const Model& tuned);

struct ComponentShare {
  Site site = Site::attn_out;
  int layer = 0;
  std::string hook;                          // "blocks.0.hook_attn_out"
  double base_into_tuned = 0, tuned_into_base = 0;              // over every scored position
  double base_into_tuned_start = 0, tuned_into_base_start = 0;  // over the response start
};

struct WeightDiff {
  std::string name;       // "blocks.0.attn.W_Q", "W_E"
  int layer = -1;         // -1: embeddings / unembedding
  double base_norm = 0;   // ||W_base||_F
  double diff_norm = 0;   // ||W_tuned - W_base||_F
  double relative = 0;    // diff_norm / base_norm (0 when both are 0)
};

// The lens of the residual difference at one layer, over one group of positions.
struct LensDiffLayer {
  std::string hook;                       // "blocks.2.hook_resid_post"
  double relative_norm = 0;               // mean ||resid_tuned - resid_base|| / mean ||resid_tuned||
  std::vector<int32_t> promoted, suppressed;  // most promoted / suppressed first
  std::vector<float> promoted_delta, suppressed_delta;  // mean change of log p, nats
};

struct ModelDiff {
  std::string base, tuned;                  // model sources
  int64_t n_prompts = 0, start_positions = 0;
  std::vector<double> kl_by_position;       // mean KL(tuned || base), nats, per response position
  std::vector<int64_t> count_by_position;   // prompts reaching each position
  double kl_mean = 0;                       // over every scored position
  double kl_start = 0, kl_rest = 0;         // the response start; the positions after it
  double start_over_rest = 0;               // kl_start / kl_rest
  int64_t peak_position = 0;                // the response position of largest mean KL
  std::vector<ComponentShare> components;   // layer-major, sites in the order asked
  std::vector<WeightDiff> weights;
  std::vector<LensDiffLayer> lens_start, lens_rest;  // per resid_post layer
  // Fields: technique ("model_diff"), base, tuned, n_prompts, start_positions,
  // kl {by_position, count_by_position, mean, start, rest, start_over_rest,
  // peak_position}, components [{hook, site, layer, base_into_tuned,
  // tuned_into_base, base_into_tuned_start, tuned_into_base_start}], weights
  // [{name, layer, base_norm, diff_norm, relative}], lens {start, rest}:
  // [{hook, relative_norm, promoted [{token, delta_logprob}], suppressed [...]}]
  // (token ids; the CLI adds their text).
  nlohmann::json to_json() const;
  const ComponentShare* find(Site s, int layer) const;
};

// Relative Frobenius norms of every weight matrix (W_E, W_pos, per layer
// W_Q, W_K, W_V, W_O, W_in, W_gate, W_out, the norms' weights, W_U).
std::vector<WeightDiff> weight_diff(const Model& base, const Model& tuned);

// Error for an empty prompt list, a response_from outside [1, size), tokens
// out of the vocabulary, or rows longer than the context.
ModelDiff model_diff(const Model& base, const Model& tuned, const std::vector<DiffPrompt>& prompts,
                     const ModelDiffOptions& opt = {});

}  // namespace glassbox::analysis
