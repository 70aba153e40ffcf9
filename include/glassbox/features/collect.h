// Feature dashboards in one streaming pass: run the model over a corpus,
// keep only the FeatureMap's hook (the pass stops after its layer, no
// logits), encode each batch (one GEMM for a dictionary) and update per
// feature, in bounded memory:
//  * the top-k contexts (one per sequence: its strongest token), a min-heap;
//  * a uniform reservoir of active tokens, split at the end into activation
//    quantile bands (a uniform sample has equal mass in equal-quantile bands,
//    so each band is a reservoir sample of that band: SAE dashboards'
//    "interval" samples, Neuronpedia's quantiles);
//  * random contexts (mostly inactive), drawn before the pass, for scoring;
//  * density, mean and max activation, a histogram (fine log bins);
//  * co-occurrence: per token, the `cooccur_top` strongest active features;
//    each counts the others in a space-saving table of `cooccur_slots`
//    entries (Metwally et al. 2005: exact while the table has room; once
//    full, every partner seen on more than 1/slots of the feature's tokens
//    stays in it, its count over-estimated by at most that much).
// A context window holds the activations of its ±context tokens, copied when
// it enters a heap or reservoir; tokens are decoded only at the end.
// Logit effects come from logit_effects() (dashboard.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glassbox/engine.h"
#include "glassbox/features/activations.h"
#include "glassbox/features/dashboard.h"

namespace glassbox::features {

struct CollectOptions {
  int top_k = 20;               // top-activating contexts per feature
  int quantile_bands = 5;       // equal-quantile bands of the positive activations
  int per_band = 4;             // contexts shown per band
  int random = 10;              // random contexts per feature
  int context_before = 16;      // tokens of context before / after the centre token
  int context_after = 8;
  int cooccur_top = 8;          // strongest features per token whose pairs are counted
  int cooccur_slots = 32;       // counters per feature
  int cooccurring = 10;         // co-occurring features reported
  int logit_k = 10;             // top / bottom logit tokens
  int histogram_bins = 40;
  int seq_len = 0;              // tokens per sequence (0: the model's context)
  int batch = 16;               // sequences per forward pass (fewer when the features of a batch would pass 64 MB)
  int64_t max_tokens = 0;       // 0: the whole corpus
  uint64_t seed = 0;
  // Called after each batch with (tokens done, tokens in all).
  std::function<void(int64_t, int64_t)> progress;
};

struct Dashboards {
  std::vector<FeatureExamples> examples;  // one per feature, in feature order
  FeatureDashboardData data;
};

// `tokens`: the corpus as one token stream (a text file's:
// tokenize_text_file(tok, path, /*add_special=*/true), model_stream.h), cut into sequences of seq_len
// (the last may be shorter; fewer than 2 tokens are dropped). The map's hook
// must be a per-token site whose row has map.d_in() entries. Error on an
// empty corpus, a token out of the vocabulary, a mismatched map, or options
// out of range.
Dashboards collect_dashboards(Engine& e, const FeatureMap& map, const std::vector<int32_t>& tokens,
                              const CollectOptions& opt = {});

}  // namespace glassbox::features
