// GPT-2 (Hugging Face GPT2LMHeadModel): learned positions, LayerNorm, GELU-tanh,
// Conv1D weights stored [in, out], fused c_attn = [Q | K | V] columns, tied unembedding.
#include "arch/family.h"

namespace glassbox::detail {

static Config gpt2_config(const ConfigSource& s) {
  Config c;
  c.family = "gpt2";
  c.d_model = hf_req<int>(s, "n_embd");
  c.n_layers = hf_req<int>(s, "n_layer");
  c.n_heads = c.n_kv_heads = hf_req<int>(s, "n_head");
  c.d_vocab = hf_req<int>(s, "vocab_size");
  c.n_ctx = hf_opt<int>(s, "n_positions", hf_opt<int>(s, "n_ctx", 1024));
  c.d_head = c.n_heads ? c.d_model / c.n_heads : 0;
  c.d_mlp = hf_opt<int>(s, "n_inner", 4 * c.d_model);
  c.norm = NormKind::LayerNorm;
  c.norm_eps = hf_opt<float>(s, "layer_norm_epsilon", 1e-5f);
  c.positional = PosKind::Learned;
  c.act = parse_act(s, hf_opt<std::string>(s, "activation_function", "gelu_new"));
  // HF GPT2LMHeadModel ties lm_head to wte unless the config says otherwise
  // (an orthogonalised copy carries its own lm_head.weight).
  c.tied_embeddings = hf_opt<bool>(s, "tie_word_embeddings", true);
  return c;
}

static void gpt2_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab;
  // Some exports prefix names with "transformer.", some do not.
  const std::string p = ld.has("transformer.wte.weight") ? "transformer." : "";
  w.W_E = ld.get(p + "wte.weight", {V, d});
  w.W_pos = ld.get(p + "wpe.weight", {c.n_ctx, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = p + "h." + std::to_string(l) + ".";
    lw.ln1_w = ld.get(h + "ln_1.weight", {d});
    lw.ln1_b = ld.get(h + "ln_1.bias", {d});
    const float* qkv = ld.get(h + "attn.c_attn.weight", {d, 3 * d});
    const float* qkv_b = ld.get(h + "attn.c_attn.bias", {3 * d});
    lw.W_Q = conv1d_heads(qkv, qkv_b, 3 * d, 0, c, c.n_heads);
    lw.W_K = conv1d_heads(qkv, qkv_b, 3 * d, d, c, c.n_heads);
    lw.W_V = conv1d_heads(qkv, qkv_b, 3 * d, 2 * d, c, c.n_heads);
    lw.W_O = conv1d(ld.get(h + "attn.c_proj.weight", {d, d}), d, d, d);
    lw.b_O = ld.get(h + "attn.c_proj.bias", {d});
    lw.ln2_w = ld.get(h + "ln_2.weight", {d});
    lw.ln2_b = ld.get(h + "ln_2.bias", {d});
    lw.W_in = conv1d(ld.get(h + "mlp.c_fc.weight", {d, m}), d, m, m);
    lw.b_in = ld.get(h + "mlp.c_fc.bias", {m});
    lw.W_out = conv1d(ld.get(h + "mlp.c_proj.weight", {m, d}), m, d, d);
    lw.b_out = ld.get(h + "mlp.c_proj.bias", {d});
  }
  w.ln_final_w = ld.get(p + "ln_f.weight", {d});
  w.ln_final_b = ld.get(p + "ln_f.bias", {d});
  const float* U = ld.has("lm_head.weight") ? ld.get("lm_head.weight", {V, d}) : w.W_E;
  w.W_U = linear(U, V, d);
}

const Family kGpt2Family{{"gpt2"}, gpt2_config, gpt2_weights, {".attn.bias", ".attn.masked_bias"}};

}  // namespace glassbox::detail
