#include "glassbox/text_data.h"

#include <cmath>

#include "glassbox/error.h"

namespace glassbox {

TokenSplit split_tokens(std::vector<int32_t> tokens, double val_fraction) {
  if (!(val_fraction > 0 && val_fraction < 1)) fail("split_tokens: val_fraction must be in (0, 1)");
  const size_t cut = size_t(double(tokens.size()) * (1 - val_fraction));
  auto val = std::make_shared<std::vector<int32_t>>(tokens.begin() + std::ptrdiff_t(cut), tokens.end());
  tokens.resize(cut);
  return {std::make_shared<const std::vector<int32_t>>(std::move(tokens)), val};
}

static TrainBatch windows_at(const std::vector<int32_t>& toks, const std::vector<size_t>& starts, int seq_len) {
  TrainBatch tb;
  tb.batch.B = int64_t(starts.size());
  tb.batch.T = seq_len;
  for (size_t s : starts)
    for (int t = 0; t < seq_len; ++t) {
      tb.batch.tokens.push_back(toks[s + size_t(t)]);
      tb.targets.push_back(toks[s + size_t(t) + 1]);
    }
  return tb;
}

static void check_len(const std::vector<int32_t>& toks, int batch, int seq_len) {
  if (batch <= 0 || seq_len <= 0) fail("text data: batch and seq_len must be positive");
  if (toks.size() < size_t(seq_len) + 1)
    fail("text data: ", toks.size(), " tokens are too few for windows of ", seq_len, " (+1 target)");
}

BatchFn random_windows(std::shared_ptr<const std::vector<int32_t>> tokens, int batch, int seq_len) {
  check_len(*tokens, batch, seq_len);
  return [tokens, batch, seq_len](std::mt19937_64& rng) {
    std::uniform_int_distribution<size_t> off(0, tokens->size() - size_t(seq_len) - 1);
    std::vector<size_t> starts;
    for (int b = 0; b < batch; ++b) starts.push_back(off(rng));
    return windows_at(*tokens, starts, seq_len);
  };
}

BatchFn sequential_windows(std::shared_ptr<const std::vector<int32_t>> tokens, int batch, int seq_len) {
  check_len(*tokens, batch, seq_len);
  auto next = std::make_shared<size_t>(0);
  return [tokens, batch, seq_len, next](std::mt19937_64&) {
    std::vector<size_t> starts;
    const size_t n_windows = (tokens->size() - 1) / size_t(seq_len);
    for (int b = 0; b < batch; ++b) starts.push_back(((*next)++ % n_windows) * size_t(seq_len));
    return windows_at(*tokens, starts, seq_len);
  };
}

double unigram_loss(const std::vector<int32_t>& train, const std::vector<int32_t>& eval, int vocab) {
  std::vector<double> count(static_cast<size_t>(vocab), 1.0);
  for (int32_t t : train) count[size_t(t)] += 1;
  const double total = double(train.size()) + vocab;
  double nll = 0;
  for (int32_t t : eval) nll -= std::log(count[size_t(t)] / total);
  return eval.empty() ? 0 : nll / double(eval.size());
}

}  // namespace glassbox
