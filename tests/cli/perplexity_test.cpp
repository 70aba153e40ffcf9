// glassbox run --text-file --llama-ctx N against llama.cpp's own
// llama-perplexity -c N on the same GGUF files (issue 18 item 4): tiny-lm
// written as an F32 GGUF, and as Q8_0 by llama-quantize. glassbox on the
// quantised file must agree within 2e-3 nats with llama-perplexity on that
// file dequantised to F32 by `llama-quantize --allow-requantize ... F32` (the
// same weights; llama.cpp running the Q8_0 file natively also quantises the
// activations: bench/compare_perplexity.sh reports that difference). Skipped, visibly, without
// a llama.cpp build. The protocol itself is checked against a plain
// recomputation in tests/engine/stream_loss_test.cpp (ChunkedLoss.*).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <regex>

#include "cli_util.h"
#include "glassbox/gguf_export.h"
#include "glassbox/model.h"

namespace glassbox {
namespace {

using namespace cli_test;

constexpr double kAgreeNats = 2e-3;

const char* kText =
    "The best way to predict the future is to invent it. A journey of a thousand miles begins with a single step.\n"
    "Whenever you find yourself on the side of the majority, it is time to pause and reflect.\n"
    "You will be successful in your work, but only if you remember to back up your files before lunch.\n"
    "It is easier to write an incorrect program than to understand a correct one.\n"
    "Do not put off until tomorrow what you can do the day after tomorrow just as well.\n"
    "A computer lets you make more mistakes faster than any invention in human history, with the possible\n"
    "exceptions of handguns and tequila. The trouble with the rat race is that even if you win, you are still a rat.\n"
    "If at first you do not succeed, destroy all evidence that you tried. Never trust a computer you cannot throw\n"
    "out of a window. There are two ways to write error-free programs; only the third one works.\n"
    "Your lucky number has been disconnected. Today is the tomorrow you worried about yesterday.\n"
    "He who laughs last thinks slowest. Experience is what you get when you did not get what you wanted.\n"
    "The early bird gets the worm, but the second mouse gets the cheese. Time flies like an arrow; fruit flies\n"
    "like a banana. Nothing is impossible for the man who does not have to do it himself.\n";

// llama-perplexity's "Final estimate: PPL = X" as ln X; NaN when absent.
// llama.cpp logs through an asynchronous worker thread that can lose its last
// lines when the process exits (seen here about one run in four), so a run
// without the final line is repeated, up to 5 times.
double llama_perplexity(const std::string& bin, const std::string& gguf, const fs::path& text, int n_ctx,
                        const fs::path& dir) {
  const fs::path log = dir / "ppl.log";
  const std::string cmd = quoted(bin + "/llama-perplexity") + " -m " + quoted(gguf) + " -f " + quoted(text) +
                          " -c " + std::to_string(n_ctx) + " -b " + std::to_string(n_ctx) + " -t 2 > " +
                          quoted(log) + " 2>&1";
  const std::regex final_line(R"(Final estimate: PPL = ([0-9.]+))");
  std::string out;
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd << "\n" << slurp(log);
    out = slurp(log);
    std::smatch m;
    if (std::regex_search(out, m, final_line)) return std::log(std::stod(m[1]));
  }
  ADD_FAILURE() << "no final estimate in llama-perplexity's output:\n" << out;
  return std::nan("");
}

void run_tool(const std::string& cmd, const fs::path& dir) {
  EXPECT_EQ(std::system((cmd + " > " + quoted(dir / "tool.log") + " 2>&1").c_str()), 0)
      << cmd << "\n" << slurp(dir / "tool.log");
}

TEST(PerplexityLlamaCpp, AgreesWithLlamaPerplexityOnTheSameWeights) {
  const std::string bin = llama_cpp_bin();
  if (bin.empty() || !fs::exists(fs::path(bin) / "llama-perplexity"))
    GTEST_SKIP() << "no llama.cpp build with llama-perplexity: run scripts/build-llama-cpp.sh or set GLASSBOX_LLAMA_CPP";
  if (!shipped("tiny-lm")) GTEST_SKIP() << "models/tiny-lm is not here";
  const fs::path dir = fresh_temp_dir("perplexity-llamacpp");
  const fs::path text = dir / "text.txt";
  std::ofstream(text) << kText;
  const int n_ctx = 64;
  const std::string f32 = (dir / "tiny-f32.gguf").string(), q8 = (dir / "tiny-q8_0.gguf").string(),
                    q8_back = (dir / "tiny-q8_0-f32.gguf").string();
  save_gguf(Model::load(source_path("models/tiny-lm")), f32, {});
  run_tool(quoted(bin + "/llama-quantize") + " " + quoted(f32) + " " + quoted(q8) + " Q8_0 1", dir);
  run_tool(quoted(bin + "/llama-quantize") + " --allow-requantize " + quoted(q8) + " " + quoted(q8_back) + " F32 1",
           dir);

  for (const auto& [file, reference] : {std::pair{f32, f32}, std::pair{q8, q8_back}}) {
    SCOPED_TRACE(file);
    const CliRun g = run_glassbox("run -m " + quoted(file) + " --text-file " + quoted(text) + " --llama-ctx " +
                                      std::to_string(n_ctx) + " --json",
                                  dir);
    ASSERT_EQ(g.code, 0) << g.err;
    const nlohmann::json j = g.js();
    EXPECT_EQ(j["protocol"], "llama-perplexity");
    EXPECT_GE(j["windows"].get<int>(), 3);  // enough text for several chunks
    const double ours = j["loss"].get<double>();
    const double theirs = llama_perplexity(bin, reference, text, n_ctx, dir);
    EXPECT_NEAR(ours, theirs, kAgreeNats) << "glassbox " << ours << " nats, llama-perplexity " << theirs;
    // A trained model on real text: far from uniform (ln 2048 = 7.6), so agreement is not vacuous.
    EXPECT_LT(ours, 6.0);
  }
  fs::remove_all(dir);
}

TEST(PerplexityCli, LlamaCtxNeedsATextFileAndEnoughTokens) {
  if (!shipped("tiny-lm")) GTEST_SKIP() << "models/tiny-lm is not here";
  const fs::path dir = fresh_temp_dir("perplexity-cli");
  std::ofstream(dir / "short.txt") << "Only a few words here.";
  const std::string model = quoted(source_path("models/tiny-lm"));
  const CliRun no_file = run_glassbox("run -m " + model + " 'hello' --llama-ctx 64", dir);
  EXPECT_NE(no_file.code, 0);
  EXPECT_NE(no_file.err.find("--text-file"), std::string::npos) << no_file.err;
  const CliRun short_text = run_glassbox("run -m " + model + " --text-file short.txt --llama-ctx 64", dir);
  EXPECT_EQ(short_text.code, 1);
  EXPECT_NE(short_text.err.find("at least 128 tokens"), std::string::npos) << short_text.err;
  const CliRun long_ctx = run_glassbox("run -m " + model + " --text-file short.txt --llama-ctx 4096", dir);
  EXPECT_EQ(long_ctx.code, 1);
  EXPECT_NE(long_ctx.err.find("model's context"), std::string::npos) << long_ctx.err;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glassbox
