// llama.cpp GGUF, architecture "gpt2": fused attn_qkv stored [3*d_model, d_model]
// (rows Q | K | V), LayerNorm with biases, learned positions.
#include "arch/family.h"
#include "arch/gguf_config.h"

namespace glassbox::detail {

static Config gguf_gpt2_config(const ConfigSource& s) {
  GgufKeys k(*s.gguf);
  Config c;
  c.family = "gpt2";
  c.d_model = k.u("embedding_length");
  c.n_layers = k.u("block_count");
  c.n_heads = c.n_kv_heads = k.u("attention.head_count");
  c.d_mlp = k.u("feed_forward_length");
  c.n_ctx = k.u("context_length");
  c.d_head = c.n_heads ? c.d_model / c.n_heads : 0;
  c.d_vocab = k.vocab_size();
  c.norm = NormKind::LayerNorm;
  c.norm_eps = float(k.f_opt("attention.layer_norm_epsilon", 1e-5));
  c.positional = PosKind::Learned;
  c.act = ActKind::GeluNew;
  c.tied_embeddings = s.gguf->find("output.weight") == nullptr;
  return c;
}

static void gguf_gpt2_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head;
  w.W_E = ld.get("token_embd.weight", {V, d});
  w.W_pos = ld.get("position_embd.weight", {c.n_ctx, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "blk." + std::to_string(l) + ".";
    lw.ln1_w = ld.get(h + "attn_norm.weight", {d});
    lw.ln1_b = ld.get(h + "attn_norm.bias", {d});
    const float* qkv = ld.get(h + "attn_qkv.weight", {3 * d, d});
    const float* qkv_b = ld.get_opt(h + "attn_qkv.bias", {3 * d});
    lw.W_Q = linear_heads(qkv, qkv_b, 0, dh, c, c.n_heads);
    lw.W_K = linear_heads(qkv, qkv_b, d, dh, c, c.n_heads);
    lw.W_V = linear_heads(qkv, qkv_b, 2 * d, dh, c, c.n_heads);
    lw.W_O = linear(ld.get(h + "attn_output.weight", {d, d}), d, d);
    lw.b_O = ld.get_opt(h + "attn_output.bias", {d});
    lw.ln2_w = ld.get(h + "ffn_norm.weight", {d});
    lw.ln2_b = ld.get(h + "ffn_norm.bias", {d});
    lw.W_in = linear(ld.get(h + "ffn_up.weight", {m, d}), m, d);
    lw.b_in = ld.get_opt(h + "ffn_up.bias", {m});
    lw.W_out = linear(ld.get(h + "ffn_down.weight", {d, m}), d, m);
    lw.b_out = ld.get_opt(h + "ffn_down.bias", {d});
  }
  w.ln_final_w = ld.get("output_norm.weight", {d});
  w.ln_final_b = ld.get("output_norm.bias", {d});
  w.W_U = linear(c.tied_embeddings ? w.W_E : ld.get("output.weight", {V, d}), V, d);
}

const Family kGgufGpt2Family{{"gguf:gpt2"}, gguf_gpt2_config, gguf_gpt2_weights, {}};

}  // namespace glassbox::detail
