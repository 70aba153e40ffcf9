// What the harvesting tests share: the shipped tiny-lm organisms, a small
// text corpus, scratch directories, and reading a whole stream.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "glassbox/features/activations.h"
#include "glassbox/model.h"

namespace glassbox::features::testing {

inline std::string model_dir(const std::string& name) { return std::string(GLASSBOX_SOURCE_DIR) + "/models/" + name; }

inline std::shared_ptr<const Model> tiny_lm(const std::string& name = "tiny-lm") {
  static std::shared_ptr<const Model> lm, chat;
  auto& m = name == "tiny-lm" ? lm : chat;
  if (!m) m = std::make_shared<const Model>(Model::load(model_dir(name)));
  return m;
}

// A scratch directory removed with the object.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag) {
    static int n = 0;
    path = std::filesystem::temp_directory_path() /
           ("glassbox-" + tag + "-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

inline std::string corpus_text() {
  std::string s;
  const char* lines[] = {"The cat sat on the mat and looked at the dog. ", "A man who creates nothing feels qualified. ",
                         "Computers are useless; they can only give you answers. ",
                         "She sells sea shells by the sea shore, every day of the week. "};
  for (int i = 0; i < 40; ++i) s += lines[i % 4] + std::to_string(i) + "\n";
  return s;
}

inline void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every row of a stream, read `chunk` rows at a time.
struct AllRows {
  int64_t rows = 0;
  std::vector<std::vector<float>> sites;
  std::vector<int32_t> tokens;
};
inline AllRows read_all(ActivationStream& s, int64_t chunk) {
  AllRows a;
  a.sites.resize(s.dims().size());
  ActivationBatch b;
  while (const int64_t n = s.next(b, chunk)) {
    a.rows += n;
    for (size_t i = 0; i < a.sites.size(); ++i) a.sites[i].insert(a.sites[i].end(), b.sites[i].begin(), b.sites[i].end());
    a.tokens.insert(a.tokens.end(), b.tokens.begin(), b.tokens.end());
  }
  return a;
}

}  // namespace glassbox::features::testing
