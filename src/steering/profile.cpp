// Profiles: a request's interventions and monitors as one JSON document,
// checked against the model, and generation under one.
#include "glassbox/steering/profile.h"

#include <filesystem>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "steering/json_fields.h"

namespace glassbox::steering {

namespace {

std::string item(const std::string& what, const char* list, size_t i) {
  return what + "." + list + "[" + std::to_string(i) + "]";
}

// The width a vector added at (or projected out of) site s must have: the
// activation's last dimension. Scores and patterns end in the key position
// (no fixed width): 0, not checked here (the hook checks it when it runs).
int64_t vector_width(Site s, const Config& c) {
  const int64_t a = site_shape(s, c, 1, 1, 1).back(), b = site_shape(s, c, 1, 2, 2).back();
  return a == b ? a : 0;
}

}  // namespace

nlohmann::json Profile::to_json() const {
  nlohmann::json ms = nlohmann::json::array();
  for (const Monitor& m : monitors) ms.push_back(m.to_json());
  nlohmann::json j = {{"interventions", interventions_to_json(interventions)}, {"monitors", ms}};
  if (!name.empty()) j["name"] = name;
  if (!description.empty()) j["description"] = description;
  return j;
}

Profile Profile::from_json(const nlohmann::json& j, const std::string& base_dir, const std::string& what,
                           const CodecLoader& load_codec) {
  if (!j.is_object()) fail(what, ": expected an object {\"interventions\": [...], \"monitors\": [...]}");
  for (const auto& [key, _] : j.items())
    if (!json_fields::is_one_of(key, {"interventions", "monitors", "name", "description"}))
      fail(what, ".", key, ": unknown field (a profile has \"interventions\" and \"monitors\")");
  Profile p;
  if (j.contains("name")) p.name = json_fields::string(j, "name", what);
  if (j.contains("description")) p.description = json_fields::string(j, "description", what);
  for (const char* list : {"interventions", "monitors"})
    if (j.contains(list) && !j[list].is_array()) fail(what, ".", list, ": expected an array");
  if (j.contains("interventions")) {
    const nlohmann::json& xs = j["interventions"];
    for (size_t i = 0; i < xs.size(); ++i) {
      try {
        for (Intervention& iv : interventions_from_json(xs[i], base_dir, load_codec))
          p.interventions.push_back(std::move(iv));
      } catch (const Error& e) {
        fail(item(what, "interventions", i), ": ", e.what());
      }
    }
  }
  if (j.contains("monitors")) {
    const nlohmann::json& ms = j["monitors"];
    for (size_t i = 0; i < ms.size(); ++i)
      p.monitors.push_back(Monitor::from_json(ms[i], item(what, "monitors", i), base_dir));
  }
  return p;
}

void Profile::check_fits(const Config& c, const std::string& what) const {
  for (size_t i = 0; i < interventions.size(); ++i) {
    const Intervention& iv = interventions[i];
    const std::string field = item(what, "interventions", i);
    std::vector<HookPoint> points;
    try {
      points = match_hooks(iv.hook, c);
    } catch (const Error& e) {
      fail(field, ".hook: ", e.what());
    }
    if (iv.kind != InterventionKind::AddVector && iv.kind != InterventionKind::ProjectOut) continue;
    for (const HookPoint& hp : points) {
      const int64_t w = vector_width(hp.site, c);
      if (w && int64_t(iv.vector.size()) != w)
        fail(field, ".vector: ", iv.vector.size(), " values, but '", hp.name(), "' has width ", w);
    }
  }
  for (size_t i = 0; i < monitors.size(); ++i) monitors[i].check_fits(c, item(what, "monitors", i));
}

Profile load_profile(const std::string& path, const CodecLoader& load_codec) {
  return Profile::from_json(read_json_file(path), std::filesystem::path(path).parent_path().string(), path,
                            load_codec);
}

void save_profile(const Profile& p, const std::string& path) {
  const std::string text = p.to_json().dump(1) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

MonitoredGeneration generate_with_profile(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                          const SamplingOptions& o, const Profile& p,
                                          const GenerateObserver& observe) {
  p.check_fits(m.config());
  Engine e(m);  // this request's scratch; the weights are the Model's, shared
  HookRegistry reg(m.config());
  const std::vector<HookHandle> handles = attach(reg, p.interventions);
  return generate_monitored(e, prompts, o, p.monitors, &reg, observe);
}

}  // namespace glassbox::steering
