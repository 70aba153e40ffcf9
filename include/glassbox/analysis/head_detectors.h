// Attention-head detectors as in TransformerLens' head_detector: a head's
// score for a detection pattern D [q, k] is sum(A * D) / sum(A) of its
// attention pattern A on a prompt, averaged over batch rows, so 1 means all
// attention goes where D points. Patterns: previous token (k = q - 1),
// duplicate token (an earlier k with the same token as q), induction (the
// token after an earlier occurrence of q's token). Patterns are read with
// observe hooks during one forward pass; nothing is cached.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/enum_string.h"

namespace glassbox::analysis {

struct HeadScores {
  std::string name;              // "previous_token", "induction", "copying" ...
  int n_layers = 0, n_heads = 0;
  std::vector<float> scores;     // [n_layers, n_heads]

  float at(int layer, int head) const { return scores[size_t(layer * n_heads + head)]; }
  // (layer, head) pairs, best score first.
  std::vector<std::pair<int, int>> ranked() const;
  nlohmann::json to_json() const;
};

enum class HeadPattern : uint8_t { PreviousToken, DuplicateToken, Induction };
const char* to_string(HeadPattern p);  // "previous_token", "duplicate_token", "induction"

struct HeadDetectorOptions {
  bool exclude_bos = false;            // drop attention to position 0 (TransformerLens' exclude_bos)
  bool exclude_current_token = false;  // drop attention to the query itself
  // Normalise only over query rows where the pattern points somewhere (e.g. the
  // second repeat for induction): the classic "induction score" of Olsson et
  // al. rather than TransformerLens' whole-prompt ratio, which caps it at ~0.5.
  bool matched_rows_only = false;
};

// D for one row of tokens: [T, T] row-major, 1 where the pattern points.
std::vector<float> detection_pattern(HeadPattern p, const int32_t* tokens, int64_t T);

// Scores of every head for each requested pattern, from one forward pass.
std::vector<HeadScores> head_detection_scores(Engine& e, const Batch& batch, const std::vector<HeadPattern>& patterns,
                                              const HeadDetectorOptions& opt = {});

// Rows of `seq_len` random tokens repeated once ([bos] r r), drawn without
// replacement when d_vocab allows, so the only repeats are the intended ones.
Batch repeated_random_tokens(int32_t d_vocab, int64_t seq_len, int64_t rows, uint64_t seed, int32_t bos = -1);
// The same over a model's vocabulary, with its tokenizer's BOS (if any) first.
Batch repeated_random_tokens(const Model& m, int64_t seq_len, int64_t rows, uint64_t seed);
// The longest seq_len <= want whose [bos] r r fits m's context (0: none does).
int64_t repeated_length_that_fits(const Model& m, int64_t want);

}  // namespace glassbox::analysis

namespace glassbox {
template <> analysis::HeadPattern from_string<analysis::HeadPattern>(std::string_view s);
}  // namespace glassbox
