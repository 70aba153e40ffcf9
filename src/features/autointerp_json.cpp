// The JSON form of FeatureExamples (autointerp.h), read strictly.
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/dashboard.h"
#include "glassbox/json_file.h"

namespace glassbox::features {

namespace {

ActivationRecord record_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("tokens") || !j.contains("acts"))
    fail(where, ": expected an object with \"tokens\" and \"acts\"");
  ActivationRecord r;
  try {
    r.tokens = j["tokens"].get<std::vector<std::string>>();
    r.acts = j["acts"].get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    fail(where, ": ", e.what());
  }
  if (r.tokens.size() != r.acts.size())
    fail(where, ": ", r.tokens.size(), " tokens but ", r.acts.size(), " activations");
  for (float a : r.acts)
    if (!std::isfinite(a)) fail(where, ": activations must be finite numbers");
  return r;
}

}  // namespace

nlohmann::json to_json(const ActivationRecord& r) { return {{"tokens", r.tokens}, {"acts", r.acts}}; }

nlohmann::json to_json(const FeatureExamples& ex) {
  nlohmann::json j = {{"feature", ex.feature}, {"density", ex.density}};
  for (auto [name, list] : {std::pair{"top", &ex.top}, {"quantiles", &ex.quantiles}, {"random", &ex.random}}) {
    j[name] = nlohmann::json::array();
    for (const ActivationRecord& r : *list) j[name].push_back(to_json(r));
  }
  return j;
}

FeatureExamples feature_examples_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) fail(where, ": expected a JSON object, got ", j.type_name());
  FeatureExamples ex;
  if (!j.contains("feature") || !j["feature"].is_number_integer()) fail(where, ": \"feature\" must be an integer");
  ex.feature = j["feature"].get<int64_t>();
  if (j.contains("density")) {
    if (!j["density"].is_number()) fail(where, ": \"density\" must be a number");
    ex.density = j["density"].get<double>();
  }
  for (auto [name, list] : {std::pair{"top", &ex.top}, {"quantiles", &ex.quantiles}, {"random", &ex.random}}) {
    if (!j.contains(name)) {
      if (std::string(name) == "top") fail(where, ": no \"top\" records");
      continue;
    }
    if (!j[name].is_array()) fail(where, ": \"", name, "\" must be an array of records");
    for (size_t i = 0; i < j[name].size(); ++i)
      list->push_back(record_from_json(j[name][i], where + ": " + name + "[" + std::to_string(i) + "]"));
  }
  return ex;
}

std::vector<FeatureExamples> feature_examples_from_document(const nlohmann::json& j, const std::string& what) {
  if (j.is_object() && j.contains("features") && j.contains("context_before")) {  // a dashboards export
    std::vector<FeatureExamples> out;
    FeatureDashboardData data;
    dashboard_from_json(j, out, data, what);
    return out;
  }
  const nlohmann::json* list = &j;
  if (j.is_object() && j.contains("features")) list = &j["features"];
  else if (j.is_object()) return {feature_examples_from_json(j, what)};
  if (!list->is_array())
    fail(what, ": expected a FeatureExamples object, an array of them, {\"features\": [...]} or a dashboards export");
  std::vector<FeatureExamples> out;
  for (size_t i = 0; i < list->size(); ++i)
    out.push_back(feature_examples_from_json((*list)[i], what + ": features[" + std::to_string(i) + "]"));
  return out;
}

std::vector<FeatureExamples> read_feature_examples(const std::string& path) {
  return feature_examples_from_document(read_json_file(path), path);
}

}  // namespace glassbox::features
