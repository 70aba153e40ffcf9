// llama.cpp's GGUF tensor names, as data: one table that the GGUF loaders
// (gguf_gpt2.cpp, gguf_llama.cpp) read by and the exporter (gguf_export.cpp)
// writes by, so the two directions cannot drift apart.
#pragma once
#include <cstdint>
#include <string>

#include "glassbox/error.h"

namespace glassbox::detail {

enum class GgufTensor : uint8_t {
  TokenEmbd, PosEmbd, OutputNorm, OutputNormBias, Output, RopeFreqs,
  AttnNorm, AttnNormBias, AttnQkv, AttnQkvBias, AttnQ, AttnQBias, AttnK, AttnKBias, AttnV, AttnVBias,
  AttnOut, AttnOutBias, FfnNorm, FfnNormBias, FfnGate, FfnUp, FfnUpBias, FfnDown, FfnDownBias,
  AttnPostNorm, FfnPostNorm,
};

struct GgufTensorName {
  GgufTensor id;
  const char* name;  // per-layer tensors get the prefix "blk.<layer>."
  bool per_layer;
};

inline constexpr GgufTensorName kGgufTensorNames[] = {
    {GgufTensor::TokenEmbd, "token_embd.weight", false},
    {GgufTensor::PosEmbd, "position_embd.weight", false},
    {GgufTensor::OutputNorm, "output_norm.weight", false},
    {GgufTensor::OutputNormBias, "output_norm.bias", false},
    {GgufTensor::Output, "output.weight", false},
    {GgufTensor::RopeFreqs, "rope_freqs.weight", false},  // per-pair frequency divisors (Llama-3.1)
    {GgufTensor::AttnNorm, "attn_norm.weight", true},
    {GgufTensor::AttnNormBias, "attn_norm.bias", true},
    {GgufTensor::AttnQkv, "attn_qkv.weight", true},
    {GgufTensor::AttnQkvBias, "attn_qkv.bias", true},
    {GgufTensor::AttnQ, "attn_q.weight", true},
    {GgufTensor::AttnQBias, "attn_q.bias", true},
    {GgufTensor::AttnK, "attn_k.weight", true},
    {GgufTensor::AttnKBias, "attn_k.bias", true},
    {GgufTensor::AttnV, "attn_v.weight", true},
    {GgufTensor::AttnVBias, "attn_v.bias", true},
    {GgufTensor::AttnOut, "attn_output.weight", true},
    {GgufTensor::AttnOutBias, "attn_output.bias", true},
    {GgufTensor::FfnNorm, "ffn_norm.weight", true},
    {GgufTensor::FfnNormBias, "ffn_norm.bias", true},
    {GgufTensor::FfnGate, "ffn_gate.weight", true},
    {GgufTensor::FfnUp, "ffn_up.weight", true},
    {GgufTensor::FfnUpBias, "ffn_up.bias", true},
    {GgufTensor::FfnDown, "ffn_down.weight", true},
    {GgufTensor::FfnDownBias, "ffn_down.bias", true},
    {GgufTensor::AttnPostNorm, "post_attention_norm.weight", true},  // gemma2: norms on the branch outputs
    {GgufTensor::FfnPostNorm, "post_ffw_norm.weight", true},
};

// The file's name for tensor `t` (of layer `layer` for per-layer tensors).
inline std::string gguf_name(GgufTensor t, int layer = -1) {
  for (const GgufTensorName& n : kGgufTensorNames) {
    if (n.id != t) continue;
    if (n.per_layer != (layer >= 0))
      fail("gguf_name: tensor '", n.name, "' ", n.per_layer ? "needs" : "takes no", " a layer index");
    return n.per_layer ? "blk." + std::to_string(layer) + "." + n.name : std::string(n.name);
  }
  fail("gguf_name: tensor id ", int(t), " has no name in kGgufTensorNames");
}

}  // namespace glassbox::detail
