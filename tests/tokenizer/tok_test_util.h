// Helpers for tokenizer tests: temp files and a tiny byte-level vocabulary
// written independently of the library's own byte table.
#pragma once
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>

namespace tok_test {

inline std::string temp_dir(const std::string& name) {
  auto d = std::filesystem::temp_directory_path() / ("glassbox_tok_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d.string();
}

inline std::string write_file(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string p = dir + "/" + name;
  std::ofstream(p, std::ios::binary) << text;
  return p;
}

inline std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += char(cp);
  } else {
    s += char(0xC0 | (cp >> 6));
    s += char(0x80 | (cp & 0x3F));
  }
  return s;
}

// GPT-2 bytes_to_unicode, spelled out from openai/gpt-2 encoder.py.
inline std::vector<std::string> gpt2_byte_chars() {
  std::vector<std::string> out(256);
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    out[b] = utf8(keep ? b : 256 + n++);
  }
  return out;
}

// vocab: the 256 byte tokens (id = byte) plus `extra` pieces from id 256.
inline nlohmann::json byte_vocab(const std::vector<std::string>& extra) {
  nlohmann::json v = nlohmann::json::object();
  const auto chars = gpt2_byte_chars();
  for (int b = 0; b < 256; ++b) v[chars[b]] = b;
  int id = 256;
  for (const auto& e : extra) v[e] = id++;
  return v;
}

inline std::string file_data(const std::string& name) {
  return std::string(GLASSBOX_TEST_DATA) + "/external/" + name;
}

inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace tok_test
