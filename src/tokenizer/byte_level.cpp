#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace glassbox::detail {

static ByteLevelTable make_table() {
  ByteLevelTable t{};
  for (auto& b : t.byte_of) b = -1;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
    std::string s;
    utf8_append(s, cp);
    t.utf8_len[b] = static_cast<uint8_t>(s.size());
    for (size_t k = 0; k < s.size(); ++k) t.utf8[b][k] = s[k];
    t.byte_of[cp] = static_cast<int16_t>(b);
  }
  return t;
}

const ByteLevelTable& byte_level_table() {
  static const ByteLevelTable t = make_table();
  return t;
}

void byte_level_encode(std::string_view bytes, std::string& out) {
  const auto& t = byte_level_table();
  for (char c : bytes) {
    const auto b = static_cast<uint8_t>(c);
    out.append(t.utf8[b], t.utf8_len[b]);
  }
}

void byte_level_decode(std::string_view piece, std::string& out) {
  const auto& t = byte_level_table();
  for (size_t i = 0; i < piece.size();) {
    const size_t n = utf8_valid_len(piece, i);
    if (n == 0) {
      out += piece[i++];
      continue;
    }
    const uint32_t cp = utf8_decode(piece.data() + i, n);
    if (cp < 324 && t.byte_of[cp] >= 0) {
      out += static_cast<char>(t.byte_of[cp]);
    } else {
      out.append(piece.substr(i, n));
    }
    i += n;
  }
}

}  // namespace glassbox::detail
