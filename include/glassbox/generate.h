// Sampling and generation with a KV cache; hooks and interventions stay active
// for every generated token.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#include "glassbox/engine.h"

namespace glassbox {

struct SamplingOptions {
  int max_new_tokens = 32;
  float temperature = 1.0f;  // 0 = greedy
  int top_k = 0;             // 0 = off
  float top_p = 1.0f;        // nucleus; 1 = off
  uint64_t seed = 0;
  std::vector<int32_t> stop_tokens;  // generation of a row ends after one of these
};

// Picks the next token from one row of logits. Deterministic for a given rng state.
int32_t sample_token(const float* logits, int64_t V, const SamplingOptions& o, std::mt19937_64& rng);

struct Generation {
  std::vector<std::vector<int32_t>> tokens;  // new tokens per prompt (prompt not included)
};

// Prompts of different lengths are left-padded so every row's last prompt
// token sits at the same step. Throws Error if prompt + max_new_tokens exceeds the context.
Generation generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts, const SamplingOptions& o,
                    const HookRegistry* hooks = nullptr);

// What a per-step observer sees after each forward pass, before sampling:
// the last position's logits of every row ([B, V]) and which rows already
// ended. Setting stop[b] ends row b without emitting this step's token (a
// monitor that stops generation before the token it flagged is written).
struct GenerateStep {
  int step = 0;  // index of the token about to be sampled (0: right after the prompt)
  const float* logits = nullptr;
  int64_t B = 0, V = 0;
  const uint8_t* done = nullptr;  // [B]
  uint8_t* stop = nullptr;        // [B], all 0 on entry
  // [B] the token each row sampled at the previous step (what this pass read;
  // null at step 0): a streaming caller sends a row's token one step late.
  const int32_t* last_tokens = nullptr;
};
using GenerateObserver = std::function<void(GenerateStep&)>;
// generate() calling `observe` once per step (monitors read activations
// through hooks during the same pass and act here; no extra forward pass).
Generation generate(Engine& e, const std::vector<std::vector<int32_t>>& prompts, const SamplingOptions& o,
                    const HookRegistry* hooks, const GenerateObserver& observe);

// n tokens the model writes itself (temperature 1, from BOS or token 0, in
// windows of its context, each window starting with that BOS): text for
// fitting a tuned lens or an SAE without a corpus. Error when the context has
// no room for one sampled token.
std::vector<int32_t> sample_token_stream(Engine& e, int64_t n, uint64_t seed);

}  // namespace glassbox
