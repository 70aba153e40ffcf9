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

}  // namespace glassbox
