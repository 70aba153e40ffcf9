// A random-weight Llama-style model written straight to a quantised GGUF
// file, block by block: the large-model path (an 8B-shaped Q4_K_M file of
// ~4.9 GB) without ever holding full-precision weights, so it can be built
// and run on a machine that could not hold the F32 model. What it writes:
//   * llama.cpp's Q4_K_M mixture (llama-quant.cpp, llama_tensor_get_type):
//     Q4_K for most matrices and token_embd, Q6_K for output.weight and for
//     attn_v / ffn_down in the layers use_more_bits() picks (half of them);
//     norms F32 (ones);
//   * random blocks whose f16 scales make each matrix's values have standard
//     deviation ~1/sqrt(fan-in) (embedding ~1), so activations stay O(1)-O(10)
//     through every layer and a forward cannot overflow;
//   * a synthetic GPT-2-style byte-level BPE vocabulary of exactly d_vocab
//     tokens: the 256 byte symbols, merges of byte pairs then of pair+byte,
//     and (as Llama-3) the last tokens special: <|begin_of_text|>,
//     <|end_of_text|>, <|reserved_special_token_N|>. It tokenises any text,
//     but its pieces are not a trained vocabulary.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "glassbox/dtype.h"

namespace glassbox {

struct RandomLlamaSpec {
  int n_layers = 32, d_model = 4096, n_heads = 32, n_kv_heads = 8, d_mlp = 14336;
  int d_vocab = 128256, n_ctx = 8192;
  float rope_theta = 500000.f, norm_eps = 1e-5f;
  uint64_t seed = 0;
};

// "llama3-8b" (the defaults above), optionally followed by ",key=value"
// overrides: layers, d_model, heads, kv_heads, d_mlp, vocab, ctx, rope_theta,
// eps, seed (e.g. "llama3-8b,layers=2,d_model=256,heads=4,kv_heads=2,d_mlp=512,vocab=1024").
// Error naming the key or value that does not fit.
RandomLlamaSpec parse_random_llama_spec(std::string_view spec);

// The type llama.cpp's Q4_K_M mixture gives tensor `name` (GGUF name,
// "blk.L.attn_v.weight", ...) in a model of n_layers layers: Q4_K, Q6_K or F32.
DType q4_k_m_type(const std::string& name, int n_layers);

// The bytes of blocks [block0, block0 + nblocks) of a random Q4_K or Q6_K
// tensor whose values have standard deviation ~sigma. Block b depends only on
// (seed, b), so any chunking of a tensor gives the same bytes.
void random_quant_blocks(DType t, float sigma, uint64_t seed, uint64_t block0, int64_t nblocks, uint8_t* dst);

// Writes the model to `path` atomically, streaming a few MiB at a time.
// `progress(bytes_done, bytes_total)` is called as the data is written.
// Returns the file's size in bytes.
uint64_t write_random_llama_gguf(const RandomLlamaSpec& spec, const std::string& path,
                                 const std::function<void(uint64_t, uint64_t)>& progress = {});

}  // namespace glassbox
