// A user's label file: one JSON object a line, {"text", "label"} or {"text", "target"}.
#include <set>

#include <nlohmann/json.hpp>

#include "features/labels_detail.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"

namespace glassbox::features {

namespace {

std::string class_name(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  fail(where, ": \"label\" must be a string, an integer or a boolean (a number to regress goes in \"target\")");
}

}  // namespace

LabelSet read_label_jsonl(const std::string& path, const Model& m, const LabelSetOptions& opt) {
  LabelSet s;
  s.name = path;
  s.description = "labels from " + path;
  std::vector<std::string> names;  // per example, classification
  bool any_label = false, any_target = false;
  for_each_jsonl_line(path, [&](const nlohmann::json& j, const std::string& where) {
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      fail(where, ": expected an object with a string \"text\"");
    ProbeExample ex;
    ex.text = j["text"].get<std::string>();
    if (j.contains("label")) {
      names.push_back(class_name(j["label"], where));
      any_label = true;
    } else if (j.contains("target")) {
      if (!j["target"].is_number()) fail(where, ": \"target\" must be a number");
      ex.target = j["target"].get<double>();
      names.emplace_back();
      any_target = true;
    } else {
      fail(where, ": no \"label\" (a class) or \"target\" (a number)");
    }
    if (any_label && any_target) fail(where, ": mixes \"label\" and \"target\" lines; use one kind per file");
    if (j.contains("control")) {
      if (!j["control"].is_string()) fail(where, ": \"control\" must be a string");
      ex.control_key = j["control"].get<std::string>();
    }
    if (j.contains("group")) {
      if (!j["group"].is_string()) fail(where, ": \"group\" must be a string");
      ex.group = j["group"].get<std::string>();
    }
    if (j.contains("positions")) {
      if (!j["positions"].is_object()) fail(where, ": \"positions\" must be an object {\"name\": token index}");
      for (const auto& [k, v] : j["positions"].items()) {
        if (!v.is_number_integer()) fail(where, ": position \"", k, "\" must be an integer token index");
        ex.positions[k] = v.get<int64_t>();
      }
    }
    s.examples.push_back(std::move(ex));
  });
  if (s.examples.empty()) fail(path, ": no examples");
  if (any_label) {
    const std::set<std::string> classes(names.begin(), names.end());  // sorted: "false" < "true", "0" < "1"
    s.classes.assign(classes.begin(), classes.end());
    for (size_t i = 0; i < s.examples.size(); ++i)
      s.examples[i].label = int32_t(std::distance(classes.begin(), classes.find(names[i])));
  }
  limit_examples(s, opt.limit, opt.seed);
  detail::tokenize_examples(s, m);
  for (size_t i = 0; i < s.examples.size(); ++i)  // negative indices count from the end
    for (auto& [k, v] : s.examples[i].positions)
      if (v < 0) v += int64_t(s.examples[i].tokens.size());
  return s;
}

}  // namespace glassbox::features
