// GgufValue accessors and convenience constructors.
#include <limits>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "io/gguf_detail.h"

namespace glassbox {

namespace {
constexpr enum_table::Names<GgufType, 13> kGgufTypes = {
    {GgufType::UINT8, "UINT8"},   {GgufType::INT8, "INT8"},       {GgufType::UINT16, "UINT16"},
    {GgufType::INT16, "INT16"},   {GgufType::UINT32, "UINT32"},   {GgufType::INT32, "INT32"},
    {GgufType::FLOAT32, "FLOAT32"}, {GgufType::BOOL, "BOOL"},     {GgufType::STRING, "STRING"},
    {GgufType::ARRAY, "ARRAY"},   {GgufType::UINT64, "UINT64"},   {GgufType::INT64, "INT64"},
    {GgufType::FLOAT64, "FLOAT64"}};
}  // namespace

const char* to_string(GgufType t) { return enum_table::name(t, kGgufTypes, "invalid"); }
template <>
GgufType from_string<GgufType>(std::string_view s) { return enum_table::value(s, kGgufTypes, "GGUF type"); }

namespace detail {

bool gguf_type_known(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::FLOAT64); }

size_t gguf_scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    case GgufType::STRING: case GgufType::ARRAY: return 0;
  }
  return 0;
}

}  // namespace detail

namespace {

[[noreturn]] void wrong(const std::string& key, const char* want, const GgufValue& v) {
  fail("gguf key '", key, "': expected ", want, ", found ", to_string(v.type));
}

}  // namespace

// Integer accessors accept either signedness when the value fits, since
// converters disagree on whether e.g. a context length is UINT32 or INT32.
uint64_t GgufValue::as_uint(const std::string& key) const {
  if (const auto* u = std::get_if<uint64_t>(&v)) return *u;
  if (const auto* i = std::get_if<int64_t>(&v)) {
    if (*i >= 0) return static_cast<uint64_t>(*i);
    fail("gguf key '", key, "': expected an unsigned integer, found negative value ", *i);
  }
  wrong(key, "an unsigned integer", *this);
}

int64_t GgufValue::as_int(const std::string& key) const {
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    if (*u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(*u);
    fail("gguf key '", key, "': value ", *u, " does not fit a signed 64-bit integer");
  }
  wrong(key, "an integer", *this);
}

double GgufValue::as_float(const std::string& key) const {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v)) return static_cast<double>(*u);
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  wrong(key, "a number", *this);
}

bool GgufValue::as_bool(const std::string& key) const {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  wrong(key, "BOOL", *this);
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  wrong(key, "STRING", *this);
}

const GgufArray& GgufValue::as_array(const std::string& key) const {
  if (const auto* a = std::get_if<GgufArray>(&v)) return *a;
  wrong(key, "ARRAY", *this);
}

GgufValue gguf_u32(uint32_t x) { return {GgufType::UINT32, GgufType::UINT32, uint64_t{x}}; }
GgufValue gguf_i32(int32_t x) { return {GgufType::INT32, GgufType::UINT32, int64_t{x}}; }
GgufValue gguf_f32(float x) { return {GgufType::FLOAT32, GgufType::UINT32, double{x}}; }
GgufValue gguf_bool(bool x) { return {GgufType::BOOL, GgufType::UINT32, x}; }
GgufValue gguf_str(std::string s) { return {GgufType::STRING, GgufType::UINT32, std::move(s)}; }

GgufValue gguf_str_array(const std::vector<std::string>& xs) {
  GgufArray a;
  a.reserve(xs.size());
  for (const auto& x : xs) a.push_back(gguf_str(x));
  return {GgufType::ARRAY, GgufType::STRING, std::move(a)};
}

GgufValue gguf_f32_array(const std::vector<float>& xs) {
  GgufArray a;
  a.reserve(xs.size());
  for (float x : xs) a.push_back(gguf_f32(x));
  return {GgufType::ARRAY, GgufType::FLOAT32, std::move(a)};
}

GgufValue gguf_i32_array(const std::vector<int32_t>& xs) {
  GgufArray a;
  a.reserve(xs.size());
  for (int32_t x : xs) a.push_back(gguf_i32(x));
  return {GgufType::ARRAY, GgufType::INT32, std::move(a)};
}

}  // namespace glassbox
