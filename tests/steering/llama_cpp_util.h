// Running llama.cpp's llama-eval-callback on a GGUF and reading back what it
// printed: the prompt's token ids and the last position's logits
// (result_output: its first and last 3 values, %.4f, and the sum of all).
// Tests that use it are skipped without a llama.cpp build.
#pragma once
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace steering_test {

// llama.cpp's bin directory: $GLASSBOX_LLAMA_CPP (the bin directory, its build
// directory or the build-llama-cpp.sh DEST), else out/llama.cpp (scripts/build-llama-cpp.sh's default).
inline std::string llama_cpp_bin() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* e = std::getenv("GLASSBOX_LLAMA_CPP")) candidates = {fs::path(e), fs::path(e) / "bin", fs::path(e) / "build" / "bin"};
  candidates.push_back(fs::path(GLASSBOX_SOURCE_DIR) / "out" / "llama.cpp" / "build" / "bin");
  for (const fs::path& p : candidates)
    if (fs::exists(p / "llama-eval-callback")) return p.string();
  return "";
}
#define REQUIRE_LLAMA_CPP(bin)                   \
  const std::string bin = steering_test::llama_cpp_bin(); \
  if (bin.empty()) GTEST_SKIP() << "no llama.cpp build: run scripts/build-llama-cpp.sh or set GLASSBOX_LLAMA_CPP"

struct LlamaLogits {
  std::vector<int32_t> tokens;     // as llama.cpp tokenised the prompt
  std::vector<double> head, tail;  // result_output's first and last 3 values
  double sum = 0;
  int64_t n_vocab = 0;
};

inline std::string quoted_path(const std::string& s) { return "'" + s + "'"; }

// Parses one run's output; false when result_output is missing.
inline bool parse_eval_callback(const std::string& text, LlamaLogits& out) {
  std::istringstream in(text);
  std::string line;
  out = {};
  int64_t n_tokens = -1;
  bool in_output = false;
  while (std::getline(in, line)) {
    if (size_t k = line.find("number of input tokens = "); k != std::string::npos) {
      n_tokens = std::stoll(line.substr(k + 25));
      continue;
    }
    if (n_tokens > 0 && int64_t(out.tokens.size()) < n_tokens) {
      const size_t k = line.find_last_of(' ');
      if (k != std::string::npos && k + 1 < line.size() && std::isdigit((unsigned char)line[k + 1])) {
        out.tokens.push_back(int32_t(std::stol(line.substr(k + 1))));
        continue;
      }
    }
    if (line.find("result_output = ") != std::string::npos) {
      in_output = true;
      const size_t k = line.rfind("= {");
      out.n_vocab = std::stoll(line.substr(k + 3));
      continue;
    }
    if (!in_output) continue;
    if (line.find("...") != std::string::npos && out.head.empty()) {  // "[ a, b, c, ..., x, y, z ],"
      std::string s = line;
      for (char& c : s)
        if (c == '[' || c == ']' || c == ',') c = ' ';
      std::istringstream vs(s);
      std::string w;
      bool dots = false;
      while (vs >> w) {
        if (w == "...") dots = true;
        else (dots ? out.tail : out.head).push_back(std::stod(w));
      }
    } else if (size_t k = line.find("sum = "); k != std::string::npos) {
      out.sum = std::stod(line.substr(k + 6));
      return out.head.size() == 3 && out.tail.size() == 3 && int64_t(out.tokens.size()) == n_tokens;
    }
  }
  return false;
}

// Runs llama-eval-callback on `model` with `prompt` (and extra arguments such
// as --control-vector FILE). Its log is written by a thread that the process
// does not wait for at exit (llama.cpp's common/log.cpp leaks the logger on
// purpose), so the last tensors' lines are sometimes lost: retried a few times.
inline LlamaLogits llama_logits(const std::string& bin, const std::string& model, const std::string& prompt,
                                const std::string& extra, const std::string& out_txt) {
  LlamaLogits r;
  for (int attempt = 0; attempt < 8; ++attempt) {
    const std::string cmd = quoted_path(bin + "/llama-eval-callback") + " -m " + quoted_path(model) + " -p " +
                            quoted_path(prompt) + " -t 1 -c 64 " + extra + " > " + quoted_path(out_txt) + " 2>&1";
    const int status = std::system(cmd.c_str());
    std::ifstream in(out_txt);
    std::stringstream ss;
    ss << in.rdbuf();
    if (status != 0) {
      ADD_FAILURE() << cmd << " failed:\n" << ss.str().substr(0, 4000);
      return r;
    }
    if (parse_eval_callback(ss.str(), r)) return r;
  }
  ADD_FAILURE() << "llama-eval-callback never printed result_output (see " << out_txt << ")";
  return r;
}

}  // namespace steering_test
