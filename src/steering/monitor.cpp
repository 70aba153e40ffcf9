// Monitors as data: JSON in and out, and the checks against a model's config.
// Running them during generation is monitor_run.cpp.
#include "glassbox/steering/monitor.h"

#include <cmath>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "steering/json_fields.h"

namespace glassbox::steering {

namespace {

constexpr enum_table::Names<MonitorKind, 4> kKindNames = {{MonitorKind::Probe, "probe"},
                                                          {MonitorKind::Projection, "projection"},
                                                          {MonitorKind::Entropy, "entropy"},
                                                          {MonitorKind::LogitLens, "logit_lens"}};
constexpr enum_table::Names<MonitorAction, 3> kActionNames = {
    {MonitorAction::Flag, "flag"}, {MonitorAction::Steer, "steer"}, {MonitorAction::Stop, "stop"}};

bool reads_site(MonitorKind k) { return k == MonitorKind::Probe || k == MonitorKind::Projection; }

// A saved probe (LinearProbe::to_json: "direction" [[...]] one row per output,
// "mean", "bias" [b], "kind"), or a probe sweep cell holding one under "probe".
void read_probe(Monitor& m, const nlohmann::json& doc, const std::string& field) {
  const nlohmann::json& p = doc.contains("probe") && doc["probe"].is_object() ? doc["probe"] : doc;
  if (!p.is_object() || !p.contains("direction"))
    fail(field, ": expected a saved probe (an object with \"direction\", \"mean\", \"bias\")");
  const nlohmann::json& dir = p["direction"];
  if (dir.is_array() && !dir.empty() && dir[0].is_array()) {
    if (dir.size() != 1)
      fail(field, ": a probe with ", dir.size(), " outputs; a monitor reads a binary probe (one output)");
    m.direction = json_fields::floats(dir[0], field + ".direction[0]");
  } else {
    m.direction = json_fields::floats(dir, field + ".direction");
  }
  if (p.contains("mean")) m.mean = json_fields::floats(p["mean"], field + ".mean");
  if (p.contains("bias")) {
    const nlohmann::json& b = p["bias"];
    if (b.is_array()) {
      if (b.size() != 1 || !b[0].is_number()) fail(field, ".bias: expected one number, got ", b.dump());
      m.bias = b[0].get<double>();
    } else {
      m.bias = json_fields::number(p, "bias", field);
    }
  }
  m.logistic = p.value("kind", std::string()) == "logistic";
}

// Checks `hook` names a site with [B, T, width] activations; returns width.
int64_t site_width(const std::string& hook, const Config& c, const std::string& field) {
  HookPoint hp;
  try {
    hp = parse_hook_name(hook, c);
  } catch (const Error& e) {
    fail(field, ": ", e.what());
  }
  const Shape s = site_shape(hp.site, c, 1, 1, 1);
  if (s.size() != 3) fail(field, ": '", hook, "' has per-head activations; a monitor reads a [batch, position, d] site");
  return s[2];
}

void check_width(const std::vector<float>& v, int64_t width, const std::string& hook, const std::string& field) {
  if (int64_t(v.size()) != width)
    fail(field, ": ", v.size(), " values, but '", hook, "' has width ", width);
}

}  // namespace

const char* to_string(MonitorKind k) { return enum_table::name(k, kKindNames); }
const char* to_string(MonitorAction a) { return enum_table::name(a, kActionNames); }

nlohmann::json Monitor::to_json() const {
  nlohmann::json j = {{"type", to_string(kind)}, {"threshold", threshold}, {"action", to_string(action)}};
  if (!name.empty()) j["name"] = name;
  if (below) j["when"] = "below";
  if (reads_site(kind)) {
    j["hook"] = hook;
    j["direction"] = direction;
  }
  if (kind == MonitorKind::Probe) {
    if (!mean.empty()) j["mean"] = mean;
    j["bias"] = bias;
    j["logistic"] = logistic;
  }
  if (action == MonitorAction::Steer) {
    j["alpha"] = alpha;
    if (!steer_hook.empty()) j["steer_hook"] = steer_hook;
    if (!steer_direction.empty()) j["steer_direction"] = steer_direction;
  }
  return j;
}

Monitor Monitor::from_json(const nlohmann::json& j, const std::string& what, const std::string& base_dir) {
  using namespace json_fields;
  if (!j.is_object()) fail(what, ": expected an object, got ", j.dump());
  for (const auto& [key, _] : j.items())
    if (!is_one_of(key, {"name", "type", "hook", "probe", "direction", "mean", "bias", "logistic", "threshold",
                         "when", "action", "alpha", "steer_hook", "steer_direction"}))
      fail(what, ".", key, ": unknown field");
  Monitor m;
  m.kind = enum_field<MonitorKind>(j, "type", what, /*required=*/true);
  if (j.contains("name")) m.name = string(j, "name", what);
  if (j.contains("hook")) m.hook = string(j, "hook", what);
  if (reads_site(m.kind) && m.hook.empty()) fail(what, ".hook: a ", to_string(m.kind), " monitor needs a hook");
  if (m.kind == MonitorKind::Probe) {
    if (j.contains("probe") == j.contains("direction"))
      fail(what, ": a probe monitor needs one of \"probe\" (a saved probe or its file) or \"direction\"");
    if (j.contains("probe")) {
      const nlohmann::json& p = j["probe"];
      if (p.is_string()) {
        std::filesystem::path f = p.get<std::string>();
        if (f.is_relative() && !base_dir.empty()) f = std::filesystem::path(base_dir) / f;
        read_probe(m, read_json_file(f.string()), what + ".probe (" + f.string() + ")");
      } else {
        read_probe(m, p, what + ".probe");
      }
    }
  }
  if (j.contains("direction")) {
    if (!reads_site(m.kind)) fail(what, ".direction: a ", to_string(m.kind), " monitor reads no direction");
    m.direction = floats(j["direction"], what + ".direction");
  }
  if (j.contains("mean")) m.mean = floats(j["mean"], what + ".mean");
  if (j.contains("bias")) m.bias = number(j, "bias", what);
  if (j.contains("logistic")) m.logistic = boolean(j, "logistic", what);
  if (m.kind == MonitorKind::Projection && m.direction.empty())
    fail(what, ".direction: a projection monitor needs a direction");
  m.threshold = number(j, "threshold", what, /*required=*/true);
  if (j.contains("when")) {
    const std::string w = string(j, "when", what);
    if (w != "above" && w != "below") fail(what, ".when: expected \"above\" or \"below\", got \"", w, "\"");
    m.below = w == "below";
  }
  if (j.contains("action")) m.action = enum_field<MonitorAction>(j, "action", what);
  if (j.contains("alpha")) m.alpha = number(j, "alpha", what);
  if (j.contains("steer_hook")) m.steer_hook = string(j, "steer_hook", what);
  if (j.contains("steer_direction")) m.steer_direction = floats(j["steer_direction"], what + ".steer_direction");
  if (m.action == MonitorAction::Steer && !reads_site(m.kind) && (m.steer_hook.empty() || m.steer_direction.empty()))
    fail(what, ": a ", to_string(m.kind), " monitor that steers needs \"steer_hook\" and \"steer_direction\"");
  return m;
}

void Monitor::check_fits(const Config& c, const std::string& what) const {
  if (reads_site(kind)) {
    const int64_t w = site_width(hook, c, what + ".hook");
    check_width(direction, w, hook, what + ".direction");
    if (!mean.empty()) check_width(mean, w, hook, what + ".mean");
  }
  if (action == MonitorAction::Steer) {
    const std::string& sh = steer_hook.empty() ? hook : steer_hook;
    const std::vector<float>& sd = steer_direction.empty() ? direction : steer_direction;
    const std::string field = what + (steer_direction.empty() ? ".direction" : ".steer_direction");
    check_width(sd, site_width(sh, c, what + (steer_hook.empty() ? ".hook" : ".steer_hook")), sh, field);
    double nn = 0;
    for (float v : sd) nn += double(v) * v;
    if (!(nn > 0) || !std::isfinite(nn)) fail(field, ": a steer action needs a non-zero, finite direction");
  }
  if (!std::isfinite(threshold)) fail(what, ".threshold: must be finite");
}

nlohmann::json MonitorEvent::to_json() const {
  return {{"monitor", monitor}, {"name", name},   {"row", row},
          {"token", token},     {"value", value}, {"action", to_string(action)}};
}

nlohmann::json MonitoredGeneration::to_json() const {
  nlohmann::json ev = nlohmann::json::array();
  for (const MonitorEvent& e : events) ev.push_back(e.to_json());
  return {{"tokens", tokens}, {"monitors", monitor_names}, {"events", ev}, {"values", values}};
}

}  // namespace glassbox::steering

namespace glassbox {
template <>
steering::MonitorKind from_string<steering::MonitorKind>(std::string_view s) {
  return enum_table::value(s, steering::kKindNames, "monitor type");
}
template <>
steering::MonitorAction from_string<steering::MonitorAction>(std::string_view s) {
  return enum_table::value(s, steering::kActionNames, "monitor action");
}
}  // namespace glassbox
