// Shared by the libFuzzer targets: temp files for readers that take a path,
// and the one rule every target checks. A reader may reject any input with
// glassbox::Error; anything else escaping (another exception type, a crash, a
// sanitizer report, a hang, an allocation past -rss_limit_mb) is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "glassbox/error.h"

namespace glassbox::fuzz {

// One directory per process under /dev/shm (memory, so a million writes cost
// no disk), removed at exit. Readers that find sibling files by name
// (tokenizer_config.json beside tokenizer.json) see only what a target puts there.
inline const std::string& temp_dir() {
  static const std::string dir = [] {
    const char* base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = std::string(base) + "/glassbox-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    static std::string to_remove = tmpl;
    std::atexit([] { std::system(("rm -rf '" + to_remove + "'").c_str()); });
    return tmpl;
  }();
  return dir;
}

// Writes `n` bytes to temp_dir()/name and returns the path.
inline std::string write_temp(const std::string& name, const void* data, size_t n) {
  const std::string path = temp_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) std::abort();
  if (n && std::fwrite(data, 1, n, f) != n) std::abort();
  std::fclose(f);
  return path;
}
inline std::string write_temp(const std::string& name, std::string_view s) { return write_temp(name, s.data(), s.size()); }

// JSON documents are parsed from memory: the readers' entry points take the
// parsed value (read_json_file is one nlohmann::json::parse call, which this
// is). False for malformed JSON, which read_json_file turns into an Error.
inline bool parse_json(const uint8_t* data, size_t n, nlohmann::json& out) {
  out = nlohmann::json::parse(data, data + n, nullptr, /*allow_exceptions=*/false);
  return !out.is_discarded();
}

// Runs fn; an Error is a correct rejection of a bad input.
template <class F>
void accept_errors(F&& fn) {
  try {
    fn();
  } catch (const glassbox::Error&) {
  }
}

// Reads every byte of [p, p + n): a view whose range the reader got wrong is an
// ASan report here (inputs are heap copies of exactly their size).
inline uint64_t touch(const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  uint64_t s = 0;
  for (size_t i = 0; i < n; ++i) s += b[i];
  return s;
}

}  // namespace glassbox::fuzz
