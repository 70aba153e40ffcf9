// Bit-exact dequantisation against llama.cpp. tests/data/quant holds, per
// type, a GGUF with a tensor "q" (blocks written by llama.cpp's own
// `llama-quantize --pure`) and "f32" (the same rows as `llama-quantize
// --allow-requantize ... F32` dequantised them), plus two mixture files
// (Q4_K_M, Q5_K_M: every tensor's first rows in the type llama.cpp chose, each
// followed by its dequantisation "<name>.f32"). glassbox must reproduce every
// float bit for bit.
//
// With GLASSBOX_LLAMA_CPP=<llama.cpp bin dir> (scripts/make-quant-fixtures.sh)
// the Regenerate test builds a small random F32 llama GGUF with glassbox's
// writer, quantises it with llama-quantize to every type, compares glassbox's
// dequantisation of the whole quantised files with llama.cpp's, and rewrites
// the fixtures.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>

#include "glassbox/gguf.h"
#include "io_test_util.h"

namespace glassbox {
namespace {

const std::string kDir = std::string(GLASSBOX_TEST_DATA) + "/quant";

struct TypeCase {
  const char* llama_name;  // llama-quantize's type argument
  DType dtype;
};
const TypeCase kTypes[] = {{"Q4_0", DType::Q4_0}, {"Q4_1", DType::Q4_1}, {"Q5_0", DType::Q5_0},
                           {"Q5_1", DType::Q5_1}, {"Q8_0", DType::Q8_0}, {"Q2_K", DType::Q2_K},
                           {"Q3_K", DType::Q3_K}, {"Q4_K", DType::Q4_K}, {"Q5_K", DType::Q5_K},
                           {"Q6_K", DType::Q6_K}};
const char* kMixtures[] = {"Q4_K_M", "Q5_K_M"};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<float> dequant(const RawTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  to_f32(out.data(), t.data, t.dtype, t.numel());
  return out;
}

// Index of the first float whose bits differ, or -1.
int64_t first_mismatch(const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (std::memcmp(a + i, b + i, 4) != 0) return i;
  return -1;
}

void expect_bit_exact(const RawTensor& q, const RawTensor& ref, const std::string& what) {
  ASSERT_EQ(ref.dtype, DType::F32) << what;
  ASSERT_EQ(q.shape, ref.shape) << what;
  const std::vector<float> got = dequant(q);
  const auto* want = static_cast<const float*>(ref.data);
  const int64_t bad = first_mismatch(got.data(), want, q.numel());
  EXPECT_EQ(bad, -1) << what << " (" << dtype_name(q.dtype) << "): element " << bad << " is "
                     << (bad >= 0 ? got[size_t(bad)] : 0.f) << ", llama.cpp has " << (bad >= 0 ? want[bad] : 0.f);
}

TEST(QuantGolden, EveryTypeMatchesLlamaCppBitForBit) {
  for (const TypeCase& tc : kTypes) {
    const std::string path = kDir + "/" + lower(tc.llama_name) + ".gguf";
    SCOPED_TRACE(path);
    const GgufFile f = GgufFile::open(path);
    const RawTensor* q = f.find("q");
    const RawTensor* ref = f.find("f32");
    ASSERT_TRUE(q && ref);
    EXPECT_EQ(q->dtype, tc.dtype);
    expect_bit_exact(*q, *ref, tc.llama_name);
    // Not vacuous: the rows hold many distinct, non-zero values of both signs.
    const auto* w = static_cast<const float*>(ref->data);
    int distinct = 0, neg = 0;
    for (int64_t i = 1; i < ref->numel(); ++i) {
      distinct += w[i] != w[i - 1];
      neg += w[i] < 0;
    }
    EXPECT_GT(distinct, ref->numel() / 4);
    EXPECT_GT(neg, ref->numel() / 8);
  }
}

TEST(QuantGolden, MixturesMatchLlamaCppBitForBit) {
  for (const char* mix : kMixtures) {
    const std::string path = kDir + "/" + lower(mix) + ".gguf";
    SCOPED_TRACE(path);
    const GgufFile f = GgufFile::open(path);
    std::set<DType> seen;
    int compared = 0;
    for (const RawTensor& t : f.tensors()) {
      if (t.name.size() > 4 && t.name.compare(t.name.size() - 4, 4, ".f32") == 0) continue;
      const RawTensor* ref = f.find(t.name + ".f32");
      ASSERT_TRUE(ref) << t.name;
      expect_bit_exact(t, *ref, t.name);
      seen.insert(t.dtype);
      ++compared;
    }
    EXPECT_GE(compared, 8);
    // A mixture is a mixture: llama.cpp keeps some tensors (attn_v, ffn_down, output) at a higher type.
    EXPECT_GE(seen.size(), 2u);
  }
}

TEST(QuantGolden, TruncatedQuantisedInputIsRefused) {
  float out[256];
  uint8_t blk[210] = {};
  EXPECT_TRUE(test::ThrowsError([&] { to_f32(out, blk, DType::Q6_K, 128); }, {"Q6_K", "multiple of 256"}));
  EXPECT_TRUE(test::ThrowsError([&] { to_f32(out, blk, DType::Q5_1, 48); }, {"Q5_1", "multiple of 32"}));
}

// ---------------------------------------------------------------- regeneration

// A 1-layer llama with d_model 256 (one K super-block per row), random
// weights whose rows have different scales and shapes: centred, all-positive
// (exercises the mins), heavy-tailed, and one all-zero row.
void write_source_model(const std::string& path) {
  constexpr int64_t d = 256, ff = 512, V = 64;
  std::mt19937 rng(1234);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<std::vector<float>> store;
  GgufWriter w;
  w.set("general.architecture", gguf_str("llama"));
  w.set("general.name", gguf_str("glassbox-quant-fixture"));
  w.set("llama.context_length", gguf_u32(64));
  w.set("llama.embedding_length", gguf_u32(d));
  w.set("llama.block_count", gguf_u32(1));
  w.set("llama.feed_forward_length", gguf_u32(ff));
  w.set("llama.attention.head_count", gguf_u32(4));
  w.set("llama.attention.head_count_kv", gguf_u32(4));
  w.set("llama.attention.layer_norm_rms_epsilon", gguf_f32(1e-5f));
  w.set("llama.rope.dimension_count", gguf_u32(64));
  w.set("llama.vocab_size", gguf_u32(V));
  std::vector<std::string> tokens;
  for (int i = 0; i < V; ++i) {
    std::string t = "t";  // (not "t" + to_string: GCC 12's -Wrestrict false positive)
    t += std::to_string(i);
    tokens.push_back(t);
  }
  w.set("tokenizer.ggml.model", gguf_str("gpt2"));
  w.set("tokenizer.ggml.tokens", gguf_str_array(tokens));
  auto add = [&](const std::string& name, std::vector<int64_t> shape) {
    const int64_t rows = shape.size() == 2 ? shape[0] : 1, cols = shape.back();
    std::vector<float> x(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) {
      const float scale = 0.02f * std::exp2(float(r % 7) - 3.f);
      for (int64_t c = 0; c < cols; ++c) {
        float v = normal(rng) * scale;
        if (r % 5 == 1) v = std::fabs(v) + 0.5f * scale;            // all positive
        if (r % 5 == 2 && c % 37 == 0) v *= 12.f;                   // outliers
        if (r % 5 == 3) v = (c % 64 < 32 ? 0.1f : 1.f) * v;         // sub-blocks of very different range
        if (shape.size() == 1) v = 1.f + 0.1f * normal(rng);        // norm weights
        x[size_t(r * cols + c)] = v;
      }
      if (shape.size() == 2 && r == 4) std::fill(x.begin() + r * cols, x.begin() + (r + 1) * cols, 0.f);
    }
    store.push_back(std::move(x));
    w.tensors.push_back({name, DType::F32, shape, store.back().data(), store.back().size() * 4});
  };
  add("token_embd.weight", {V, d});
  add("blk.0.attn_norm.weight", {d});
  add("blk.0.attn_q.weight", {d, d});
  add("blk.0.attn_k.weight", {d, d});
  add("blk.0.attn_v.weight", {d, d});
  add("blk.0.attn_output.weight", {d, d});
  add("blk.0.ffn_norm.weight", {d});
  add("blk.0.ffn_gate.weight", {ff, d});
  add("blk.0.ffn_up.weight", {ff, d});
  add("blk.0.ffn_down.weight", {d, ff});
  add("output_norm.weight", {d});
  add("output.weight", {V, d});
  w.save(path);
}

void run(const std::string& cmd) { ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd; }

// The first `rows` rows of t as a TensorToWrite over its mapped bytes.
TensorToWrite head_rows(const RawTensor& t, const std::string& name, int64_t rows) {
  const int64_t cols = t.shape.back();
  return {name, t.dtype, {rows, cols}, t.data, dtype_nbytes(t.dtype, rows * cols)};
}

TEST(QuantGolden, Regenerate) {
  const char* bin = std::getenv("GLASSBOX_LLAMA_CPP");
  if (!bin || !*bin) GTEST_SKIP() << "set GLASSBOX_LLAMA_CPP to llama.cpp's bin dir (scripts/make-quant-fixtures.sh)";
  const std::string quantize = std::string(bin) + "/llama-quantize";
  ASSERT_TRUE(std::filesystem::exists(quantize)) << quantize;
  test::TempDir tmp;
  const std::string src = tmp.file("src-f32.gguf");
  write_source_model(src);
  std::filesystem::create_directories(kDir);

  auto quantise = [&](const std::string& type, bool pure) {
    const std::string q = tmp.file(type + ".gguf"), back = tmp.file(type + "-f32.gguf");
    run(quantize + (pure ? " --pure" : "") + " " + src + " " + q + " " + type + " 1 >" + tmp.file("log") + " 2>&1");
    run(quantize + " --allow-requantize " + q + " " + back + " F32 1 >" + tmp.file("log") + " 2>&1");
    return std::make_pair(q, back);
  };
  // Whole files: every tensor of every type must match.
  auto compare_files = [&](const GgufFile& qf, const GgufFile& bf) {
    for (const RawTensor& t : qf.tensors()) {
      const RawTensor* ref = bf.find(t.name);
      ASSERT_TRUE(ref) << t.name;
      expect_bit_exact(t, *ref, qf.path() + ":" + t.name);
    }
  };

  for (const TypeCase& tc : kTypes) {
    const auto [q, back] = quantise(tc.llama_name, true);
    const GgufFile qf = GgufFile::open(q), bf = GgufFile::open(back);
    ASSERT_EQ(qf.find("blk.0.ffn_up.weight")->dtype, tc.dtype);
    compare_files(qf, bf);
    GgufWriter out;
    out.set("glassbox.fixture", gguf_str(std::string("llama-quantize --pure ") + tc.llama_name +
                                         ", then --allow-requantize F32; rows 0-7 of blk.0.ffn_up.weight"));
    out.tensors.push_back(head_rows(*qf.find("blk.0.ffn_up.weight"), "q", 8));
    out.tensors.push_back(head_rows(*bf.find("blk.0.ffn_up.weight"), "f32", 8));
    out.save(kDir + "/" + lower(tc.llama_name) + ".gguf");
  }
  for (const char* mix : kMixtures) {
    const auto [q, back] = quantise(mix, false);
    const GgufFile qf = GgufFile::open(q), bf = GgufFile::open(back);
    compare_files(qf, bf);
    GgufWriter out;
    out.set("glassbox.fixture", gguf_str(std::string("llama-quantize ") + mix +
                                         ", then --allow-requantize F32; rows 0-1 of every matrix"));
    for (const RawTensor& t : qf.tensors()) {
      if (t.shape.size() != 2) continue;
      out.tensors.push_back(head_rows(t, t.name, 2));
      out.tensors.push_back(head_rows(*bf.find(t.name), t.name + ".f32", 2));
    }
    out.save(kDir + "/" + lower(mix) + ".gguf");
  }
}

}  // namespace
}  // namespace glassbox
