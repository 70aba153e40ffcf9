// llama.cpp GGUF, architecture "gpt2": fused attn_qkv stored [3*d_model, d_model]
// (rows Q | K | V), LayerNorm with biases, learned positions.
#include "arch/family.h"
#include "arch/gguf_config.h"
#include "arch/gguf_names.h"

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
  c.tied_embeddings = s.gguf->find(gguf_name(GgufTensor::Output)) == nullptr;
  return c;
}

static void gguf_gpt2_weights(WeightLoader& ld, const Config& c, Weights& w) {
  using T = GgufTensor;
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head;
  w.W_E = ld.get(gguf_name(T::TokenEmbd), {V, d});
  w.W_pos = ld.get(gguf_name(T::PosEmbd), {c.n_ctx, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    lw.ln1_w = ld.get(gguf_name(T::AttnNorm, l), {d});
    lw.ln1_b = ld.get(gguf_name(T::AttnNormBias, l), {d});
    const float* qkv = ld.get(gguf_name(T::AttnQkv, l), {3 * d, d});
    const float* qkv_b = ld.get_opt(gguf_name(T::AttnQkvBias, l), {3 * d});
    lw.W_Q = linear_heads(qkv, qkv_b, 0, dh, c, c.n_heads);
    lw.W_K = linear_heads(qkv, qkv_b, d, dh, c, c.n_heads);
    lw.W_V = linear_heads(qkv, qkv_b, 2 * d, dh, c, c.n_heads);
    lw.W_O = linear(ld.get(gguf_name(T::AttnOut, l), {d, d}), d, d);
    lw.b_O = ld.get_opt(gguf_name(T::AttnOutBias, l), {d});
    lw.ln2_w = ld.get(gguf_name(T::FfnNorm, l), {d});
    lw.ln2_b = ld.get(gguf_name(T::FfnNormBias, l), {d});
    lw.W_in = linear(ld.get(gguf_name(T::FfnUp, l), {m, d}), m, d);
    lw.b_in = ld.get_opt(gguf_name(T::FfnUpBias, l), {m});
    lw.W_out = linear(ld.get(gguf_name(T::FfnDown, l), {d, m}), d, m);
    lw.b_out = ld.get_opt(gguf_name(T::FfnDownBias, l), {d});
  }
  w.ln_final_w = ld.get(gguf_name(T::OutputNorm), {d});
  w.ln_final_b = ld.get(gguf_name(T::OutputNormBias), {d});
  w.W_U = linear(c.tied_embeddings ? w.W_E : ld.get(gguf_name(T::Output), {V, d}), V, d);
}

const Family kGgufGpt2Family{{"gguf:gpt2"}, gguf_gpt2_config, gguf_gpt2_weights, {}};

}  // namespace glassbox::detail
