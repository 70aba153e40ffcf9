// What every CLI test needs to run the glassbox binary as a user runs it: a
// shell command, its exit code, stdout and stderr; a fresh temp directory;
// paths into the source tree; shell quoting.
#pragma once
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassbox::cli_test {

namespace fs = std::filesystem;

struct CliRun {
  int code = -1;
  std::string out, err;
  // stdout as JSON; a test failure (and null) when it is not.
  nlohmann::json js() const {
    try {
      return nlohmann::json::parse(out);
    } catch (const std::exception& e) {
      ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\nstdout:\n" << out << "\nstderr:\n" << err;
      return nlohmann::json();
    }
  }
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// 'text' for the shell (the tests' paths hold no single quotes). Appended
// piece by piece: GCC 12 sees a false overlap (-Wrestrict) in "'" + s + "'".
inline std::string quoted(const std::string& text) {
  std::string q;
  q.reserve(text.size() + 2);
  q.push_back('\'');
  q.append(text);
  q.push_back('\'');
  return q;
}
inline std::string quoted(const fs::path& p) { return quoted(p.string()); }

// A path in the source tree: source_path("models/tiny-lm").
inline std::string source_path(const std::string& rel) { return (fs::path(GLASSBOX_SOURCE_DIR) / rel).string(); }
inline std::string glassbox_binary() { return (fs::path(GLASSBOX_BINARY_DIR) / "glassbox").string(); }
// Whether the shipped organism `name` (models/NAME) is here; tests on it skip otherwise.
inline bool shipped(const std::string& name) {
  return fs::exists(fs::path(GLASSBOX_SOURCE_DIR) / "models" / name / "model.safetensors");
}

// llama.cpp's bin directory: $GLASSBOX_LLAMA_CPP (the bin directory or the
// build-llama-cpp.sh DEST), else out/llama.cpp (scripts/build-llama-cpp.sh's
// default); "" when there is no build (the tests that need it skip).
inline std::string llama_cpp_bin() {
  std::vector<fs::path> candidates;
  if (const char* e = std::getenv("GLASSBOX_LLAMA_CPP")) candidates = {fs::path(e), fs::path(e) / "build" / "bin"};
  candidates.push_back(fs::path(GLASSBOX_SOURCE_DIR) / "out" / "llama.cpp" / "build" / "bin");
  for (const fs::path& p : candidates)
    if (fs::exists(p / "llama-bench")) return p.string();
  return "";
}

// An empty directory under the system temp dir, named for the suite and this process.
inline fs::path fresh_temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("glassbox-" + name + "-" + std::to_string(getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// Runs `glassbox <args>` in a shell in `cwd` (args are shell words); `prefix`
// goes before the binary ("env X=y", "ulimit -f 100;"). stdout and stderr
// go through numbered files in a capture directory of their own, so a test
// may list `cwd` freely.
inline CliRun run_glassbox(const std::string& args, const fs::path& cwd, const std::string& prefix = "") {
  struct Capture {
    fs::path dir = fresh_temp_dir("cli-capture");
    ~Capture() { fs::remove_all(dir); }
  };
  static const Capture capture;
  static int n = 0;
  const fs::path out = capture.dir / ("out" + std::to_string(n) + ".txt");
  const fs::path err = capture.dir / ("err" + std::to_string(n++) + ".txt");
  std::string cmd = "cd ";
  cmd += quoted(cwd);
  cmd += " && ";
  cmd += prefix;
  cmd += ' ';
  cmd += quoted(glassbox_binary());
  cmd += ' ';
  cmd += args;
  cmd += " >";
  cmd += quoted(out);
  cmd += " 2>";
  cmd += quoted(err);
  const int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
}

}  // namespace glassbox::cli_test
