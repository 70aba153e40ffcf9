// Phi-3 (Hugging Face "phi3"): the Llama block with Q|K|V fused into one
// qkv_proj [(H + 2 Hkv) d_head, d] and gate|up fused into gate_up_proj
// [2 d_mlp, d], gate first (Phi3MLP splits its output with chunk(2)). The
// fused matrices are read in place as row blocks: no copy, no re-layout.
#include <algorithm>

#include "arch/family.h"

namespace glassbox::detail {

int cap_context_at_window(int n_ctx, int window) { return window > 0 ? std::min(n_ctx, window) : n_ctx; }

static Config phi3_config(const ConfigSource& s) {
  Config c = llama_like_config(s);
  c.family = "phi3";
  const float partial = hf_opt<float>(s, "partial_rotary_factor", 1.f);
  c.rotary_dim = int(float(c.d_head) * partial) / 2 * 2;
  c.n_ctx = cap_context_at_window(c.n_ctx, hf_opt<int>(s, "sliding_window", 0));  // 2047 for the 4k models
  return c;
}

static void phi3_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head;
  const int64_t q_out = int64_t(c.n_heads) * dh, kv_out = int64_t(c.n_kv_heads) * dh;
  w.W_E = ld.get("model.embed_tokens.weight", {V, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "model.layers." + std::to_string(l) + ".";
    lw.ln1_w = ld.get(h + "input_layernorm.weight", {d});
    lw.ln2_w = ld.get(h + "post_attention_layernorm.weight", {d});
    const float* qkv = ld.get(h + "self_attn.qkv_proj.weight", {q_out + 2 * kv_out, d});
    lw.W_Q = linear_heads(qkv, nullptr, 0, dh, c, c.n_heads);
    lw.W_K = linear_heads(qkv, nullptr, q_out, dh, c, c.n_kv_heads);
    lw.W_V = linear_heads(qkv, nullptr, q_out + kv_out, dh, c, c.n_kv_heads);
    lw.W_O = linear(ld.get(h + "self_attn.o_proj.weight", {d, q_out}), d, q_out);
    const float* gate_up = ld.get(h + "mlp.gate_up_proj.weight", {2 * m, d});
    lw.W_gate = linear(gate_up, m, d);
    lw.W_in = linear(gate_up + m * d, m, d);
    lw.W_out = linear(ld.get(h + "mlp.down_proj.weight", {d, m}), d, m);
  }
  w.ln_final_w = ld.get("model.norm.weight", {d});
  const float* U = c.tied_embeddings && !ld.has("lm_head.weight") ? w.W_E : ld.get("lm_head.weight", {V, d});
  w.W_U = linear(U, V, d);
}

const Family kPhi3Family{{"phi3"}, phi3_config, phi3_weights, {".rotary_emb.inv_freq"}};

}  // namespace glassbox::detail
