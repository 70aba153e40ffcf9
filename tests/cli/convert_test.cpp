// glassbox convert / save_gguf: a checkpoint written as llama.cpp GGUF loads
// back with the same config, weights' computation (logits) and tokenizer;
// families without a GGUF form are refused by name; llama.cpp itself loads the
// file when a build of it is around (skipped, visibly, otherwise).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "cli_util.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/gguf_export.h"
#include "glassbox/model.h"
#include "glassbox/tokenizer.h"

namespace glassbox {
namespace {

using namespace cli_test;

std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

std::vector<int32_t> test_tokens(int n, int vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) t[size_t(i)] = int32_t((i * 7919 + 3) % vocab);
  return t;
}

// Largest |a - b| over the logits of the two models on the same tokens, and the largest |a|.
std::pair<float, float> logits_gap(const Model& a, const Model& b) {
  const Batch batch = Batch::from_rows({test_tokens(12, a.config().d_vocab), test_tokens(12, a.config().d_vocab - 5)});
  Engine ea(a), eb(b);
  const Tensor la = ea.logits(batch), lb = eb.logits(batch);
  EXPECT_EQ(la.shape, lb.shape);
  const float *pa = la.f32(), *pb = lb.f32();
  float gap = 0, scale = 0;
  for (int64_t i = 0; i < la.numel(); ++i) {
    gap = std::max(gap, std::abs(pa[i] - pb[i]));
    scale = std::max(scale, std::abs(pa[i]));
  }
  return {gap, scale};
}

void expect_same_config(const Config& a, const Config& b) {
  EXPECT_EQ(a.n_layers, b.n_layers);
  EXPECT_EQ(a.d_model, b.d_model);
  EXPECT_EQ(a.n_heads, b.n_heads);
  EXPECT_EQ(a.n_kv_heads, b.n_kv_heads);
  EXPECT_EQ(a.d_mlp, b.d_mlp);
  EXPECT_EQ(a.d_vocab, b.d_vocab);
  EXPECT_EQ(a.n_ctx, b.n_ctx);
  EXPECT_EQ(a.norm, b.norm);
  EXPECT_EQ(a.positional, b.positional);
  EXPECT_EQ(a.act, b.act);
  EXPECT_EQ(a.gated_mlp, b.gated_mlp);
  EXPECT_EQ(a.tied_embeddings, b.tied_embeddings);
  EXPECT_FLOAT_EQ(a.norm_eps, b.norm_eps);
  EXPECT_FLOAT_EQ(a.rope_theta, b.rope_theta);
}

class ConvertRoundTrip : public ::testing::TestWithParam<std::string> {};

// F32: the same computation, so the same logits up to summation order (the
// GGUF layouts are read through other strides than the originals).
TEST_P(ConvertRoundTrip, F32GivesTheSameLogits) {
  const fs::path dir = fresh_temp_dir("convert-f32");
  const std::string src = GetParam();
  const Model original = Model::load(fixture(src));
  const std::string out = (dir / "model.gguf").string();
  save_gguf(original, out);
  const Model back = Model::load(out);
  expect_same_config(original.config(), back.config());
  const auto [gap, scale] = logits_gap(original, back);
  EXPECT_GT(scale, 0.f);
  EXPECT_LE(gap, 1e-5f * std::max(1.f, scale)) << src;
  fs::remove_all(dir);
}

// F16 matrices: close (equal when the source was F16 already, as llama-tied
// is); the file is about half the size and converted at load.
TEST_P(ConvertRoundTrip, F16IsCloseAndSmaller) {
  const fs::path dir = fresh_temp_dir("convert-f16");
  const Model original = Model::load(fixture(GetParam()));
  GgufExportOptions opt;
  opt.dtype = DType::F16;
  save_gguf(original, (dir / "f16.gguf").string(), opt);
  save_gguf(original, (dir / "f32.gguf").string());
  EXPECT_LT(fs::file_size(dir / "f16.gguf"), fs::file_size(dir / "f32.gguf") * 6 / 10);
  const Model back = Model::load((dir / "f16.gguf").string());
  EXPECT_GT(back.converted_bytes(), 0u);  // F16 tensors converted at load
  const auto [gap, scale] = logits_gap(original, back);
  EXPECT_LE(gap, 1e-2f * std::max(1.f, scale));
  fs::remove_all(dir);
}

// gpt2 (Conv1D, fused c_attn), llama (GQA, sharded, rope theta 5e5, untied),
// llama-tied, and llama.cpp's own files written again.
INSTANTIATE_TEST_SUITE_P(Families, ConvertRoundTrip,
                         ::testing::Values("gpt2", "llama", "llama-tied", "gguf-gpt2/model.gguf",
                                           "gguf-llama/model.gguf"),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.find('/'));
                           for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return n;
                         });

