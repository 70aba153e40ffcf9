// Helpers shared by the engine tests.
#pragma once
#include <filesystem>
#include <random>
#include <string>

#include "glassbox/engine.h"
#include "glassbox/model.h"

namespace gbtest {

inline std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

// A fresh empty directory under the system temp dir, removed by the destructor.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() / ("glassbox_test_" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string operator/(const std::string& f) const { return (path / f).string(); }
};

inline std::vector<int32_t> some_tokens(int n, int vocab, unsigned seed = 1) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (auto& x : t) x = int32_t(rng() % unsigned(vocab));
  return t;
}

inline float max_abs_diff(const float* a, const float* b, int64_t n) {
  float m = 0;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace gbtest
