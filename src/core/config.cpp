#include "glassbox/config.h"

#include <cmath>

#include "glassbox/error.h"

namespace glassbox {

namespace {
constexpr enum_table::Names<NormKind, 3> kNormNames = {
    {NormKind::LayerNorm, "LayerNorm"}, {NormKind::RMSNorm, "RMSNorm"}, {NormKind::None, "none"}};
constexpr enum_table::Names<PosKind, 3> kPosNames = {
    {PosKind::Learned, "learned"}, {PosKind::Rotary, "rotary"}, {PosKind::None, "none"}};
constexpr enum_table::Names<ActKind, 4> kActNames = {
    {ActKind::GeluNew, "gelu_new"}, {ActKind::GeluExact, "gelu"}, {ActKind::Silu, "silu"}, {ActKind::Relu, "relu"}};
}  // namespace

const char* to_string(NormKind k) { return enum_table::name(k, kNormNames); }
const char* to_string(PosKind k) { return enum_table::name(k, kPosNames); }
const char* to_string(ActKind k) { return enum_table::name(k, kActNames); }
template <>
NormKind from_string<NormKind>(std::string_view s) { return enum_table::value(s, kNormNames, "norm"); }
template <>
PosKind from_string<PosKind>(std::string_view s) { return enum_table::value(s, kPosNames, "positional"); }
template <>
ActKind from_string<ActKind>(std::string_view s) { return enum_table::value(s, kActNames, "activation"); }

float Config::scores_scale() const { return attn_scale > 0 ? attn_scale : 1.0f / std::sqrt(float(d_head)); }

int Config::window(int layer) const {
  if (sliding_window <= 0) return 0;
  const int p = sliding_window_pattern;
  return p == 0 || layer % p < p - 1 ? sliding_window : 0;
}

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
  if (!(embed_scale > 0) || !std::isfinite(embed_scale)) fail("config: embed_scale must be positive and finite, got ", embed_scale);
  if (!(attn_softcap >= 0) || !std::isfinite(attn_softcap))
    fail("config: attn_softcap must be >= 0 and finite (0: none), got ", attn_softcap);
  if (!(final_softcap >= 0) || !std::isfinite(final_softcap))
    fail("config: final_softcap must be >= 0 and finite (0: none), got ", final_softcap);
  if (sliding_window < 0) fail("config: sliding_window must be >= 0 (0: none), got ", sliding_window);
  if (sliding_window_pattern < 0)
    fail("config: sliding_window_pattern must be >= 0 (0: every layer), got ", sliding_window_pattern);
  if (post_norms && norm == NormKind::None) fail("config: post_norms needs a norm kind");
  if (!rope_freq_factors.empty()) {
    if (positional != PosKind::Rotary || int(rope_freq_factors.size()) != rotary_dim / 2)
      fail("config: rope_freq_factors has ", rope_freq_factors.size(), " entries; rotary_dim / 2 = ",
           rotary_dim / 2, " were expected");
    for (float f : rope_freq_factors)
      if (!(f > 0) || !std::isfinite(f)) fail("config: rope_freq_factors must be positive and finite, got ", f);
  }
}

}  // namespace glassbox
