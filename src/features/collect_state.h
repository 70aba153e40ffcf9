// Internal to the collector: the per-feature accumulators of one streaming
// pass (collect.h explains what each keeps and why). Plain arrays indexed by
// feature, so a thread that owns a block of features touches only its own
// memory and the result does not depend on the thread count.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/features/collect.h"

namespace glassbox::features::detail {

// A stored context window: the activations of tokens [start, start + len) of
// a sequence, centred on `pos`.
struct WindowMeta {
  float act = 0;  // at the centre token
  int64_t seq = -1;
  int32_t pos = 0, start = 0, len = 0;
};

struct Decoder;  // turns stored windows into ActivationRecords (collect_state.cpp)

class FeatureAccumulators {
 public:
  // total_tokens: tokens in all sequences of seq_len (the last may be
  // shorter); random contexts are drawn among them now.
  FeatureAccumulators(int64_t n_features, const CollectOptions& opt, int64_t total_tokens, int seq_len);

  // f: [B*T, n_features] features of sequences first_seq .. first_seq+B-1,
  // T tokens each. Parallel over blocks of features (and rows for co-occurrence).
  void add_batch(const float* f, int64_t B, int64_t T, int64_t first_seq);

  // Examples (tokens decoded with `token_text`, indexed by token id, from the
  // corpus `tokens`) and everything of the dashboards but logit effects.
  void finish(const std::vector<int32_t>& tokens, const std::vector<std::string>& token_text,
              std::vector<FeatureExamples>& examples, std::vector<FeatureDashboard>& dash) const;

 private:
  void scan_block(const float* f, int64_t B, int64_t T, int64_t first_seq, int64_t j0, int64_t j1);
  void count_cooccurrence(const int32_t* strongest, int64_t rows, int64_t j0, int64_t j1);
  void capture(std::vector<float>& acts, std::vector<WindowMeta>& meta, size_t slot, const float* f, int64_t T,
               int64_t s_local, int64_t seq, int32_t pos, int64_t j) const;
  void offer_top(int64_t j, const float* f, int64_t T, int64_t s_local, int64_t seq, int32_t pos, float a);
  void offer_reservoir(int64_t j, const float* f, int64_t T, int64_t s_local, int64_t seq, int32_t pos);
  // Quantile bands of the feature's reservoir into ex.quantiles / d.quantile_bands.
  void quantile_samples(int64_t j, const Decoder& dec, FeatureExamples& ex, FeatureDashboard& d) const;
  double uniform(int64_t j);  // (0, 1), the feature's own stream
  void advance_reservoir(int64_t j);

  int64_t F_;
  CollectOptions opt_;
  int seq_len_, W_;      // W_: window capacity (context_before + 1 + context_after)
  int K_, R_, NR_;       // top-k, reservoir, random contexts per feature
  int64_t total_tokens_;

  // Statistics.
  std::vector<int64_t> active_;
  std::vector<double> sum_;
  std::vector<float> max_;
  std::vector<uint32_t> hist_;  // [F, kFineBins]
  // Per sequence: the strongest token so far (top-k keeps one context per sequence).
  std::vector<float> seq_max_;
  std::vector<int32_t> seq_pos_;
  // Top-k: a min-heap of slots per feature.
  std::vector<float> top_acts_;  // [F, K, W]
  std::vector<WindowMeta> top_meta_;
  std::vector<uint32_t> top_heap_;  // [F, K] slots
  std::vector<int32_t> top_size_;
  // Reservoir (Li's Algorithm L: one random draw per replacement, not per item).
  std::vector<float> res_acts_;  // [F, R, W]
  std::vector<WindowMeta> res_meta_;
  std::vector<double> res_w_;
  std::vector<int64_t> res_next_;  // 1-based index of the next active token to keep
  std::vector<uint64_t> rng_;
  // Random contexts: global token indices drawn up front, ascending, per feature.
  std::vector<int64_t> rand_at_;  // [F, NR]
  std::vector<float> rand_acts_;  // [F, NR, W]
  std::vector<WindowMeta> rand_meta_;
  std::vector<int32_t> rand_next_;
  // Co-occurrence: space-saving counters.
  std::vector<int32_t> co_key_;    // [F, slots], -1 empty
  std::vector<uint32_t> co_count_;
  std::vector<int64_t> co_tokens_;  // tokens where the feature was among the strongest
  std::vector<int32_t> strongest_;  // scratch: [rows, cooccur_top]
};

// Fine histogram bins: 8 per octave over [2^-20, 2^12), read off the float's
// exponent and top mantissa bits (no log per activation).
inline constexpr int kFineBins = 32 * 8;
inline constexpr int kMinExp = -20;
int fine_bin(float a);
float fine_bin_lo(int b);  // 0 for the first bin (it also holds everything smaller)
float fine_bin_hi(int b);
// Spreads fine-bin counts over `bins` linear bins on [0, max_act], in proportion to overlap.
ActivationHistogram rebin_linear(const uint32_t* fine, float max_act, int bins);

}  // namespace glassbox::features::detail