TEST(Convert, WritesWhatLlamaCppReads) {
  const fs::path dir = fresh_temp_dir("convert-keys");
  const Model llama = Model::load(fixture("llama"));
  save_gguf(llama, (dir / "m.gguf").string());
  const GgufFile f = GgufFile::open((dir / "m.gguf").string());
  EXPECT_EQ(f.kv("general.architecture").as_string("a"), "llama");
  EXPECT_EQ(int(f.kv("llama.attention.head_count_kv").as_uint("k")), llama.config().n_kv_heads);
  EXPECT_EQ(int(f.kv("llama.block_count").as_uint("k")), llama.config().n_layers);
  ASSERT_NE(f.find("blk.0.attn_q.weight"), nullptr);
  ASSERT_NE(f.find("output.weight"), nullptr);  // untied
  // attn_q rows are permuted for llama.cpp's adjacent-pair rotation: row 1 of
  // head 0 in the file is row d_head/2 of the Hugging Face matrix.
  const RawTensor* q = f.find("blk.0.attn_q.weight");
  const int64_t d = llama.config().d_model, dh = llama.config().d_head;
  const float* file_row1 = reinterpret_cast<const float*>(q->data) + d;
  const HeadProj& W_Q = llama.weights().layers[0].W_Q;
  for (int64_t i = 0; i < d; ++i) EXPECT_EQ(file_row1[i], W_Q.w[i * W_Q.rs + (dh / 2) * W_Q.cs]) << i;

  const Model gpt2 = Model::load(fixture("gpt2"));
  save_gguf(gpt2, (dir / "g.gguf").string());
  const GgufFile g = GgufFile::open((dir / "g.gguf").string());
  EXPECT_EQ(g.kv("general.architecture").as_string("a"), "gpt2");
  EXPECT_NE(g.find("blk.0.attn_qkv.weight"), nullptr);
  EXPECT_NE(g.find("blk.0.attn_qkv.bias"), nullptr);
  EXPECT_EQ(g.find("output.weight"), nullptr);  // tied: llama.cpp reuses token_embd
  fs::remove_all(dir);
}

TEST(Convert, TokenizerRoundTrips) {
  if (!shipped("tiny-lm")) GTEST_SKIP() << "models/tiny-lm is not here";
  const fs::path dir = fresh_temp_dir("convert-tok");
  const Model m = Model::load(source_path("models/tiny-lm"));
  ASSERT_NE(m.tokenizer(), nullptr);
  save_gguf(m, (dir / "t.gguf").string());
  const Model back = Model::load((dir / "t.gguf").string());
  ASSERT_NE(back.tokenizer(), nullptr);
  const Tokenizer &a = *m.tokenizer(), &b = *back.tokenizer();
  EXPECT_EQ(a.vocab_size(), b.vocab_size());
  EXPECT_EQ(a.bos_id(), b.bos_id());
  EXPECT_EQ(a.eos_id(), b.eos_id());
  for (const char* text : {"Once upon a time, there was a little girl named Lily.",
                           "  numbers 12345 and punctuation!? <|endoftext|> \n\n tabs\tand \xc3\xa9t\xc3\xa9"})
    EXPECT_EQ(a.encode(text), b.encode(text)) << text;
  fs::remove_all(dir);
}

