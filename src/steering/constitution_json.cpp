// Constitutions as data: reading the JSON document with errors that name the
// principle and the field ("organisms.json: principles[1] (no abusive
// words).action: ..."). Building one is constitution.cpp.
#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/steering/constitution.h"
#include "steering/json_fields.h"

namespace glassbox::steering {

namespace {

constexpr enum_table::Names<PrincipleAction, 4> kActionNames = {{PrincipleAction::Flag, "flag"},
                                                                {PrincipleAction::Steer, "steer"},
                                                                {PrincipleAction::Stop, "stop"},
                                                                {PrincipleAction::Ablate, "ablate"}};

void only_fields(const nlohmann::json& j, std::initializer_list<std::string_view> keys, const std::string& what) {
  if (!j.is_object()) fail(what, ": expected an object, got ", j.type_name());
  for (const auto& [key, _] : j.items())
    if (!json_fields::is_one_of(key, keys)) {
      std::string list;
      for (std::string_view k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      fail(what, ".", key, ": unknown field (expected one of ", list, ")");
    }
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key, const std::string& what,
                                 bool required = false) {
  if (!j.contains(key)) {
    if (required) fail(what, ".", key, ": missing");
    return {};
  }
  const nlohmann::json& v = j[key];
  if (!v.is_array()) fail(what, ".", key, ": expected an array of strings, got ", v.type_name());
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) fail(what, ".", key, "[", i, "]: expected a string, got ", v[i].dump());
    out.push_back(v[i].get<std::string>());
  }
  if (required && out.empty()) fail(what, ".", key, ": must not be empty");
  return out;
}

// A layer: a non-negative integer or "auto" (-1).
int layer_field(const nlohmann::json& j, const char* key, const std::string& what) {
  if (!j.contains(key)) return -1;
  const nlohmann::json& v = j[key];
  if (v.is_string() && v.get<std::string>() == "auto") return -1;
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 1 << 20)
    fail(what, ".", key, ": expected a layer (a non-negative integer) or \"auto\", got ", v.dump());
  return v.get<int>();
}

Site site_field(const nlohmann::json& j, const std::string& what) {
  if (!j.contains("site")) return Site::resid_post;
  try {
    return residual_site(json_fields::string(j, "site", what));
  } catch (const Error& e) {
    fail(what, ".site: ", e.what());
  }
}

int positive_int(const nlohmann::json& j, const char* key, const std::string& what, int fallback) {
  if (!j.contains(key)) return fallback;
  const nlohmann::json& v = j[key];
  if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 1 << 20)
    fail(what, ".", key, ": expected a positive integer, got ", v.dump());
  return v.get<int>();
}

std::vector<PrincipleCase> cases(const nlohmann::json& j, const char* key, const std::string& what) {
  std::vector<PrincipleCase> out;
  if (!j.contains(key)) return out;
  if (!j[key].is_array()) fail(what, ".", key, ": expected an array of {\"prompt\", \"expect\", \"avoid\"}");
  for (size_t i = 0; i < j[key].size(); ++i) {
    const std::string w = what + "." + key + "[" + std::to_string(i) + "]";
    const nlohmann::json& c = j[key][i];
    only_fields(c, {"prompt", "expect", "avoid"}, w);
    if (!c.contains("prompt")) fail(w, ".prompt: missing");
    PrincipleCase pc;
    pc.prompt = json_fields::string(c, "prompt", w);
    if (c.contains("expect")) pc.expect = json_fields::string(c, "expect", w);
    pc.avoid = strings(c, "avoid", w);
    if (pc.expect.empty() && pc.avoid.empty()) fail(w, ": needs \"expect\" or \"avoid\" (what the continuation is judged by)");
    out.push_back(std::move(pc));
  }
  return out;
}

