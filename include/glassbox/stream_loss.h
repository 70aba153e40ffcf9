// Mean next-token loss and perplexity over a token stream longer than the
// model's context (`glassbox run --text-file`).
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"

namespace glassbox {

struct StreamLoss {
  int64_t tokens = 0;            // in the stream
  int64_t tokens_evaluated = 0;  // predicted: every token after the first
  int64_t windows = 0;           // forward passes of at most n_ctx tokens
  double loss = 0;               // mean -log p(next token), nats
  double ppl() const;
  nlohmann::json to_json() const;  // tokens, tokens_evaluated, windows, loss, ppl
};

// Windows of the model's context overlap by one token, so every token after
// the first is predicted exactly once; -log softmax is taken in double (float
// accumulation over a large vocabulary loses digits a good model's perplexity
// needs). Hooks (interventions) apply to every window; progress(w, n) is
// called before window w of n. Error for fewer than 2 tokens.
StreamLoss stream_loss(Engine& e, const std::vector<int32_t>& ids, const HookRegistry* hooks = nullptr,
                       const std::function<void(size_t, size_t)>& progress = {});

// llama.cpp's `llama-perplexity` protocol (tools/perplexity, default mode), so
// that the two tools' numbers on the same file can be compared:
//  * ids is the whole text tokenized once, BOS prepended as the tokenizer says;
//  * it is cut into floor(ids / n_ctx) disjoint chunks of n_ctx tokens (the
//    tail is dropped; at most max_chunks when that is > 0), and a text shorter
//    than 2 * n_ctx tokens is an Error, as llama.cpp refuses it;
//  * each chunk is one forward from position 0, its first token replaced by
//    bos when bos >= 0 (llama.cpp does so when the vocabulary adds BOS);
//  * only the second half is scored: the logits at positions n_ctx/2 ..
//    n_ctx-2 predict the next token, n_ctx - n_ctx/2 - 1 per chunk.
// windows = chunks; loss = mean -log p in nats (ppl = exp(loss)).
struct ChunkedLossOptions {
  int64_t n_ctx = 0;       // chunk length; 2 <= n_ctx <= the model's context
  int32_t bos = -1;        // token put at each chunk's start, -1 for none
  int64_t max_chunks = 0;  // 0: every whole chunk
};
StreamLoss chunked_loss(Engine& e, const std::vector<int32_t>& ids, const ChunkedLossOptions& opt,
                        const HookRegistry* hooks = nullptr,
                        const std::function<void(size_t, size_t)>& progress = {});

}  // namespace glassbox
