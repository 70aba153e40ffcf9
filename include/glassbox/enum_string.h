// Every public enum declares to_string(E) and from_string<E>(text) beside
// itself, so the CLI, JSON files, Python and the server spell its values one
// way. The table lookup behind all of them lives here, once.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace glassbox {

// Specialised beside each enum's declaration. glassbox::Error "<what> 'text'
// is not one of a, b, c" (the valid spellings, in declaration order) otherwise.
template <class E>
E from_string(std::string_view text);

// For the definitions of to_string / from_string: an enum's spellings as a
// table. (Not `detail`: this header is included by config.h, and a
// glassbox::detail there would make `detail::` ambiguous in code that uses
// both glassbox and glassbox::analysis.)
namespace enum_table {

template <class E, size_t N>
using Names = std::pair<E, const char*>[N];

[[noreturn]] void unknown(std::string_view text, const char* what, const std::string& choices);

// unknown: for a value read from a file and not (yet) validated.
template <class E, size_t N>
const char* name(E e, const Names<E, N>& names, const char* unknown = "?") {
  for (const auto& [v, n] : names)
    if (v == e) return n;
  return unknown;
}

template <class E, size_t N>
E value(std::string_view text, const Names<E, N>& names, const char* what) {
  std::string choices;
  for (const auto& [v, n] : names) {
    if (text == n) return v;
    choices += (choices.empty() ? "" : ", ") + std::string(n);
  }
  unknown(text, what, choices);
}

}  // namespace enum_table
}  // namespace glassbox
