// GPT-NeoX / Pythia: parallel residual (optional), partial rotary (rotary_pct),
// fused query_key_value stored per head as [n_heads, 3, d_head] rows, untied unembedding.
#include "arch/family.h"

namespace glassbox::detail {

static Config neox_config(const ConfigSource& s) {
  Config c;
  c.family = "gpt_neox";
  c.d_model = hf_req<int>(s, "hidden_size");
  c.n_layers = hf_req<int>(s, "num_hidden_layers");
  c.n_heads = c.n_kv_heads = hf_req<int>(s, "num_attention_heads");
  c.d_vocab = hf_req<int>(s, "vocab_size");
  c.d_mlp = hf_req<int>(s, "intermediate_size");
  c.n_ctx = hf_opt<int>(s, "max_position_embeddings", 2048);
  c.d_head = c.n_heads ? c.d_model / c.n_heads : 0;
  c.norm = NormKind::LayerNorm;
  c.norm_eps = hf_opt<float>(s, "layer_norm_eps", 1e-5f);
  c.positional = PosKind::Rotary;
  c.rotary_dim = int(c.d_head * hf_opt<double>(s, "rotary_pct", 1.0));
  c.rope_theta = hf_opt<float>(s, "rotary_emb_base", hf_opt<float>(s, "rope_theta", 10000.f));
  c.act = parse_act(s, hf_opt<std::string>(s, "hidden_act", "gelu"));
  c.parallel_residual = hf_opt<bool>(s, "use_parallel_residual", true);
  c.tied_embeddings = hf_opt<bool>(s, "tie_word_embeddings", false);
  return c;
}

static void neox_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head;
  w.W_E = ld.get("gpt_neox.embed_in.weight", {V, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "gpt_neox.layers." + std::to_string(l) + ".";
    lw.ln1_w = ld.get(h + "input_layernorm.weight", {d});
    lw.ln1_b = ld.get(h + "input_layernorm.bias", {d});
    lw.ln2_w = ld.get(h + "post_attention_layernorm.weight", {d});
    lw.ln2_b = ld.get(h + "post_attention_layernorm.bias", {d});
    const float* qkv = ld.get(h + "attention.query_key_value.weight", {3 * d, d});
    const float* qkv_b = ld.get_opt(h + "attention.query_key_value.bias", {3 * d});
    // Row (head, which, j) = head*3*dh + which*dh + j.
    lw.W_Q = linear_heads(qkv, qkv_b, 0, 3 * dh, c, c.n_heads);
    lw.W_K = linear_heads(qkv, qkv_b, dh, 3 * dh, c, c.n_heads);
    lw.W_V = linear_heads(qkv, qkv_b, 2 * dh, 3 * dh, c, c.n_heads);
    lw.W_O = linear(ld.get(h + "attention.dense.weight", {d, d}), d, d);
    lw.b_O = ld.get_opt(h + "attention.dense.bias", {d});
    lw.W_in = linear(ld.get(h + "mlp.dense_h_to_4h.weight", {m, d}), m, d);
    lw.b_in = ld.get_opt(h + "mlp.dense_h_to_4h.bias", {m});
    lw.W_out = linear(ld.get(h + "mlp.dense_4h_to_h.weight", {d, m}), d, m);
    lw.b_out = ld.get_opt(h + "mlp.dense_4h_to_h.bias", {d});
  }
  w.ln_final_w = ld.get("gpt_neox.final_layer_norm.weight", {d});
  w.ln_final_b = ld.get("gpt_neox.final_layer_norm.bias", {d});
  const float* U = c.tied_embeddings && !ld.has("embed_out.weight") ? w.W_E : ld.get("embed_out.weight", {V, d});
  w.W_U = linear(U, V, d);
}

const Family kNeoxFamily{{"gpt_neox"},
                         neox_config,
                         neox_weights,
                         {".attention.bias", ".attention.masked_bias", ".rotary_emb.inv_freq"}};

}  // namespace glassbox::detail
