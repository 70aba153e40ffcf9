// Llama-family (Llama-2/3, Mistral, Qwen2): RMSNorm, SwiGLU, full rotary with
// rope_theta, grouped-query attention, optional QKV bias (Qwen2), tied or untied.
#include <cmath>

#include "arch/family.h"

namespace glassbox::detail {

// Llama-3.1's "llama3" rope scaling as per-pair frequency divisors, the form
// llama.cpp stores in rope_freqs: pairs whose wavelength is shorter than
// original_max_position_embeddings / high_freq_factor keep their frequency,
// longer than / low_freq_factor are divided by `factor`, and those between
// are interpolated. Any other scaling type is refused, not ignored.
static std::vector<float> rope_scaling_factors(const ConfigSource& s, const Config& c) {
  if (!s.hf->contains("rope_scaling") || (*s.hf)["rope_scaling"].is_null()) return {};
  const nlohmann::json& r = (*s.hf)["rope_scaling"];
  const std::string type = r.value("rope_type", r.value("type", std::string("default")));
  if (type == "default") return {};
  if (type != "llama3")
    fail(s.where, ": rope_scaling type \"", type, "\" (", r.dump(),
         ") is not supported; plain RoPE with rope_theta and \"llama3\" are");
  double factor = 0, low = 0, high = 0, original = 0;
  try {
    factor = r.at("factor").get<double>();
    low = r.at("low_freq_factor").get<double>();
    high = r.at("high_freq_factor").get<double>();
    original = r.at("original_max_position_embeddings").get<double>();
  } catch (const std::exception&) {
    fail(s.where, ": rope_scaling \"llama3\" needs numbers factor, low_freq_factor, high_freq_factor and "
         "original_max_position_embeddings, got ", r.dump());
  }
  if (!(factor > 0) || !(high > low) || !(original > 0))
    fail(s.where, ": rope_scaling ", r.dump(), " needs factor > 0, high_freq_factor > low_freq_factor and a "
         "positive original_max_position_embeddings");
  const double pi = 3.14159265358979323846;
  std::vector<float> out(size_t(c.rotary_dim / 2));
  for (size_t i = 0; i < out.size(); ++i) {
    const double freq = std::pow(double(c.rope_theta), -2.0 * double(i) / c.rotary_dim);
    const double wavelen = 2 * pi / freq;
    if (wavelen < original / high) out[i] = 1.f;
    else if (wavelen > original / low) out[i] = float(factor);
    else {
      const double smooth = (original / wavelen - low) / (high - low);
      out[i] = float(1.0 / ((1 - smooth) / factor + smooth));
    }
  }
  return out;
}

Config llama_like_config(const ConfigSource& s) {
  Config c;
  c.family = hf_opt<std::string>(s, "model_type", "llama");
  c.d_model = hf_req<int>(s, "hidden_size");
  c.n_layers = hf_req<int>(s, "num_hidden_layers");
  c.n_heads = hf_req<int>(s, "num_attention_heads");
  c.n_kv_heads = hf_opt<int>(s, "num_key_value_heads", c.n_heads);
  c.d_vocab = hf_req<int>(s, "vocab_size");
  c.d_mlp = hf_req<int>(s, "intermediate_size");
  c.n_ctx = hf_opt<int>(s, "max_position_embeddings", 4096);
  c.d_head = hf_opt<int>(s, "head_dim", c.n_heads ? c.d_model / c.n_heads : 0);
  c.norm = NormKind::RMSNorm;
  c.norm_eps = hf_opt<float>(s, "rms_norm_eps", 1e-6f);
  c.positional = PosKind::Rotary;
  c.rotary_dim = c.d_head;
  c.rope_theta = hf_opt<float>(s, "rope_theta", 10000.f);
  c.rope_freq_factors = rope_scaling_factors(s, c);
  c.act = parse_act(s, hf_opt<std::string>(s, "hidden_act", "silu"));
  c.gated_mlp = true;
  c.tied_embeddings = hf_opt<bool>(s, "tie_word_embeddings", false);
  return c;
}

void llama_layer_projections(WeightLoader& ld, const Config& c, const std::string& h, LayerWeights& lw) {
  const int64_t d = c.d_model, m = c.d_mlp, dh = c.d_head;
  const int64_t q_out = int64_t(c.n_heads) * dh, kv_out = int64_t(c.n_kv_heads) * dh;
  lw.W_Q = linear_heads(ld.get(h + "self_attn.q_proj.weight", {q_out, d}),
                        ld.get_opt(h + "self_attn.q_proj.bias", {q_out}), 0, dh, c, c.n_heads);
  lw.W_K = linear_heads(ld.get(h + "self_attn.k_proj.weight", {kv_out, d}),
                        ld.get_opt(h + "self_attn.k_proj.bias", {kv_out}), 0, dh, c, c.n_kv_heads);
  lw.W_V = linear_heads(ld.get(h + "self_attn.v_proj.weight", {kv_out, d}),
                        ld.get_opt(h + "self_attn.v_proj.bias", {kv_out}), 0, dh, c, c.n_kv_heads);
  lw.W_O = linear(ld.get(h + "self_attn.o_proj.weight", {d, q_out}), d, q_out);
  lw.b_O = ld.get_opt(h + "self_attn.o_proj.bias", {d});
  lw.W_gate = linear(ld.get(h + "mlp.gate_proj.weight", {m, d}), m, d);
  lw.W_in = linear(ld.get(h + "mlp.up_proj.weight", {m, d}), m, d);
  lw.W_out = linear(ld.get(h + "mlp.down_proj.weight", {d, m}), d, m);
}

static void llama_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, V = c.d_vocab;
  w.W_E = ld.get("model.embed_tokens.weight", {V, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "model.layers." + std::to_string(l) + ".";
    lw.ln1_w = ld.get(h + "input_layernorm.weight", {d});
    lw.ln2_w = ld.get(h + "post_attention_layernorm.weight", {d});
    llama_layer_projections(ld, c, h, lw);
  }
  w.ln_final_w = ld.get("model.norm.weight", {d});
  const float* U = c.tied_embeddings && !ld.has("lm_head.weight") ? w.W_E : ld.get("lm_head.weight", {V, d});
  w.W_U = linear(U, V, d);
}

const Family kLlamaFamily{{"llama", "mistral", "qwen2"},
                          llama_like_config,
                          llama_weights,
                          {".rotary_emb.inv_freq"}};

}  // namespace glassbox::detail
