#include "glassbox/config.h"

#include <nlohmann/json.hpp>

namespace glassbox {

nlohmann::json to_json(const Config& c) {
  nlohmann::json j = {
      {"family", c.family},
      {"n_layers", c.n_layers},
      {"d_model", c.d_model},
      {"n_heads", c.n_heads},
      {"n_kv_heads", c.n_kv_heads},
      {"d_head", c.d_head},
      {"d_mlp", c.d_mlp},
      {"d_vocab", c.d_vocab},
      {"n_ctx", c.n_ctx},
      {"norm", to_string(c.norm)},
      {"norm_eps", c.norm_eps},
      {"positional", to_string(c.positional)},
      {"rotary_dim", c.rotary_dim},
      {"rope_theta", c.rope_theta},
      {"rope_freq_factors", c.rope_freq_factors},
      {"act", to_string(c.act)},
      {"gated_mlp", c.gated_mlp},
      {"parallel_residual", c.parallel_residual},
      {"attn_only", c.attn_only},
      {"tied_embeddings", c.tied_embeddings},
  };
  // Gemma-2's features, named only when a model has them.
  if (c.post_norms) j["post_norms"] = true;
  if (c.embed_scale != 1.f) j["embed_scale"] = c.embed_scale;
  if (c.attn_softcap > 0) j["attn_softcap"] = c.attn_softcap;
  if (c.final_softcap > 0) j["final_softcap"] = c.final_softcap;
  if (c.sliding_window > 0) {
    j["sliding_window"] = c.sliding_window;
    j["sliding_window_pattern"] = c.sliding_window_pattern;
  }
  return j;
}

}  // namespace glassbox