TEST(Convert, ArchitecturesWithoutAGgufFormAreRefusedByName) {
  const fs::path dir = fresh_temp_dir("convert-refuse");
  const auto error_of = [&](const std::string& fx) {
    try {
      save_gguf(Model::load(fixture(fx)), (dir / "x.gguf").string());
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(error_of("neox").find("parallel"), std::string::npos) << error_of("neox");
  EXPECT_NE(error_of("attn-only").find("attention-only"), std::string::npos) << error_of("attn-only");
  EXPECT_NE(error_of("qwen2").find("biases"), std::string::npos) << error_of("qwen2");
  EXPECT_FALSE(fs::exists(dir / "x.gguf"));  // nothing half-written
  fs::remove_all(dir);
}

TEST(ConvertCli, WritesJsonSummaryAndRejectsBadDtype) {
  const fs::path dir = fresh_temp_dir("convert-cli");
  const CliRun r = run_glassbox("convert " + quoted(fixture("gpt2")) + " out.gguf --dtype f16 --json", dir);
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = r.js();
  EXPECT_EQ(j["architecture"], "gpt2");
  EXPECT_EQ(j["dtype"], "f16");
  EXPECT_EQ(j["bytes"].get<uint64_t>(), fs::file_size(dir / "out.gguf"));
  const CliRun info = run_glassbox("info --model out.gguf --json", dir);
  ASSERT_EQ(info.code, 0) << info.err;
  const CliRun bad = run_glassbox("convert " + quoted(fixture("gpt2")) + " bad.gguf --dtype q3", dir);
  EXPECT_NE(bad.code, 0);
  EXPECT_FALSE(fs::exists(dir / "bad.gguf"));
  const CliRun missing = run_glassbox("convert no-such-model x.gguf", dir);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no-such-model"), std::string::npos) << missing.err;
  fs::remove_all(dir);
}

TEST(ConvertLlamaCpp, LlamaBenchLoadsAndRunsTheConvertedFiles) {
  const std::string bin = llama_cpp_bin();
  if (bin.empty())
    GTEST_SKIP() << "no llama.cpp build: run scripts/build-llama-cpp.sh or set GLASSBOX_LLAMA_CPP";
  if (!shipped("tiny-lm")) GTEST_SKIP() << "models/tiny-lm is not here";
  const fs::path dir = fresh_temp_dir("convert-llamacpp");
  // tiny-lm: GPT-2 layout with a BPE tokenizer (llama.cpp needs a vocabulary
  // to load a model). The 'llama' architecture is run by bench/compare_llama.sh.
  const Model tiny = Model::load(source_path("models/tiny-lm"));
  for (const char* dtype : {"f32", "f16"}) {
    const std::string file = (dir / (std::string("tiny-") + dtype + ".gguf")).string();
    GgufExportOptions opt;
    opt.dtype = from_string<DType>(dtype);
    save_gguf(tiny, file, opt);
    const std::string cmd = quoted(bin + "/llama-bench") + " -m " + quoted(file) +
                            " -p 16 -n 0 -r 1 -t 1 -o json > " + quoted(dir / "out.json") + " 2> " +
                            quoted(dir / "err.txt");
    const int status = std::system(cmd.c_str());
    EXPECT_EQ(status, 0) << dtype << ": " << slurp(dir / "err.txt");
    const auto j = nlohmann::json::parse(slurp(dir / "out.json"), nullptr, false);
    ASSERT_TRUE(j.is_array() && !j.empty()) << slurp(dir / "out.json");
    EXPECT_EQ(j[0]["n_prompt"], 16);
    EXPECT_GT(j[0]["avg_ts"].get<double>(), 0.0);
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glassbox
