// A small random GPT-2 checkpoint in Hugging Face layout (config.json,
// model.safetensors, tokenizer.json): what `glassbox tour` runs on until
// trained model organisms ship, and what the CLI tests use for text input.
#pragma once
#include <cstdint>
#include <string>

namespace glassbox::cli {

struct TinyModelOptions {
  int n_layer = 4;
  int n_embd = 128;
  int n_head = 4;
  int n_positions = 256;
  float init_std = 0.02f;  // GPT-2's initializer_range
  uint64_t seed = 0;
};

// Vocabulary of the tiny model: the 256 byte-level pieces (id = byte value)
// plus <|endoftext|> as id 256.
constexpr int kTinyVocab = 257;
constexpr int kTinyEndOfText = 256;

// Creates `dir` if needed and writes config.json, model.safetensors and a
// byte-level BPE tokenizer.json (no merges). Weights are GPT-2's
// initialisation as Trainable::init does it (N(0, init_std), residual-writing
// matrices scaled by 1/sqrt(2 n_layer), LayerNorm gains 1, biases 0),
// deterministic in the seed.
// config.json is written last, so its presence marks a complete checkpoint.
void make_tiny_gpt2(const std::string& dir, const TinyModelOptions& o = {});

// True if `dir` holds a checkpoint make_tiny_gpt2 finished writing.
bool tiny_gpt2_exists(const std::string& dir);

}  // namespace glassbox::cli
