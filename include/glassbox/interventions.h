// Interventions: values that describe a change to activations, composable and
// serialisable to JSON so a CLI flag file, a Python call and an HTTP request
// describe the same thing. Attached to a HookRegistry they become replace hooks;
// they stay active during generation (positions are absolute token positions).
//
// JSON (one object or a list):
//   {"type": "zero_ablate",  "hook": "blocks.0.attn.hook_z", "heads": [3], "positions": [5]}
//   {"type": "mean_ablate",  "hook": "blocks.*.hook_mlp_out", "source": "ref_cache.safetensors"}
//   {"type": "patch",        "hook": "blocks.1.hook_resid_post", "source": "clean.safetensors", "positions": [-1]}
//   {"type": "add_vector",   "hook": "blocks.2.hook_resid_post", "vector": [...], "alpha": 4.0}
//   {"type": "project_out",  "hook": "blocks.*.hook_resid_post", "vector": [...]}
//   {"type": "sae",          "hook": "blocks.2.hook_resid_post", "sae": "saes/l2", "latents": [7, 41],
//                            "edit": "clamp", "value": 8.0, "keep_error": true}
//     encodes the activation with the dictionary, edits the chosen latents
//     (zero / scale by value / clamp to value / none), decodes, and adds the
//     reconstruction error back unless keep_error is false (then the
//     activation becomes the dictionary's reconstruction: the splice that
//     CE-loss-recovered measures).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/cache.h"
#include "glassbox/codec.h"
#include "glassbox/hooks.h"

namespace glassbox {

enum class InterventionKind : uint8_t { Patch, ZeroAblate, MeanAblate, AddVector, ProjectOut, Sae };
const char* to_string(InterventionKind k);  // the JSON "type": "patch", "zero_ablate", "add_vector" ...
template <> InterventionKind from_string<InterventionKind>(std::string_view s);

// What an "sae" intervention does to its chosen latents.
enum class LatentEdit : uint8_t { None, Zero, Scale, Clamp };
const char* to_string(LatentEdit e);  // "none", "zero", "scale", "clamp"
template <> LatentEdit from_string<LatentEdit>(std::string_view s);

struct Intervention {
  InterventionKind kind = InterventionKind::ZeroAblate;
  std::string hook;                // name or glob
  std::vector<int64_t> positions;  // absolute positions (negative: from the end of the pass); empty = all
  std::vector<int> heads;          // for per-head sites (q, k, v, z, result, pattern, scores); empty = all
  std::vector<float> vector;       // add_vector / project_out: length = the site's last dimension
  float alpha = 1.f;
  std::string source;              // patch / mean_ablate: activation cache file
  std::shared_ptr<const ActivationCache> source_cache;  // loaded from `source` or set in C++
  // sae: the dictionary (loaded from `sae` or set in C++), the latents to edit
  // (empty: all) and how.
  std::string sae;
  std::shared_ptr<const LatentCodec> codec;
  std::vector<int64_t> latents;
  LatentEdit edit = LatentEdit::None;
  float value = 0.f;
  bool keep_error = true;

  nlohmann::json to_json() const;
  static Intervention from_json(const nlohmann::json& j);  // Error naming the bad field
};

// Parses one intervention or a list; loads source caches and dictionaries
// (through load_codec; without one an "sae" intervention is an Error) relative
// to `base_dir`.
std::vector<Intervention> interventions_from_json(const nlohmann::json& j, const std::string& base_dir = "",
                                                  const CodecLoader& load_codec = {});
std::vector<Intervention> load_interventions(const std::string& path, const CodecLoader& load_codec = {});
nlohmann::json interventions_to_json(const std::vector<Intervention>& xs);

// Registers replace hooks for every intervention; removing the handles detaches them.
std::vector<HookHandle> attach(HookRegistry& reg, const std::vector<Intervention>& xs);

}  // namespace glassbox
