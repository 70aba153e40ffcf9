// Reading the fields of a JSON document with errors that name the field
// ("monitors[2].threshold: expected a number, got \"high\""): what profiles
// and monitors need to reject a malformed document clearly.
#pragma once
#include <cmath>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/enum_string.h"
#include "glassbox/error.h"

namespace glassbox::steering::json_fields {

inline bool is_one_of(std::string_view key, std::initializer_list<std::string_view> keys) {
  for (std::string_view k : keys)
    if (k == key) return true;
  return false;
}

// j[key] as a number; `what` names j. Error when absent (if required) or not a number.
inline double number(const nlohmann::json& j, const char* key, const std::string& what, bool required = false) {
  if (!j.contains(key)) {
    if (required) fail(what, ".", key, ": missing");
    return 0;
  }
  const nlohmann::json& v = j[key];
  if (!v.is_number()) fail(what, ".", key, ": expected a number, got ", v.dump());
  return v.get<double>();
}

inline std::string string(const nlohmann::json& j, const char* key, const std::string& what) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_string()) fail(what, ".", key, ": expected a string, got ", v.dump());
  return v.get<std::string>();
}

inline bool boolean(const nlohmann::json& j, const char* key, const std::string& what) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_boolean()) fail(what, ".", key, ": expected true or false, got ", v.dump());
  return v.get<bool>();
}

// An array of finite numbers; `field` is the full field name.
inline std::vector<float> floats(const nlohmann::json& v, const std::string& field) {
  if (!v.is_array()) fail(field, ": expected an array of numbers, got ", v.is_string() ? v.dump() : v.type_name());
  std::vector<float> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number()) fail(field, "[", i, "]: expected a number, got ", v[i].dump());
    out.push_back(v[i].get<float>());
    if (!std::isfinite(out.back())) fail(field, "[", i, "]: ", v[i].dump(), " is not a finite float");
  }
  return out;
}

// An enum from its name (enum_string.h), the error naming the field and the choices.
template <class E>
E enum_field(const nlohmann::json& j, const char* key, const std::string& what, bool required = false) {
  if (!j.contains(key)) {
    if (required) fail(what, ".", key, ": missing");
    return E{};
  }
  const std::string s = string(j, key, what);
  try {
    return from_string<E>(s);
  } catch (const Error& e) {
    fail(what, ".", key, ": ", e.what());
  }
}

}  // namespace glassbox::steering::json_fields
