// HTML escaping and token display for reports.
#include <cstdio>

#include "glassbox/report.h"

namespace glassbox::report {
namespace {

constexpr const char* kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs,
// no surrogates, <= U+10FFFF), or 0 if it is not one.
size_t utf8_length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;  // overlong
    if (c == 0xED && b(1) > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;  // overlong
    if (c == 0xF4 && b(1) > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

std::string hex_byte(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02X", c);
  return buf;
}

}  // namespace

std::string escape_html(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_length(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (n == 1) {
      switch (text[i]) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default: out += text[i];
      }
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

std::string display_token(std::string_view token) {
  size_t first = token.find_first_not_of(' ');
  size_t last = token.find_last_not_of(' ');
  std::string out;
  for (size_t i = 0; i < token.size();) {
    size_t n = utf8_length(token, i);
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (n == 0) {
      out += hex_byte(c);
      ++i;
      continue;
    }
    if (n == 1) {
      // Inner spaces read fine; edge spaces are what tells " the" from "the".
      if (c == ' ' && (first == std::string_view::npos || i < first || i > last)) {
        out += "\xE2\x90\xA3";  // ␣
      } else if (c == '\n') {
        out += "\xE2\x86\xB5";  // ↵
      } else if (c == '\t') {
        out += "\xE2\x87\xA5";  // ⇥
      } else if (c < 0x20 || c == 0x7F) {
        out += hex_byte(c);
      } else {
        out += token[i];
      }
    } else {
      out.append(token, i, n);
    }
    i += n;
  }
  return out;
}

std::string format_number(double v, const char* format) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

}  // namespace glassbox::report
