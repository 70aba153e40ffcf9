// A steering direction: plain data. One vector per layer, the residual-stream
// site it is added at (blocks.{layer}.{site}), and where it came from. It
// acts through the existing "add_vector" intervention (glassbox/interventions.h),
// so a direction applied here, in `glassbox generate --intervene`, over HTTP
// or as a llama.cpp control vector is the same change to the activations.
//
// JSON (`glassbox steer build --out X.json`):
//   {"format": "glassbox.steering", "name": "...", "method": "mean-diff",
//    "site": "resid_post", "d_model": 128,
//    "layers": [{"layer": 1, "vector": [...], "norm": 3.2, "separation": 0.98}, ...],
//    "provenance": {"model": "models/tiny-lm", "pairs": 48, "position": "last", ...}}
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/config.h"
#include "glassbox/enum_string.h"
#include "glassbox/interventions.h"
#include "glassbox/sites.h"

namespace glassbox::steering {

// How a direction was made:
//   mean-diff       mean over pairs of act(positive) - act(negative)
//                   (CAA, Rimsky et al. 2023); with two labelled sets, the
//                   difference of their means (a mass-mean probe's direction)
//   pca-diff        the first principal component of the paired differences,
//                   unit norm, signed so most pairs project higher on the
//                   positive side (repeng's "pca_diff")
//   sae-latent      a sparse dictionary latent's decoder row (W_dec[j])
//   control-vector  read from a llama.cpp control-vector file
enum class Method : uint8_t { MeanDiff, PcaDiff, SaeLatent, ControlVector };
const char* to_string(Method m);  // "mean-diff", "pca-diff", "sae-latent", "control-vector"

struct LayerDirection {
  int layer = 0;
  std::vector<float> vector;  // [d_model]
  // Fraction of the building pairs whose positive side projects higher than
  // its negative side (1: the direction orders every pair); NaN when unknown.
  double separation = NAN;
  double norm() const;
};

struct SteeringVector {
  std::string name;
  Method method = Method::MeanDiff;
  Site site = Site::resid_post;  // a residual-stream site: resid_pre, resid_mid or resid_post
  int64_t d_model = 0;
  std::vector<LayerDirection> layers;  // ascending, distinct
  // Where it came from (model, data, position, counts ...): free-form, kept verbatim.
  nlohmann::json provenance = nlohmann::json::object();

  std::string hook(int layer) const;           // "blocks.{layer}.hook_resid_post"
  const LayerDirection* find(int layer) const;  // null when absent
  std::vector<int> layer_ids() const;
  // Error naming `what` and the field when it cannot act on a model of config
  // c: a width other than d_model, a layer outside [0, n_layers), a site the
  // architecture lacks.
  void check_fits(const Config& c, const std::string& what) const;

  nlohmann::json to_json() const;
  // `what` names the document in errors (a path).
  static SteeringVector from_json(const nlohmann::json& j, const std::string& what);
};

// Atomic write / read of the JSON document; Error naming the file and field.
void save_steering_json(const SteeringVector& v, const std::string& path);
SteeringVector load_steering_json(const std::string& path);

// How a direction is applied: coefficient x vector added at each chosen
// layer's site, at the chosen absolute positions (empty: every position,
// prompt and generated tokens alike, as llama.cpp applies control vectors).
struct ApplyOptions {
  float coefficient = 1.f;
  std::vector<int> layers;         // empty: every layer the direction has
  std::vector<int64_t> positions;  // empty: all
};
// One add_vector intervention per chosen layer; Error for a layer the direction lacks.
std::vector<Intervention> steering_interventions(const SteeringVector& v, const ApplyOptions& o = {});

// Checks `s` names a residual-stream site (what a steering direction is added to).
Site residual_site(std::string_view name);

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::Method from_string<steering::Method>(std::string_view s);
}  // namespace glassbox
