// TransformerLens HookedTransformer state dicts (embed.W_E, blocks.{l}.attn.W_Q
// [n_heads, d_model, d_head], ...) with a HookedTransformerConfig-style
// config.json. The format of toy / attention-only models and of glassbox's own organisms.
#include "arch/family.h"

namespace glassbox::detail {

static Config hooked_config(const ConfigSource& s) {
  Config c;
  c.family = "hooked_transformer";
  c.n_layers = hf_req<int>(s, "n_layers");
  c.d_model = hf_req<int>(s, "d_model");
  c.n_heads = hf_req<int>(s, "n_heads");
  c.n_kv_heads = hf_opt<int>(s, "n_key_value_heads", c.n_heads);
  c.d_head = hf_req<int>(s, "d_head");
  c.d_vocab = hf_req<int>(s, "d_vocab");
  c.n_ctx = hf_req<int>(s, "n_ctx");
  c.attn_only = hf_opt<bool>(s, "attn_only", false);
  c.d_mlp = c.attn_only ? 0 : hf_opt<int>(s, "d_mlp", 4 * c.d_model);
  c.gated_mlp = hf_opt<bool>(s, "gated_mlp", false);
  if (!c.attn_only) c.act = parse_act(s, hf_opt<std::string>(s, "act_fn", "gelu_new"));
  const std::string norm = hf_opt<std::string>(s, "normalization_type", "");
  if (norm == "LN" || norm == "LNPre") c.norm = NormKind::LayerNorm;
  else if (norm == "RMS" || norm == "RMSPre") c.norm = NormKind::RMSNorm;
  else if (norm.empty()) c.norm = NormKind::None;
  else fail(s.where, ": unsupported normalization_type \"", norm, "\" (expected LN, LNPre, RMS, RMSPre or null)");
  c.norm_eps = hf_opt<float>(s, "eps", 1e-5f);
  const std::string pos = hf_opt<std::string>(s, "positional_embedding_type", "standard");
  if (pos == "standard") c.positional = PosKind::Learned;
  else if (pos == "rotary") {
    c.positional = PosKind::Rotary;
    c.rotary_dim = hf_opt<int>(s, "rotary_dim", c.d_head);
    c.rope_theta = hf_opt<float>(s, "rotary_base", 10000.f);
  } else fail(s.where, ": unsupported positional_embedding_type \"", pos, "\" (expected standard or rotary)");
  c.parallel_residual = hf_opt<bool>(s, "parallel_attn_mlp", false);
  return c;
}

// TransformerLens [n_heads, d_model, d_head] per-head matrices.
static HeadProj tl_heads(const float* W, const float* b, const Config& c, int n) {
  HeadProj p;
  p.w = W;
  p.head_stride = int64_t(c.d_model) * c.d_head;
  p.rs = c.d_head;
  p.cs = 1;
  p.b = b;
  p.b_head_stride = c.d_head;
  p.n_heads = n;
  p.d_model = c.d_model;
  p.d_head = c.d_head;
  return p;
}

static void hooked_weights(WeightLoader& ld, const Config& c, Weights& w) {
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head, H = c.n_heads,
                Hkv = c.n_kv_heads;
  w.W_E = ld.get("embed.W_E", {V, d});
  if (c.positional == PosKind::Learned) w.W_pos = ld.get("pos_embed.W_pos", {c.n_ctx, d});
  w.layers.resize(c.n_layers);
  const bool norm = c.norm != NormKind::None;
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    const std::string h = "blocks." + std::to_string(l) + ".";
    if (norm) {
      lw.ln1_w = ld.get_opt(h + "ln1.w", {d});
      lw.ln1_b = ld.get_opt(h + "ln1.b", {d});
    }
    const std::string kv = Hkv == H ? "" : "_";  // TL names grouped K/V "_W_K" / "_W_V"
    lw.W_Q = tl_heads(ld.get(h + "attn.W_Q", {H, d, dh}), ld.get_opt(h + "attn.b_Q", {H, dh}), c, H);
    lw.W_K = tl_heads(ld.get(h + "attn." + kv + "W_K", {Hkv, d, dh}),
                      ld.get_opt(h + "attn." + kv + "b_K", {Hkv, dh}), c, int(Hkv));
    lw.W_V = tl_heads(ld.get(h + "attn." + kv + "W_V", {Hkv, d, dh}),
                      ld.get_opt(h + "attn." + kv + "b_V", {Hkv, dh}), c, int(Hkv));
    lw.W_O = conv1d(ld.get(h + "attn.W_O", {H, dh, d}), H * dh, d, d);
    lw.b_O = ld.get_opt(h + "attn.b_O", {d});
    if (c.attn_only) continue;
    if (norm) {
      lw.ln2_w = ld.get_opt(h + "ln2.w", {d});
      lw.ln2_b = ld.get_opt(h + "ln2.b", {d});
    }
    lw.W_in = conv1d(ld.get(h + "mlp.W_in", {d, m}), d, m, m);
    lw.b_in = ld.get_opt(h + "mlp.b_in", {m});
    if (c.gated_mlp) lw.W_gate = conv1d(ld.get(h + "mlp.W_gate", {d, m}), d, m, m);
    lw.W_out = conv1d(ld.get(h + "mlp.W_out", {m, d}), m, d, d);
    lw.b_out = ld.get_opt(h + "mlp.b_out", {d});
  }
  if (norm) {
    w.ln_final_w = ld.get_opt("ln_final.w", {d});
    w.ln_final_b = ld.get_opt("ln_final.b", {d});
  }
  w.W_U = conv1d(ld.get("unembed.W_U", {d, V}), d, V, V);
  w.b_U = ld.get_opt("unembed.b_U", {V});
}

const Family kHookedFamily{{"hooked_transformer"}, hooked_config, hooked_weights, {".IGNORE", ".mask"}};

}  // namespace glassbox::detail
