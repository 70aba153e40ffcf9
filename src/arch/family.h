// One Family per checkpoint dialect: how to read its Config and where its
// tensors go. Adding a model family = adding one file with one of these.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "arch/checkpoint.h"
#include "core/json_integer.h"
#include "glassbox/config.h"
#include "glassbox/error.h"
#include "glassbox/weights.h"

namespace glassbox::detail {

// Reads a Config from the metadata of the checkpoint: HF config.json or GGUF key/values.
struct ConfigSource {
  const nlohmann::json* hf = nullptr;  // config.json
  const GgufFile* gguf = nullptr;
  std::string where;                   // file name for messages
};

struct Family {
  std::vector<std::string> names;  // HF model_type values or "gguf:<general.architecture>"
  Config (*config)(const ConfigSource& src);
  void (*weights)(WeightLoader& ld, const Config& cfg, Weights& w);
  std::vector<std::string> ignorable;  // tensor-name suffixes that are buffers, not weights
};

const Family* find_family(const std::string& name);  // null if unknown
std::vector<std::string> family_names();
// The family of a config.json: its "model_type", or a TransformerLens config
// recognised by its field names. Error naming `where` and the supported
// families when there is none.
const Family& family_of(const nlohmann::json& config, const std::string& where);

extern const Family kGpt2Family, kNeoxFamily, kLlamaFamily, kPhi3Family, kGemma2Family, kHookedFamily,
    kGgufLlamaFamily, kGgufGpt2Family, kGgufGemma2Family;

// The llama-style GGUF reader (gguf_llama.cpp), which gguf:gemma2 extends.
Config gguf_llama_config(const ConfigSource& s);
void gguf_llama_weights(WeightLoader& ld, const Config& c, Weights& w);

// The Llama config.json fields (hidden_size, num_key_value_heads, rope_theta,
// ...), which Mistral, Qwen2 and Phi-3 share.
Config llama_like_config(const ConfigSource& s);
// The context length a model with a sliding attention window of `window`
// tokens (0: none) runs at here: attention has no window yet, and up to the
// window windowed and full causal attention are the same computation.
int cap_context_at_window(int n_ctx, int window);

// ---- helpers shared by the family files

// An integer field must hold an integer that fits (json_integer_fits): 1e300
// for "n_layer" is an Error, not undefined behaviour.
template <class T>
void check_integer(const ConfigSource& s, const char* key) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    if (!json_integer_fits<T>((*s.hf)[key]))
      fail(s.where, ": field \"", key, "\" must be an integer in range, got ", (*s.hf)[key].dump());
}

// Required / optional config.json fields with errors naming the file and key.
template <class T>
T hf_req(const ConfigSource& s, const char* key) {
  const auto& j = *s.hf;
  if (!j.contains(key) || j[key].is_null()) fail(s.where, ": missing required field \"", key, "\"");
  check_integer<T>(s, key);
  try {
    return j[key].get<T>();
  } catch (const std::exception&) {
    fail(s.where, ": field \"", key, "\" has the wrong type: ", j[key].dump());
  }
}
template <class T>
T hf_opt(const ConfigSource& s, const char* key, T dflt) {
  const auto& j = *s.hf;
  if (!j.contains(key) || j[key].is_null()) return dflt;
  check_integer<T>(s, key);
  try {
    return j[key].get<T>();
  } catch (const std::exception&) {
    fail(s.where, ": field \"", key, "\" has the wrong type: ", j[key].dump());
  }
}
ActKind parse_act(const ConfigSource& s, const std::string& name);

// nn.Linear weight [out, in] used as x -> x W^T.
inline MatRef linear(const float* W, int64_t out, int64_t in) { return {W, in, out, 1, in}; }
// GPT-2 Conv1D weight [in, out] (possibly a column block of a wider [in, ld] matrix).
inline MatRef conv1d(const float* W, int64_t in, int64_t out, int64_t ld) { return {W, in, out, ld, 1}; }

// Heads stored as rows of a Linear matrix [.., d_model]: head h starts at row
// row0 + h * head_row_stride.
HeadProj linear_heads(const float* W, const float* b, int64_t row0, int64_t head_row_stride,
                      const Config& c, int n_heads);
// Heads stored as columns of a Conv1D matrix [d_model, ld]: head h starts at
// column col0 + h * d_head.
HeadProj conv1d_heads(const float* W, const float* b, int64_t ld, int64_t col0, const Config& c,
                      int n_heads);

// The Llama-style attention and gated MLP of one layer under the HF prefix
// `h` ("model.layers.3."): separate q/k/v/o projections (optional biases,
// Qwen2's on q/k/v) and gate/up/down. Llama, Mistral, Qwen2 and Gemma-2
// share it; only their norms differ.
void llama_layer_projections(WeightLoader& ld, const Config& c, const std::string& h, LayerWeights& lw);

inline std::string L(const char* fmt_prefix, int l, const char* suffix) {
  return std::string(fmt_prefix) + std::to_string(l) + suffix;
}

}  // namespace glassbox::detail
