// SAELens' on-disk layout: a directory with cfg.json + sae_weights.safetensors
// (W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in],
// threshold [d_sae] for jumprelu). Field names, defaults and semantics follow
// SAELens 5.x (sae_lens/sae.py SAEConfig.to_dict, and
// toolkit/pretrained_sae_loaders.py handle_config_defaulting, checked against
// jbloomAus/SAELens at commit 01f6731); the 6.x layout (a nested "metadata"
// object, architecture "topk" with a top-level "k") is read too.
//
// How our architectures map onto SAELens 5.x:
//   relu      -> architecture "standard", activation_fn_str "relu"
//   topk      -> architecture "standard", activation_fn_str "topk", activation_fn_kwargs {"k": k}
//   jumprelu  -> architecture "jumprelu" (f = relu(pre) * (pre > threshold))
//   batchtopk -> architecture "jumprelu" with the global threshold in every
//                entry (what it is at inference), plus "glassbox_architecture"
// Transcoders add "d_out" and "hook_name_out" (SAELens 6's transcoder fields),
// crosscoders "n_sources" and "source_names" (W_enc [n_sources*d_in, d_sae]);
// SAELens ignores fields it does not know. Training state (optimizer, step)
// never goes in this directory: it stays loadable by SAELens.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "glassbox/interventions.h"

#include "glassbox/features/sae.h"

namespace glassbox::features {

inline constexpr const char* kSaeCfgFile = "cfg.json";
inline constexpr const char* kSaeWeightsFile = "sae_weights.safetensors";

// Error naming the file and field on a missing required field, a value we
// cannot honour (architecture "gated", activation "tanh-relu") or a tensor of
// the wrong shape. A finetuning_scaling_factor tensor is folded into W_dec's rows
// (decode(f) = (f * s) . W_dec is unchanged; f stays what SAELens' encode returns).
Sae load_saelens(const std::string& dir);
// Writes both files atomically (dtype float32, device cpu).
void save_saelens(const Sae& s, const std::string& dir);

// The loader "sae" interventions use (glassbox/interventions.h): an
// autoencoder whose decode() needs no input rows (not a transcoder or
// crosscoder, not constant_norm_rescale / layer_norm inputs), else an Error
// naming the directory.
std::shared_ptr<const LatentCodec> load_sae_codec(const std::string& dir);
// Interventions from a JSON file, "sae" ones loaded with load_sae_codec.
std::vector<Intervention> load_interventions(const std::string& path);

// The cfg.json object / its parse; `path` only names the file in errors.
nlohmann::json saelens_cfg_json(const Sae& s);
SaeConfig saelens_cfg_from_json(nlohmann::json j, const std::string& path);

// `glassbox sae info --json`: dir, architecture, hook_name, d_in, d_sae,
// apply_b_dec_to_input, normalize_activations, model_name (k, hook_name_out,
// d_out where they apply), for a crosscoder the latents whose decoder norm is
// over 90% in one source, and the decoder norms' min / mean / max.
nlohmann::json sae_info_json(const Sae& s, const std::string& dir);

}  // namespace glassbox::features
