// Model diffing with a crosscoder (Lindsey et al. 2024, "Sparse Crosscoders
// for Cross-Layer Features and Model Diffing"; Minder et al. 2025): one
// dictionary over the same site of a base and a tuned model, trained on the
// same tokens, shares a latent space between them. A latent whose decoder
// lives in one model's block only is a feature of that model alone: the
// relative decoder norm
//
//   r_j = ||W_dec[j, tuned]|| / (||W_dec[j, base]|| + ||W_dec[j, tuned]||)
//
// is ~0.5 for a shared latent, ~1 for one exclusive to the tuned model, ~0 for
// one exclusive to the base. This reads a trained crosscoder (source 0: the
// base's site, source 1: the tuned model's) on the prompts and responses of a
// model diff and says where each group of latents fires: at the response
// start or after it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/model_diff.h"
#include "glassbox/features/sae.h"
#include "glassbox/model.h"

namespace glassbox::features {

struct CrosscoderDiffOptions {
  double exclusive = 0.9;       // r above this: tuned only; below 1 - this: base only
  int64_t start_positions = 3;  // response positions 0 .. start-1 are the start (as ModelDiffOptions)
  int top = 10;                 // latents listed per exclusive group
  int bins = 20;                // relative-norm histogram bins over [0, 1]
};

// One latent over the scored positions (those predicting a response token).
struct CrosscoderLatent {
  int64_t latent = 0;
  double relative_norm = 0;
  double decoder_cosine = 0;             // cos(W_dec[j, base], W_dec[j, tuned])
  double freq_start = 0, freq_rest = 0;  // share of start / rest positions where it fires
  double mean_start = 0, mean_rest = 0;  // mean activation over start / rest positions
  double max_activation = 0;
  int32_t max_token = -1;                // the input token where it fires most
};

// Where one group of latents fires: the share of its activation mass at the
// response start, against the share of scored positions that are the start.
struct CrosscoderGroup {
  int64_t latents = 0;
  double activation_start = 0, activation_rest = 0;  // summed over latents and positions
  double start_share() const {
    const double t = activation_start + activation_rest;
    return t > 0 ? activation_start / t : 0.0;
  }
};

struct CrosscoderDiff {
  std::string base_hook, tuned_hook;  // the sites read in each model
  int64_t d_sae = 0, n_prompts = 0, start_positions = 0;
  int64_t positions_start = 0, positions_rest = 0;    // scored positions in each group
  std::vector<int64_t> relative_norm_histogram;       // bins over [0, 1], latents with a decoder
  CrosscoderGroup base_only, shared, tuned_only;
  // Over the latents firing at the response start (and after it), weighted by
  // their activation: exclusivity 2|r - 0.5| (0 shared, 1 exclusive to one
  // model) and the cosine between the latent's two decoder blocks. Higher
  // exclusivity / lower cosine at the start: what fires there is more
  // specific to one model, with or without latents past the exclusive cut.
  double exclusivity_start = 0, exclusivity_rest = 0;
  double cosine_start = 0, cosine_rest = 0;
  std::vector<CrosscoderLatent> top_tuned_only, top_base_only;  // by total activation
  std::vector<CrosscoderLatent> top_start;  // largest mean_start - mean_rest
  double start_position_share() const {
    const int64_t t = positions_start + positions_rest;
    return t > 0 ? double(positions_start) / double(t) : 0.0;
  }
  // Fields: technique ("crosscoder_diff"), base_hook, tuned_hook, d_sae,
  // n_prompts, start_positions, positions {start, rest, start_share},
  // relative_norm_histogram, groups {base_only, shared, tuned_only}:
  // {latents, activation_start, activation_rest, start_share}, exclusivity
  // {start, rest}, decoder_cosine {start, rest}, top_tuned_only /
  // top_base_only / top_start: [{latent, relative_norm, decoder_cosine,
  // freq_start, freq_rest, mean_start, mean_rest, max_activation, max_token}].
  nlohmann::json to_json() const;
};

// The site of crosscoder source s in a model: the source name after its
// "MODEL/" prefix (as harvesting names a crosscoder's sites). Error unless
// the crosscoder has exactly two sources whose sites exist in the models
// with the crosscoder's width.
CrosscoderDiff crosscoder_diff(const Model& base, const Model& tuned, const Sae& crosscoder,
                               const std::vector<analysis::DiffPrompt>& prompts,
                               const CrosscoderDiffOptions& opt = {});

}  // namespace glassbox::features
