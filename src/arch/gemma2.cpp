// Gemma-2 (Hugging Face "gemma2"; llama.cpp GGUF "gemma2"): the Llama block
// with GeGLU (gelu_pytorch_tanh), token embeddings times sqrt(d_model), a
// second RMSNorm on attention's and on the MLP's output (post-norms),
// attention scores soft-capped at attn_logit_softcapping (50) and logits at
// final_logit_softcapping (30), queries scaled by query_pre_attn_scalar^-1/2
// rather than d_head^-1/2, sliding-window attention (4096) on the even layers,
// and a head size independent of d_model / n_heads. Gemma's RMSNorm
// multiplies by (1 + w): Hugging Face stores w, convert_hf_to_gguf.py stores
// 1 + w; the HF loader adds the 1 into a converted copy of each norm weight
// (d_model floats), as TransformerLens folds it, so every reader of the
// weights (engine, lenses, DLA) sees the gain that is applied.
#include <cmath>

#include "arch/family.h"
#include "arch/gguf_config.h"

namespace glassbox::detail {

namespace {

// The layer pattern as data: llama.cpp's swa pattern 2, layer l windowed iff l is even.
constexpr int kGemma2WindowPattern = 2;

// A soft-cap field: absent -> Gemma2Config's default; null -> none (HF disables the cap).
float softcap_field(const ConfigSource& s, const char* key, float dflt) {
  if (!s.hf->contains(key)) return dflt;
  if ((*s.hf)[key].is_null()) return 0.f;
  return hf_req<float>(s, key);
}

// HF's layer_types (newer configs) must say what the pattern says: "sliding_attention" on even layers.
void check_layer_types(const ConfigSource& s, const Config& c) {
  if (!s.hf->contains("layer_types") || (*s.hf)["layer_types"].is_null()) return;
  const nlohmann::json& t = (*s.hf)["layer_types"];
  if (!t.is_array() || int(t.size()) != c.n_layers)
    fail(s.where, ": \"layer_types\" must be an array of ", c.n_layers, " strings, got ", t.dump());
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string want = c.window(l) > 0 ? "sliding_attention" : "full_attention";
    if (!t[size_t(l)].is_string() || t[size_t(l)].get<std::string>() != want)
      fail(s.where, ": \"layer_types\"[", l, "] is ", t[size_t(l)].dump(), "; Gemma-2 alternates local and global ",
           "attention (\"", want, "\" at layer ", l, ")");
  }
}

Config gemma2_config(const ConfigSource& s) {
  Config c = llama_like_config(s);
  c.family = "gemma2";
  c.d_head = hf_opt<int>(s, "head_dim", 256);  // Gemma2Config's defaults, where llama_like_config's differ
  c.rotary_dim = c.d_head;
  c.n_ctx = hf_opt<int>(s, "max_position_embeddings", 8192);
  c.tied_embeddings = hf_opt<bool>(s, "tie_word_embeddings", true);
  const std::string act = s.hf->contains("hidden_activation") && !(*s.hf)["hidden_activation"].is_null()
                              ? hf_req<std::string>(s, "hidden_activation")
                              : hf_opt<std::string>(s, "hidden_act", "gelu_pytorch_tanh");
  c.act = parse_act(s, act);
  c.post_norms = true;
  // In float32: the engine computes in float32, as HF does with a float32 model and llama.cpp always.
  c.embed_scale = std::sqrt(float(c.d_model));
  c.attn_softcap = softcap_field(s, "attn_logit_softcapping", 50.f);
  c.final_softcap = softcap_field(s, "final_logit_softcapping", 30.f);
  const float qscalar = hf_opt<float>(s, "query_pre_attn_scalar", 256.f);
  if (!(qscalar > 0)) fail(s.where, ": query_pre_attn_scalar must be positive, got ", qscalar);
  c.attn_scale = 1.f / std::sqrt(qscalar);
  c.sliding_window = hf_opt<int>(s, "sliding_window", 4096);
  c.sliding_window_pattern = kGemma2WindowPattern;
  check_layer_types(s, c);
  return c;
}

// A Gemma RMSNorm weight w as the gain 1 + w, in an owned copy.
const float* gemma_norm(WeightLoader& ld, const std::string& name, int64_t d) {
  float* w = ld.get_copy(name, {d});
  for (int64_t i = 0; i < d; ++i) w[i] += 1.f;
  return w;
}

void gemma2_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, V = c.d_vocab;
  w.W_E = ld.get("model.embed_tokens.weight", {V, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "model.layers." + std::to_string(l) + ".";
    // Gemma-2's post_attention_layernorm is attention's post-norm; the MLP's input norm is pre_feedforward_layernorm.
    lw.ln1_w = gemma_norm(ld, h + "input_layernorm.weight", d);
    lw.ln1_post_w = gemma_norm(ld, h + "post_attention_layernorm.weight", d);
    lw.ln2_w = gemma_norm(ld, h + "pre_feedforward_layernorm.weight", d);
    lw.ln2_post_w = gemma_norm(ld, h + "post_feedforward_layernorm.weight", d);
    llama_layer_projections(ld, c, h, lw);
  }
  w.ln_final_w = gemma_norm(ld, "model.norm.weight", d);
  const float* U = c.tied_embeddings && !ld.has("lm_head.weight") ? w.W_E : ld.get("lm_head.weight", {V, d});
  w.W_U = linear(U, V, d);
}

// llama.cpp's gemma2: the llama-style keys plus attention.key_length (read by
// gguf_llama_config), the two soft-caps and attention.sliding_window, with
// llama.cpp's defaults where a key is absent; norms already hold 1 + w.
Config gguf_gemma2_config(const ConfigSource& s) {
  Config c = gguf_llama_config(s);
  const GgufKeys k(*s.gguf);
  c.n_ctx = k.u("context_length");  // the window is real here, not a cap on the context
  c.act = ActKind::GeluNew;
  c.post_norms = true;
  c.embed_scale = std::sqrt(float(c.d_model));
  c.attn_softcap = float(k.f_opt("attn_logit_softcapping", 50.0));
  c.final_softcap = float(k.f_opt("final_logit_softcapping", 30.0));
  c.sliding_window = k.u_opt("attention.sliding_window", 4096);
  c.sliding_window_pattern = kGemma2WindowPattern;
  const std::string pattern_key = "gemma2.attention.sliding_window_pattern";
  if (const GgufValue* v = s.gguf->find_kv(pattern_key)) {
    if (v->type == GgufType::ARRAY) {  // per-layer flags: must be the alternation the Config expresses
      const GgufArray& a = v->as_array(pattern_key);
      bool same = int(a.size()) == c.n_layers;
      for (int l = 0; same && l < c.n_layers; ++l) same = a[size_t(l)].as_bool(pattern_key) == (c.window(l) > 0);
      if (!same) fail(s.where, ": ", pattern_key, " is not Gemma-2's alternation (windowed even layers)");
    } else {
      c.sliding_window_pattern = k.u("attention.sliding_window_pattern");
    }
  }
  // llama.cpp (after gemma_pytorch): the 27B model (46 layers) scales queries by (d_model / n_heads)^-1/2.
  c.attn_scale = 1.f / std::sqrt(float(c.n_layers == 46 ? c.d_model / c.n_heads : c.d_head));
  return c;
}

}  // namespace

const Family kGemma2Family{{"gemma2"}, gemma2_config, gemma2_weights, {".rotary_emb.inv_freq"}};
const Family kGgufGemma2Family{{"gguf:gemma2"}, gguf_gemma2_config, gguf_llama_weights, {"rope_freqs.weight"}};

}  // namespace glassbox::detail
