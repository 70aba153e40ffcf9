// Internal: overflow-checked arithmetic and little-endian byte access shared by
// the file readers and writers. Every size read from a file goes through these.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace glassbox::detail {

// a * b and a + b, false on overflow.
inline bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }
inline bool add_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_add_overflow(a, b, out); }

// Assembled byte by byte: file data is little-endian whatever the host is, and may be unaligned.
template <class T>
T load_le(const uint8_t* p) {
  static_assert(sizeof(T) <= 8);
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return static_cast<T>(v);
}

template <class T>
void append_le(std::vector<uint8_t>& out, T x) {
  static_assert(sizeof(T) <= 8);
  const auto v = static_cast<uint64_t>(x);
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// Product of dims with overflow and sign checks; false if a dim is negative or it overflows int64.
inline bool checked_numel(const std::vector<int64_t>& shape, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n)) return false;
  }
  *out = n;
  return true;
}

}  // namespace glassbox::detail
