// SteeringVector: validation, JSON, and its add_vector interventions.
#include "glassbox/steering/direction.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"

#include "core/json_integer_read.h"

namespace glassbox::steering {

namespace {
constexpr enum_table::Names<Method, 4> kMethodNames = {{Method::MeanDiff, "mean-diff"},
                                                      {Method::PcaDiff, "pca-diff"},
                                                      {Method::SaeLatent, "sae-latent"},
                                                      {Method::ControlVector, "control-vector"}};
constexpr const char* kFormat = "glassbox.steering";
}  // namespace

const char* to_string(Method m) { return enum_table::name(m, kMethodNames); }

Site residual_site(std::string_view name) {
  const Site s = from_string<Site>(name);
  if (s != Site::resid_pre && s != Site::resid_mid && s != Site::resid_post)
    fail("steering: site '", name, "' is not a residual-stream site (resid_pre, resid_mid, resid_post)");
  return s;
}

double LayerDirection::norm() const {
  double s = 0;
  for (float x : vector) s += double(x) * x;
  return std::sqrt(s);
}

std::string SteeringVector::hook(int layer) const { return HookPoint{site, layer}.name(); }

const LayerDirection* SteeringVector::find(int layer) const {
  for (const auto& l : layers)
    if (l.layer == layer) return &l;
  return nullptr;
}

std::vector<int> SteeringVector::layer_ids() const {
  std::vector<int> out;
  for (const auto& l : layers) out.push_back(l.layer);
  return out;
}

void SteeringVector::check_fits(const Config& c, const std::string& what) const {
  if (!site_exists(site, c)) fail(what, ": site ", to_string(site), " does not exist in this model");
  if (d_model != c.d_model)
    fail(what, ": d_model is ", d_model, " but the model's residual stream has ", c.d_model, " dimensions");
  for (const auto& l : layers) {
    if (l.layer < 0 || l.layer >= c.n_layers)
      fail(what, ": layer ", l.layer, " is out of range (the model has layers 0..", c.n_layers - 1, ")");
    if (int64_t(l.vector.size()) != c.d_model)
      fail(what, ": the vector of layer ", l.layer, " has ", l.vector.size(), " entries, the model's d_model is ",
           c.d_model);
  }
}

nlohmann::json SteeringVector::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) {
    nlohmann::json j = {{"layer", l.layer}, {"hook", hook(l.layer)}, {"norm", l.norm()}, {"vector", l.vector}};
    j["separation"] = std::isfinite(l.separation) ? nlohmann::json(l.separation) : nlohmann::json(nullptr);
    ls.push_back(std::move(j));
  }
  return {{"format", kFormat}, {"name", name},     {"method", to_string(method)}, {"site", to_string(site)},
          {"d_model", d_model}, {"layers", ls}, {"provenance", provenance}};
}

SteeringVector SteeringVector::from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object()) fail(what, ": a steering direction is a JSON object");
  if (j.value("format", std::string()) != kFormat)
    fail(what, ": field \"format\" must be \"", kFormat, "\" (a file written by `glassbox steer build`)");
  SteeringVector v;
  try {
    v.name = j.value("name", std::string());
    v.method = from_string<Method>(j.at("method").get<std::string>());
    v.site = residual_site(j.value("site", std::string("resid_post")));
    v.d_model = glassbox::detail::json_integer<int64_t>(j.at("d_model"), what + ": \"d_model\"");
    if (j.contains("provenance")) v.provenance = j.at("provenance");
    for (const auto& l : j.at("layers")) {
      LayerDirection d;
      d.layer = glassbox::detail::json_integer<int>(l.at("layer"), what + ": \"layers\"[].layer");
      d.vector = l.at("vector").get<std::vector<float>>();
      for (float x : d.vector)
        if (!std::isfinite(x)) fail(what, ": layers[layer ", d.layer, "].vector holds a value that is not a finite float");
      if (l.contains("separation") && l["separation"].is_number()) d.separation = l["separation"].get<double>();
      if (int64_t(d.vector.size()) != v.d_model)
        fail(what, ": layers[layer ", d.layer, "].vector has ", d.vector.size(), " entries, d_model is ", v.d_model);
      if (v.find(d.layer)) fail(what, ": layer ", d.layer, " appears twice in \"layers\"");
      v.layers.push_back(std::move(d));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(what, ": malformed steering direction: ", e.what());
  } catch (const Error& e) {
    const std::string msg = e.what();
    if (msg.rfind(what, 0) == 0) throw;
    fail(what, ": ", msg);
  }
  std::sort(v.layers.begin(), v.layers.end(), [](const auto& a, const auto& b) { return a.layer < b.layer; });
  return v;
}

void save_steering_json(const SteeringVector& v, const std::string& path) {
  const std::string text = v.to_json().dump(1) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

SteeringVector load_steering_json(const std::string& path) {
  return SteeringVector::from_json(read_json_file(path), path);
}

std::vector<Intervention> steering_interventions(const SteeringVector& v, const ApplyOptions& o) {
  std::vector<Intervention> out;
  const std::vector<int> layers = o.layers.empty() ? v.layer_ids() : o.layers;
  for (int layer : layers) {
    const LayerDirection* d = v.find(layer);
    if (!d) {
      std::string have;
      for (int l : v.layer_ids()) have += (have.empty() ? "" : ", ") + std::to_string(l);
      fail("steering: the direction", v.name.empty() ? "" : " '" + v.name + "'", " has no vector for layer ", layer,
           " (it has layers ", have.empty() ? "none" : have, ")");
    }
    Intervention x;
    x.kind = InterventionKind::AddVector;
    x.hook = v.hook(layer);
    x.vector = d->vector;
    x.alpha = o.coefficient;
    x.positions = o.positions;
    out.push_back(std::move(x));
  }
  return out;
}

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::Method from_string<steering::Method>(std::string_view s) {
  return enum_table::value(s, steering::kMethodNames, "steering method");
}
}  // namespace glassbox
