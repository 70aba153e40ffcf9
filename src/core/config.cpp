#include "glassbox/config.h"

#include <cmath>

#include "glassbox/error.h"

namespace glassbox {

const char* norm_name(NormKind k) {
  static const char* const names[] = {"LayerNorm", "RMSNorm", "none"};
  return names[int(k)];
}
const char* pos_name(PosKind k) {
  static const char* const names[] = {"learned", "rotary", "none"};
  return names[int(k)];
}
const char* act_name(ActKind k) {
  static const char* const names[] = {"gelu_new", "gelu", "silu", "relu"};
  return names[int(k)];
}

float Config::scores_scale() const { return attn_scale > 0 ? attn_scale : 1.0f / std::sqrt(float(d_head)); }

void Config::validate() const {
  auto positive = [](const char* field, int v) {
    if (v <= 0) fail("config: ", field, " must be positive, got ", v);
  };
  positive("n_layers", n_layers);
  positive("d_model", d_model);
  positive("n_heads", n_heads);
  positive("n_kv_heads", n_kv_heads);
  positive("d_head", d_head);
  positive("d_vocab", d_vocab);
  positive("n_ctx", n_ctx);
  if (!attn_only) positive("d_mlp", d_mlp);
  if (n_heads % n_kv_heads != 0)
    fail("config: n_heads (", n_heads, ") must be a multiple of n_kv_heads (", n_kv_heads, ")");
  if (positional == PosKind::Rotary && (rotary_dim <= 0 || rotary_dim > d_head || rotary_dim % 2))
    fail("config: rotary_dim must be even and in (0, d_head=", d_head, "], got ", rotary_dim);
  if (!(norm_eps >= 0)) fail("config: norm_eps must be >= 0");
}

}  // namespace glassbox
