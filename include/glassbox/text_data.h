// Training data from a token stream: random windows for language modelling.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "glassbox/train.h"

namespace glassbox {

// Splits a token stream into a training part and a held-out tail (val_fraction of it).
struct TokenSplit {
  std::shared_ptr<const std::vector<int32_t>> train, val;
};
TokenSplit split_tokens(std::vector<int32_t> tokens, double val_fraction);

// Batches of `batch` windows of `seq_len` tokens at uniformly random offsets,
// next-token targets at every position. Error if the stream is shorter than seq_len + 1.
BatchFn random_windows(std::shared_ptr<const std::vector<int32_t>> tokens, int batch, int seq_len);

// Deterministic consecutive windows (evaluation): call i returns windows i*batch ...
// wrapping around; the rng is ignored.
BatchFn sequential_windows(std::shared_ptr<const std::vector<int32_t>> tokens, int batch, int seq_len);

// Unigram cross-entropy (nats/token) of `eval` under add-one-smoothed counts of `train`:
// the baseline a language model's validation loss is compared with.
double unigram_loss(const std::vector<int32_t>& train, const std::vector<int32_t>& eval, int vocab);

}  // namespace glassbox
