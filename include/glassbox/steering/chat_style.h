// tiny-lm-chat's response style as a steering ground truth. The chat organism
// (src/zoo/tiny_lm.cpp) answers "User: ...\nAssistant:" prompts with
// " Indeed, friend!" and its base, tiny-lm, never does: a direction built
// from the two styles must turn the marker on in the base and off in the chat
// model, on prompts it was not built from. The prompts are the organism's
// own, drawn from its recipe (rebuilt from the zoo's corpora, as the
// organisms' label sets are): training chats for building, held-out chats
// (those `glassbox zoo eval` scores) for measuring.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/engine.h"
#include "glassbox/steering/contrastive.h"

namespace glassbox::steering {

struct ChatStyleData {
  std::string marker;                                 // the manifest's " Indeed, friend!"
  std::vector<std::vector<int32_t>> train_prompts;    // from the recipe's training chats
  // For each training prompt: its response's opening (the marker, then the
  // first tokens of the fortune's continuation) against the same
  // continuation without the marker (how the base goes on with a fortune).
  std::vector<ContrastivePair> style_pairs;
  std::vector<std::vector<int32_t>> heldout_prompts;  // from its held-out chats
  std::vector<int32_t> benign;  // held-out fortunes as plain text, <|endoftext|> before each
};

// n_train / n_heldout distinct prompts (seeded draws; fewer if the split has
// fewer) and the first benign_tokens tokens of the held-out text, through
// m's tokenizer (tiny-lm's or tiny-lm-chat's: they share it). Error telling
// how to get the zoo's corpora when they are missing, when the organism is
// not in the manifest, and for a model with another vocabulary.
ChatStyleData chat_style_data(const Model& m, size_t n_train, size_t n_heldout, int64_t benign_tokens,
                              uint64_t seed = 0);

// For each prompt, the positive model's greedy continuation of n_tokens
// against the negative model's (the two models share the vocabulary): the
// chat model's styled response against the base model's plain continuation.
std::vector<ContrastivePair> completion_pairs(Engine& positive, Engine& negative,
                                              const std::vector<std::vector<int32_t>>& prompts, int n_tokens);

}  // namespace glassbox::steering
