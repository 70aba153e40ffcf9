// An architecture is data: one Config with feature fields. Kernels read these
// fields; no code path switches on a family name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "glassbox/enum_string.h"

namespace glassbox {

enum class NormKind : uint8_t { LayerNorm, RMSNorm, None };
enum class PosKind : uint8_t { Learned, Rotary, None };
enum class ActKind : uint8_t { GeluNew, GeluExact, Silu, Relu };

struct Config {
  std::string family;       // "gpt2", "gpt_neox", "llama", "qwen2", "gemma2", "hooked_transformer" (informational)
  int n_layers = 0;
  int d_model = 0;
  int n_heads = 0;
  int n_kv_heads = 0;       // == n_heads unless grouped-query attention
  int d_head = 0;
  int d_mlp = 0;            // 0 for attention-only models
  int d_vocab = 0;
  int n_ctx = 0;            // maximum positions

  NormKind norm = NormKind::LayerNorm;
  float norm_eps = 1e-5f;
  PosKind positional = PosKind::Learned;
  int rotary_dim = 0;       // dims of each head that are rotated (partial rotary: < d_head)
  float rope_theta = 10000.f;
  // Per rotated pair i: its frequency theta^(-2i/rotary_dim) is divided by
  // this (llama.cpp's rope_freqs; Llama-3.1's "llama3" rope scaling). Empty: none.
  std::vector<float> rope_freq_factors;
  ActKind act = ActKind::GeluNew;
  bool gated_mlp = false;   // SwiGLU-style: act(x W_gate) * (x W_in)
  bool parallel_residual = false;  // NeoX/GPT-J: resid_post = resid_pre + attn(ln1 x) + mlp(ln2 x)
  bool attn_only = false;
  bool tied_embeddings = false;
  float attn_scale = 0.f;   // scores multiplier; 0 means 1/sqrt(d_head)
  // Gemma-2's features. Each is off by default, and off a model runs exactly
  // the code it ran before they existed.
  bool post_norms = false;     // a norm on attention's and the MLP's outputs too (ln1_post, ln2_post)
  float embed_scale = 1.f;     // token embeddings times this (Gemma: sqrt(d_model)); hook_embed is after it
  float attn_softcap = 0.f;    // scores -> c * tanh(scores / c), before the mask; 0: none
  float final_softcap = 0.f;   // logits -> c * tanh(logits / c); 0: none
  // Sliding-window attention: a windowed layer's query at position i sees
  // keys j with i - sliding_window < j <= i. Which layers: llama.cpp's swa
  // pattern p, layer l windowed iff l % p < p - 1 (Gemma-2: p = 2, the even
  // layers), every layer when p = 0. sliding_window = 0: no window anywhere.
  int sliding_window = 0;
  int sliding_window_pattern = 0;

  float scores_scale() const;
  int window(int layer) const;  // the sliding window of layer l, 0 for full attention
  void validate() const;    // throws Error naming the first inconsistent field
};

const char* to_string(NormKind k);  // "LayerNorm", "RMSNorm", "none"
const char* to_string(PosKind k);   // "learned", "rotary", "none"
const char* to_string(ActKind k);   // Hugging Face's names: "gelu_new" (tanh), "gelu" (erf), "silu", "relu"
template <> NormKind from_string<NormKind>(std::string_view s);
template <> PosKind from_string<PosKind>(std::string_view s);
template <> ActKind from_string<ActKind>(std::string_view s);

// The architecture as JSON (`glassbox info --json`'s "config"): family, sizes,
// and the feature fields by name.
nlohmann::json to_json(const Config& c);

}  // namespace glassbox
