// Stream metrics of a trained dictionary (no model needed): L0, MSE,
// explained variance, dead / dense latents, the feature-density histogram.
// The spliced metrics (CE loss recovered, KL) need the model and live elsewhere;
// they call Sae::encode / decode from a replace hook.
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/features/activations.h"
#include "glassbox/features/sae.h"

namespace glassbox::features {

struct DictionaryEvalOptions {
  int64_t max_rows = 0;              // 0: the whole stream (from its first row)
  int64_t batch_rows = 4096;
  double dense_frequency = 0.1;      // a latent firing on more than this fraction of tokens is dense
  double hist_min_log10 = -8;        // density histogram: log10(frequency) bins of hist_bin_width
  double hist_bin_width = 0.5;       // from hist_min_log10 up to 0; dead latents counted apart
};

struct DictionaryMetrics {
  int64_t rows = 0;
  double l0 = 0;                   // mean active latents per token
  double mse = 0;                  // mean over tokens of sum over dims of (x_hat - y)^2 (SAELens' MSE)
  double explained_variance = 0;   // 1 - sum (y - x_hat)^2 / sum (y - mean y)^2 over all tokens
  double fvu = 0;                  // fraction of variance unexplained = 1 - explained_variance
  double dead_fraction = 0;        // latents that never fired
  double dense_fraction = 0;       // latents with frequency > dense_frequency
  std::vector<double> frequency;   // [d_sae]: fraction of tokens each latent fires on
  std::vector<double> hist_edges;  // log10 frequency bin edges
  std::vector<int64_t> hist_counts;// latents per bin (edges.size() - 1), dead ones not included
  nlohmann::json to_json(bool with_frequency = false) const;
};

// Reads the stream from its first row (rewinds first); sites as the trainer
// resolves them (hook_name, hook_name_out, source_names).
DictionaryMetrics evaluate_dictionary(const Sae& sae, ActivationStream& stream, const DictionaryEvalOptions& o = {});

}  // namespace glassbox::features
