// Internal: integer fields of JSON documents read with an Error naming the
// field when they do not fit (json_integer.h says when they fit). Kept apart
// from json_integer.h so the readers that only test a value need not see
// glassbox::Error.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json_integer.h"
#include "glassbox/error.h"

namespace glassbox::detail {

// v as T: an Error naming `what` unless v is a number that json_integer_fits.
template <class T>
T json_integer(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number() || !json_integer_fits<T>(v)) {
    const std::string shown = v.dump();
    fail(what, ": expected an integer in range, got ", shown.size() > 40 ? shown.substr(0, 40) + "..." : shown);
  }
  return v.get<T>();
}

// An array of such integers, each checked ("what[3]: ..." names the bad one).
template <class T>
std::vector<T> json_integers(const nlohmann::json& v, const std::string& what) {
  if (!v.is_array()) fail(what, ": expected an array of integers, got ", v.type_name());
  std::vector<T> out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) out.push_back(json_integer<T>(v[i], what + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace glassbox::detail
