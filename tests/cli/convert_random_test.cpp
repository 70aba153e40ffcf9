// glassbox convert --random / write_random_llama_gguf at a tiny shape: the
// file holds llama.cpp's Q4_K_M mixture; what glassbox loads (kept quantised,
// Q/K through their row map) equals the file's blocks decoded here by an
// independent decoder; the values have the spread the writer aimed for; a
// forward is finite; the synthetic tokenizer round-trips; a failed write
// leaves nothing; llama.cpp loads the file when a build is around. The
// 8B-shaped run is bench/large_model.sh.
// ggml dequantises with separate roundings (no FMA); so does the decoder here.
#pragma GCC optimize("fp-contract=off")

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>

#include "cli_util.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/gguf_random.h"
#include "glassbox/model.h"
#include "glassbox/tokenizer.h"
#include "io/gguf_streamed.h"
#include "steering/llama_cpp_util.h"

namespace glassbox {
namespace {

using namespace cli_test;

constexpr const char* kTinySpec = "llama3-8b,layers=2,d_model=256,heads=4,kv_heads=2,d_mlp=512,vocab=1024,ctx=64";

float f16(const uint8_t* p) { return f16_to_f32(uint16_t(p[0] | (p[1] << 8))); }

// One 256-value block, from ggml-common.h's layouts (not glassbox's decoder).
void decode_q4_k(const uint8_t* b, float* y) {
  const float d = f16(b), dmin = f16(b + 2);
  const uint8_t* s = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 8; ++j) {
    const int sc = j < 4 ? s[j] & 63 : (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    const int m = j < 4 ? s[j + 4] & 63 : (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    const float dl = d * float(sc), ml = dmin * float(m);
    for (int l = 0; l < 32; ++l) {  // sub-block j: nibble j % 2 of bytes 32 * (j / 2) + l
      const int nib = (q[32 * (j / 2) + l] >> (4 * (j % 2))) & 15;
      y[32 * j + l] = dl * float(nib) - ml;
    }
  }
}

void decode_q6_k(const uint8_t* b, float* y) {
  const uint8_t *ql = b, *qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = f16(b + 208);
  for (int i = 0; i < 256; ++i) {
    const int half = i / 128, r = i % 128, quarter = r / 32, l = r % 32;
    const uint8_t lo = ql[64 * half + l + 32 * (quarter % 2)];
    const int low = quarter < 2 ? lo & 15 : lo >> 4;
    const int high = (qh[32 * half + l] >> (2 * quarter)) & 3;
    const int q = (low | (high << 4)) - 32;
    y[i] = d * float(sc[8 * half + 2 * quarter + l / 16]) * float(q);
  }
}

std::vector<float> decode_row(const RawTensor& t, int64_t row) {
  const int64_t n = t.shape[1];
  const size_t bytes = dtype_nbytes(t.dtype, n);
  const uint8_t* p = static_cast<const uint8_t*>(t.data) + size_t(row) * bytes;
  std::vector<float> y(static_cast<size_t>(n));
  for (int64_t b = 0; b < n / 256; ++b) {
    if (t.dtype == DType::Q4_K) decode_q4_k(p + b * 144, y.data() + b * 256);
    else if (t.dtype == DType::Q6_K) decode_q6_k(p + b * 210, y.data() + b * 256);
    else ADD_FAILURE() << t.name << ": unexpected dtype " << to_string(t.dtype);
  }
  return y;
}

// Every row of a file tensor against glassbox's dequantised logical rows;
// stored_row maps a logical row to the file's row. Returns the values' std.
double expect_rows_equal(const RawTensor& t, const QuantMat& q, const std::function<int64_t(int64_t)>& stored_row) {
  EXPECT_EQ(q.dtype, t.dtype) << t.name;
  std::vector<float> mine(size_t(q.row_len));
  double sum = 0, sum2 = 0;
  int64_t bad = 0;
  for (int64_t r = 0; r < q.n_rows; ++r) {
    q.dequantize_row(r, mine.data());
    const std::vector<float> ref = decode_row(t, stored_row(r));
    for (int64_t i = 0; i < q.row_len; ++i) {
      bad += std::memcmp(&mine[size_t(i)], &ref[size_t(i)], sizeof(float)) != 0;
      sum += ref[size_t(i)];
      sum2 += double(ref[size_t(i)]) * ref[size_t(i)];
    }
  }
  EXPECT_EQ(bad, 0) << t.name << ": values that differ from the independent decode";
  const double n = double(q.n_rows * q.row_len), mean = sum / n;
  EXPECT_LT(std::fabs(mean), 0.1 * std::sqrt(sum2 / n)) << t.name << ": values are not centred";
  return std::sqrt(sum2 / n - mean * mean);
}

struct TinyFile {
  fs::path dir = fresh_temp_dir("convert-random");
  std::string path = (dir / "tiny-q4km.gguf").string();
  TinyFile() { write_random_llama_gguf(parse_random_llama_spec(kTinySpec), path); }
  ~TinyFile() { fs::remove_all(dir); }
};

TEST(ConvertRandom, Q4KMMixtureAsLlamaCppChoosesIt) {
  // llama.cpp's Llama-3-8B Q4_K_M: attn_v and ffn_down are Q6_K in these 16 of 32 layers.
  const std::set<int> more_bits = {0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31};
  for (int l = 0; l < 32; ++l) {
    const std::string blk = "blk." + std::to_string(l) + ".";
    const DType want = more_bits.count(l) ? DType::Q6_K : DType::Q4_K;
    EXPECT_EQ(q4_k_m_type(blk + "attn_v.weight", 32), want) << l;
    EXPECT_EQ(q4_k_m_type(blk + "ffn_down.weight", 32), want) << l;
    for (const char* t : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
      EXPECT_EQ(q4_k_m_type(blk + t + ".weight", 32), DType::Q4_K) << blk << t;
    EXPECT_EQ(q4_k_m_type(blk + "attn_norm.weight", 32), DType::F32);
  }
  EXPECT_EQ(q4_k_m_type("output.weight", 32), DType::Q6_K);
  EXPECT_EQ(q4_k_m_type("token_embd.weight", 32), DType::Q4_K);
}

TEST(ConvertRandom, BlocksDependOnlyOnTheirIndex) {
  for (DType t : {DType::Q4_K, DType::Q6_K}) {
    const size_t bytes = dtype_nbytes(t, 256);
    std::vector<uint8_t> whole(10 * bytes), parts(10 * bytes);
    random_quant_blocks(t, 0.05f, 7, 100, 10, whole.data());
    random_quant_blocks(t, 0.05f, 7, 100, 3, parts.data());
    random_quant_blocks(t, 0.05f, 7, 103, 7, parts.data() + 3 * bytes);
    EXPECT_EQ(whole, parts) << to_string(t);
    random_quant_blocks(t, 0.05f, 8, 100, 10, parts.data());
    EXPECT_NE(whole, parts) << to_string(t) << ": the seed changes nothing";
  }
}

TEST(ConvertRandom, LoadsExactlyWhatItWroteAndRunsFinite) {
  const TinyFile file;
  const GgufFile f = GgufFile::open(file.path);
  EXPECT_EQ(f.kv("general.file_type").as_uint("t"), 15u);  // MOSTLY_Q4_K_M
  EXPECT_EQ(f.find("token_embd.weight")->dtype, DType::Q4_K);
  EXPECT_EQ(f.find("output.weight")->dtype, DType::Q6_K);
  EXPECT_EQ(f.find("blk.0.attn_v.weight")->dtype, DType::Q4_K);  // 2 layers: use_more_bits picks layer 1
  EXPECT_EQ(f.find("blk.1.attn_v.weight")->dtype, DType::Q6_K);
  EXPECT_EQ(f.find("blk.1.ffn_down.weight")->dtype, DType::Q6_K);
  EXPECT_EQ(f.find("blk.0.ffn_norm.weight")->dtype, DType::F32);

  const Model m = Model::load(file.path);
  const Config& c = m.config();
  ASSERT_EQ(c.n_layers, 2);
  ASSERT_EQ(c.d_model, 256);
  ASSERT_EQ(c.n_kv_heads, 2);
  ASSERT_EQ(c.d_vocab, 1024);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.f);
  const Weights& w = m.weights();
  ASSERT_NE(w.W_E_q, nullptr) << "token_embd was not kept quantised";
  const auto same = [](int64_t r) { return r; };
  const double emb = expect_rows_equal(*f.find("token_embd.weight"), *w.W_E_q, same);
  EXPECT_NEAR(emb, 1.0, 0.3);
  ASSERT_NE(w.W_U.q, nullptr);
  const double out = expect_rows_equal(*f.find("output.weight"), *w.W_U.q, same);
  EXPECT_NEAR(out, 1 / 16.0, 0.3 / 16);
  const int64_t dh = c.d_head, half = dh / 2;
  for (int l = 0; l < 2; ++l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    const std::string blk = "blk." + std::to_string(l) + ".";
    // Q rows: llama.cpp's permutation, undone by the row map (logical s*half + i = stored 2i + s).
    ASSERT_NE(lw.W_Q.q, nullptr);
    const double q = expect_rows_equal(*f.find(blk + "attn_q.weight"), *lw.W_Q.q, [&](int64_t r) {
      const int64_t h = r / dh, j = r % dh;
      return h * dh + (j < half ? 2 * j : 2 * (j - half) + 1);
    });
    EXPECT_NEAR(q, 1 / 16.0, 0.3 / 16);
    ASSERT_NE(lw.W_V.q, nullptr);
    expect_rows_equal(*f.find(blk + "attn_v.weight"), *lw.W_V.q, same);
    ASSERT_NE(lw.W_out.q, nullptr);
    const double down = expect_rows_equal(*f.find(blk + "ffn_down.weight"), *lw.W_out.q, same);
    EXPECT_NEAR(down, 1 / std::sqrt(512.0), 0.3 / std::sqrt(512.0));
  }

  ASSERT_NE(m.tokenizer(), nullptr);
  const Tokenizer& tok = *m.tokenizer();
  EXPECT_EQ(tok.vocab_size(), 1024);
  const std::string text = "The quick brown fox, 42 times!\nok";
  const std::vector<int32_t> ids = tok.encode(text);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[0], tok.bos_id());
  EXPECT_LT(ids.size(), text.size()) << "no merges applied";
  EXPECT_EQ(tok.decode(ids, true), text);

  Engine e(m);
  const Tensor logits = e.logits(Batch::single(ids));
  double sum2 = 0;
  for (int64_t i = 0; i < logits.numel(); ++i) {
    ASSERT_TRUE(std::isfinite(logits.f32()[i])) << i;
    sum2 += double(logits.f32()[i]) * logits.f32()[i];
  }
  const double rms = std::sqrt(sum2 / double(logits.numel()));
  EXPECT_GT(rms, 0.1);
  EXPECT_LT(rms, 10.0);
}

TEST(ConvertRandom, CliWritesItAndRefusesBadSpecs) {
  const fs::path dir = fresh_temp_dir("convert-random-cli");
  const CliRun ok = run_glassbox(std::string("convert --random ") + kTinySpec + " tiny.gguf --json", dir);
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.js()["bytes"].get<uint64_t>(), fs::file_size(dir / "tiny.gguf"));
  const CliRun shape = run_glassbox("convert --random llama3-8b,d_model=100 bad.gguf", dir);
  EXPECT_NE(shape.code, 0);
  EXPECT_NE(shape.err.find("d_model 100 is not a multiple of 256"), std::string::npos) << shape.err;
  const CliRun key = run_glassbox("convert --random llama3-8b,layer=2 bad.gguf", dir);
  EXPECT_NE(key.err.find("unknown key 'layer'"), std::string::npos) << key.err;
  const CliRun dtype = run_glassbox("convert --random llama3-8b --dtype f16 bad.gguf", dir);
  EXPECT_NE(dtype.err.find("--random writes q4_k_m"), std::string::npos) << dtype.err;
  EXPECT_FALSE(fs::exists(dir / "bad.gguf"));
  fs::remove_all(dir);
}

// The large-model path's patching: --first-layer sweeps only the last layers,
// and their rows are the full sweep's.
TEST(ConvertRandom, PatchFromALayerOnIsTheFullSweepsTail) {
  const fs::path dir = fresh_temp_dir("convert-random-patch");
  const std::string spec = "llama3-8b,layers=3,d_model=256,heads=4,kv_heads=2,d_mlp=256,vocab=600";
  ASSERT_EQ(run_glassbox("convert --random " + spec + " m.gguf", dir).code, 0);
  const std::string pair =
      "patch -m m.gguf --clean-tokens 291,306,415,333,298 --corrupt-tokens 291,306,415,533,298 --answer '#366' "
      "--wrong '#478' --sites resid_pre --json";
  const CliRun full = run_glassbox(pair, dir), tail = run_glassbox(pair + " --first-layer 1", dir);
  ASSERT_EQ(full.code, 0) << full.err;
  ASSERT_EQ(tail.code, 0) << tail.err;
  const nlohmann::json f = full.js()["grids"][0], t = tail.js()["grids"][0];
  EXPECT_EQ(f["n_layers"], 3);
  EXPECT_EQ(t["n_layers"], 2);
  EXPECT_EQ(t["first_layer"], 1);
  EXPECT_FALSE(f.contains("first_layer"));
  ASSERT_EQ(t["values"].size(), 2u * 5u);
  for (size_t i = 0; i < 10; ++i)
    EXPECT_NEAR(t["values"][i].get<double>(), f["values"][5 + i].get<double>(), 1e-5) << i;
  EXPECT_LT(t["forward_runs"].get<int>(), f["forward_runs"].get<int>());
  const CliRun bad = run_glassbox(pair + " --first-layer 3", dir);
  EXPECT_NE(bad.err.find("first_layer 3 is out of range (3 layers)"), std::string::npos) << bad.err;
  fs::remove_all(dir);
}

TEST(ConvertRandom, AFailedStreamedWriteLeavesTheOldFile) {
  const fs::path dir = fresh_temp_dir("convert-random-atomic");
  const std::string path = (dir / "m.gguf").string();
  { std::ofstream(path) << "old"; }
  GgufWriter w;
  w.set("general.architecture", gguf_str("llama"));
  w.tensors.push_back({"a", DType::F32, {1 << 20}, nullptr, size_t(4) << 20});
  w.tensors.push_back({"b", DType::F32, {4}, nullptr, 16});
  const auto fill = [](size_t i, uint64_t, uint8_t* dst, size_t n) {
    if (i == 1) fail("producer failed");
    std::memset(dst, 0, n);
  };
  EXPECT_THROW(detail::save_gguf_streamed(w, path, fill), Error);
  EXPECT_EQ(slurp(path), "old");
  size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1u) << "a temp file was left behind";
  // The same tensors from buffers: byte for byte what save writes.
  std::vector<uint8_t> zeros(size_t(4) << 20, 0);
  GgufWriter v = w;
  v.tensors[0].data = zeros.data();
  v.tensors[1].data = zeros.data();
  v.save((dir / "buffers.gguf").string());
  detail::save_gguf_streamed(w, (dir / "streamed.gguf").string(), [](size_t, uint64_t, uint8_t* dst, size_t n) { std::memset(dst, 0, n); });
  EXPECT_EQ(slurp(dir / "buffers.gguf"), slurp(dir / "streamed.gguf"));
  fs::remove_all(dir);
}

TEST(ConvertRandomLlamaCpp, LlamaBenchLoadsIt) {
  REQUIRE_LLAMA_CPP(bin);
  const TinyFile file;
  const std::string out = (file.dir / "bench.json").string(), err = (file.dir / "err.txt").string();
  const std::string cmd = quoted(bin + "/llama-bench") + " -m " + quoted(file.path) + " -p 8 -n 0 -r 1 -t 1 -o json > " +
                          quoted(out) + " 2> " + quoted(err);
  ASSERT_EQ(std::system(cmd.c_str()), 0) << slurp(err);
  const auto j = nlohmann::json::parse(slurp(out), nullptr, false);
  ASSERT_TRUE(j.is_array() && !j.empty()) << slurp(out);
  EXPECT_EQ(j[0]["n_prompt"], 8);
  EXPECT_GT(j[0]["avg_ts"].get<double>(), 0.0);
}

}  // namespace
}  // namespace glassbox
