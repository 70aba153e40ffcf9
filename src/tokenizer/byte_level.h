// GPT-2's byte-level alphabet: every byte maps to one printable code point so
// BPE can run on strings with no control characters or spaces
// (openai/gpt-2 encoder.py bytes_to_unicode: printable Latin-1 bytes map to
// themselves, the other 68 bytes to U+0100.. in byte order; ' ' -> 'Ġ').
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace glassbox::detail {

struct ByteLevelTable {
  char utf8[256][2];    // each mapped code point is < U+0800: 1 or 2 UTF-8 bytes
  uint8_t utf8_len[256];
  int16_t byte_of[324];  // code point (< 0x144) -> byte, -1 if not in the alphabet
};

const ByteLevelTable& byte_level_table();

// Appends the byte-level spelling of `bytes` to `out`.
void byte_level_encode(std::string_view bytes, std::string& out);

// Appends the bytes a byte-level piece stands for. Characters outside the
// alphabet (only in hand-written vocabularies) are copied through unchanged.
void byte_level_decode(std::string_view piece, std::string& out);

}  // namespace glassbox::detail
