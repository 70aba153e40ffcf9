// A loaded model written as a llama.cpp GGUF file (architecture "gpt2" or
// "llama"), weights F32 or F16, with its tokenizer: what `glassbox convert`
// does. Model::load of the result gives the same logits as the original
// (exactly for F32), and llama.cpp loads it, so both tools can be run on the
// very same file.
#pragma once
#include <string>

#include "glassbox/config.h"
#include "glassbox/dtype.h"

namespace glassbox {

class Model;
class Tokenizer;

struct GgufExportOptions {
  DType dtype = DType::F32;             // F32 or F16 for the matrices; norms and biases stay F32
  std::string name;                     // general.name; empty: the source's file name
  const Tokenizer* tokenizer = nullptr; // overrides the model's own (null: the model's, if any)
};

// The llama.cpp architecture that runs the config's computation: "gpt2"
// (LayerNorm, learned positions, gelu_new, plain MLP) or "llama" (RMSNorm,
// full-width RoPE, SwiGLU). Error naming the config field that neither has.
std::string gguf_architecture(const Config& c);

// Writes `m` to `path` atomically. Error when the architecture has no GGUF
// form (see gguf_architecture) or a weight that form cannot hold is present.
void save_gguf(const Model& m, const std::string& path, const GgufExportOptions& opt = {});

}  // namespace glassbox