Principle principle_from_json(const nlohmann::json& j, const std::string& at) {
  if (!j.is_object()) fail(at, ": expected an object, got ", j.type_name());
  Principle p;
  if (!j.contains("name")) fail(at, ".name: missing");
  p.name = json_fields::string(j, "name", at);
  if (p.name.empty()) fail(at, ".name: must not be empty");
  const std::string what = at + " (" + p.name + ")";
  only_fields(j, {"name", "description", "models", "probe", "direction", "action", "gate", "coefficient", "heldout"},
              what);
  if (j.contains("description")) p.description = json_fields::string(j, "description", what);
  p.models = strings(j, "models", what);

  if (!j.contains("probe")) fail(what, ".probe: missing (the labelled texts its monitor is fitted on)");
  const std::string pw = what + ".probe";
  const nlohmann::json& pr = j["probe"];
  only_fields(pr, {"positive", "negative", "groups", "site", "layer", "threshold"}, pw);
  p.probe_positive = strings(pr, "positive", pw, true);
  p.probe_negative = strings(pr, "negative", pw, true);
  p.probe_groups = strings(pr, "groups", pw);
  if (!p.probe_groups.empty() && p.probe_groups.size() != p.probe_positive.size() + p.probe_negative.size())
    fail(pw, ".groups: ", p.probe_groups.size(), " groups for ", p.probe_positive.size() + p.probe_negative.size(),
         " texts (one per text: positive ones first, then negative)");
  p.probe_site = site_field(pr, pw);
  p.probe_layer = layer_field(pr, "layer", pw);
  if (pr.contains("threshold")) p.threshold = json_fields::number(pr, "threshold", pw);

  if (j.contains("direction")) {
    const std::string dw = what + ".direction";
    const nlohmann::json& d = j["direction"];
    only_fields(d, {"pairs", "positive", "negative", "read_at", "method", "site", "layer"}, dw);
    if (d.contains("pairs")) {
      if (!d["pairs"].is_array() || d["pairs"].empty()) fail(dw, ".pairs: expected a non-empty array");
      for (size_t i = 0; i < d["pairs"].size(); ++i) {
        const std::string w = dw + ".pairs[" + std::to_string(i) + "]";
        const nlohmann::json& q = d["pairs"][i];
        only_fields(q, {"prompt", "positive", "negative"}, w);
        for (const char* k : {"prompt", "positive", "negative"})
          if (!q.contains(k)) fail(w, ".", k, ": missing");
        p.pairs.push_back({json_fields::string(q, "prompt", w), json_fields::string(q, "positive", w),
                           json_fields::string(q, "negative", w)});
      }
    }
    p.direction_positive = strings(d, "positive", dw);
    p.direction_negative = strings(d, "negative", dw);
    if (!p.pairs.empty() && !(p.direction_positive.empty() && p.direction_negative.empty()))
      fail(dw, ": give \"pairs\" or \"positive\" / \"negative\" sets, not both");
    if (p.direction_positive.empty() != p.direction_negative.empty())
      fail(dw, ": labelled sets need both \"positive\" and \"negative\"");
    if (d.contains("read_at")) p.read_at = json_fields::enum_field<ReadAt>(d, "read_at", dw);
    if (d.contains("method")) p.method = json_fields::enum_field<Method>(d, "method", dw);
    if (p.method != Method::MeanDiff && p.method != Method::PcaDiff)
      fail(dw, ".method: mean-diff or pca-diff, not ", to_string(p.method));
    if (p.method == Method::PcaDiff && p.pairs.empty()) fail(dw, ".method: pca-diff needs \"pairs\"");
    p.site = site_field(d, dw);
    p.layer = layer_field(d, "layer", dw);
  }

  if (!j.contains("action")) fail(what, ".action: missing (flag, steer, stop or ablate)");
  p.action = json_fields::enum_field<PrincipleAction>(j, "action", what);
  if (j.contains("gate")) p.gate = json_fields::boolean(j, "gate", what);
  if (j.contains("coefficient")) p.coefficient = float(json_fields::number(j, "coefficient", what));
  if (p.action == PrincipleAction::Steer && !(p.coefficient > 0))
    fail(what, ".coefficient: steering needs a positive coefficient (-coefficient x the direction is added)");

  if (j.contains("heldout")) {
    const std::string hw = what + ".heldout";
    const nlohmann::json& h = j["heldout"];
    only_fields(h, {"behaviour", "benign", "text", "generate"}, hw);
    p.heldout.behaviour = cases(h, "behaviour", hw);
    p.heldout.benign = cases(h, "benign", hw);
    p.heldout.text = strings(h, "text", hw);
    if (h.contains("generate")) {
      const std::string gw = hw + ".generate";
      const nlohmann::json& g = h["generate"];
      only_fields(g, {"max_new_tokens", "temperature", "samples", "seed"}, gw);
      p.heldout.max_new_tokens = positive_int(g, "max_new_tokens", gw, p.heldout.max_new_tokens);
      p.heldout.samples = positive_int(g, "samples", gw, p.heldout.samples);
      if (g.contains("temperature")) p.heldout.temperature = float(json_fields::number(g, "temperature", gw));
      if (p.heldout.temperature < 0) fail(gw, ".temperature: must be >= 0");
      if (g.contains("seed")) {
        if (!g["seed"].is_number_unsigned()) fail(gw, ".seed: expected a non-negative integer");
        p.heldout.seed = g["seed"].get<uint64_t>();
      }
    }
  }
  return p;
}

}  // namespace

const char* to_string(PrincipleAction a) { return enum_table::name(a, kActionNames); }

bool Principle::applies_to(const std::string& model_name) const {
  return models.empty() || std::find(models.begin(), models.end(), model_name) != models.end();
}

Constitution constitution_from_json(const nlohmann::json& j, const std::string& what) {
  only_fields(j, {"name", "description", "principles"}, what);
  Constitution c;
  c.source = what;
  if (j.contains("name")) c.name = json_fields::string(j, "name", what);
  if (j.contains("description")) c.description = json_fields::string(j, "description", what);
  if (!j.contains("principles") || !j["principles"].is_array() || j["principles"].empty())
    fail(what, ".principles: expected a non-empty array of principles");
  for (size_t i = 0; i < j["principles"].size(); ++i) {
    c.principles.push_back(principle_from_json(j["principles"][i], what + ": principles[" + std::to_string(i) + "]"));
    for (size_t k = 0; k + 1 < c.principles.size(); ++k)
      if (c.principles[k].name == c.principles.back().name)
        fail(what, ": principles[", i, "].name: '", c.principles.back().name, "' is also principles[", k, "]'s");
  }
  return c;
}

Constitution load_constitution(const std::string& path) { return constitution_from_json(read_json_file(path), path); }

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::PrincipleAction from_string<steering::PrincipleAction>(std::string_view s) {
  return enum_table::value(s, steering::kActionNames, "principle action");
}
}  // namespace glassbox
