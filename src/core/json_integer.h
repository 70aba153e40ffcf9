// Internal: integer fields of JSON files, read without undefined behaviour.
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include <nlohmann/json.hpp>

namespace glassbox::detail {

// Whether get<T>() of `v` gives its value: nlohmann converts a JSON number to
// an integer type with an unchecked static_cast, which is undefined behaviour
// for a float outside T's range (1e300, a NaN) and wraps an integer that does
// not fit. True for an integer in T's range or a float holding a whole number
// in it, and for a non-number (get<T>() then throws its own type error).
// Readers of files check it before get<T>() of an integer field.
template <class T>
bool json_integer_fits(const nlohmann::json& v) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  using L = std::numeric_limits<T>;
  if (v.is_number_unsigned()) return v.get<uint64_t>() <= uint64_t(L::max());
  if (v.is_number_integer()) {
    const int64_t x = v.get<int64_t>();
    return x < 0 ? L::is_signed && x >= int64_t(L::min()) : uint64_t(x) <= uint64_t(L::max());
  }
  if (v.is_number_float()) {
    const double d = v.get<double>(), bound = std::ldexp(1.0, L::digits);  // 2^31 for int32, 2^64 for uint64
    return d == std::trunc(d) && d < bound && (L::is_signed ? d >= -bound : d >= 0);
  }
  return true;
}

}  // namespace glassbox::detail
