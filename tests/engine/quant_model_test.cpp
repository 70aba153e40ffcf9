// A quantised GGUF llama loaded with keep_quantized (weights stay in the
// file's blocks; matmuls dequantise tiles) against the same file loaded the
// ordinary way (every weight dequantised to F32 at load): logits, cached hook
// values (hook_q reads llama.cpp's permuted Q rows through a row map,
// hook_result slices W_O by head) and gradients w.r.t. activations agree up
// to the GEMM's rounding; memory is the file's, not F32's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "glassbox/engine.h"
#include "glassbox/gguf.h"
#include "glassbox/gguf_export.h"
#include "glassbox/hooks.h"
#include "glassbox/metrics.h"
#include "glassbox/model.h"
#include "test_util.h"

using namespace glassbox;

namespace {

// Random blocks of type t for a [rows, cols] matrix, with f16 scales small
// enough to keep activations of a 2-layer model in a sane range.
std::vector<uint8_t> random_blocks(DType t, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> x(size_t(rows * cols));
  std::normal_distribution<float> nd(0.f, 0.05f);
  for (auto& v : x) v = nd(rng);
  if (t == DType::Q8_0) return quantize_q8_0(x.data(), int64_t(x.size()));
  if (t == DType::Q4_0) return quantize_q4_0(x.data(), int64_t(x.size()));
  // Other types: random bytes (any pattern decodes) with every f16 scale field set small.
  std::vector<uint8_t> b(dtype_nbytes(t, rows * cols));
  for (auto& v : b) v = uint8_t(rng());
  const size_t bb = dtype_nbytes(t, dtype_block_size(t));
  std::vector<size_t> offs;
  switch (t) {
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: offs = {0, 2}; break;
    case DType::Q5_0: offs = {0}; break;
    case DType::Q2_K: offs = {80, 82}; break;
    case DType::Q3_K: offs = {108}; break;
    case DType::Q6_K: offs = {208}; break;
    default: break;
  }
  std::uniform_real_distribution<float> sc(0.0002f, 0.002f);
  for (size_t blk = 0; blk < b.size() / bb; ++blk)
    for (size_t o : offs) {
      const uint16_t h = f32_to_f16(sc(rng));
      b[blk * bb + o] = uint8_t(h & 0xff);
      b[blk * bb + o + 1] = uint8_t(h >> 8);
    }
  return b;
}

struct QuantLlama {
  gbtest::TempDir dir;
  std::string path = dir / "model.gguf";
  static constexpr int64_t d = 256, ff = 512, V = 96, L = 2, H = 4;
  QuantLlama() {
    std::vector<std::vector<uint8_t>> store;
    std::vector<std::vector<float>> fstore;
    GgufWriter w;
    w.set("general.architecture", gguf_str("llama"));
    w.set("llama.context_length", gguf_u32(64));
    w.set("llama.embedding_length", gguf_u32(d));
    w.set("llama.block_count", gguf_u32(L));
    w.set("llama.feed_forward_length", gguf_u32(ff));
    w.set("llama.attention.head_count", gguf_u32(H));
    w.set("llama.attention.head_count_kv", gguf_u32(2));
    w.set("llama.attention.layer_norm_rms_epsilon", gguf_f32(1e-5f));
    uint32_t seed = 1;
    auto q = [&](const std::string& name, DType t, int64_t rows, int64_t cols) {
      store.push_back(random_blocks(t, rows, cols, seed++));
      w.tensors.push_back({name, t, {rows, cols}, store.back().data(), store.back().size()});
    };
    auto norm = [&](const std::string& name) {
      fstore.emplace_back(size_t(d));
      std::mt19937 rng(seed++);
      for (auto& v : fstore.back()) v = 1.f + 0.1f * float(rng() % 100) / 100.f;
      w.tensors.push_back({name, DType::F32, {d}, fstore.back().data(), size_t(d) * 4});
    };
    q("token_embd.weight", DType::Q3_K, V, d);
    // A mixture as llama.cpp writes them: each family of tensor another type.
    const DType types[L][7] = {
        {DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0},
        {DType::Q5_1, DType::Q2_K, DType::Q4_K, DType::Q6_K, DType::Q5_K, DType::Q4_K, DType::Q6_K}};
    for (int l = 0; l < L; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      norm(b + "attn_norm.weight");
      q(b + "attn_q.weight", types[l][0], d, d);
      q(b + "attn_k.weight", types[l][1], d / 2, d);
      q(b + "attn_v.weight", types[l][2], d / 2, d);
      q(b + "attn_output.weight", types[l][3], d, d);
      norm(b + "ffn_norm.weight");
      q(b + "ffn_gate.weight", types[l][4], ff, d);
      q(b + "ffn_up.weight", types[l][5], ff, d);
      q(b + "ffn_down.weight", types[l][6], d, ff);
    }
    norm("output_norm.weight");
    q("output.weight", DType::Q6_K, V, d);
    w.save(path);
  }
};

double rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  double m = 0, s = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    m = std::max(m, std::fabs(double(a.f32()[i]) - double(b.f32()[i])));
    s = std::max(s, std::fabs(double(b.f32()[i])));
  }
  return s > 0 ? m / s : m;
}

TEST(QuantModel, LogitsHooksAndActivationGradientsMatchTheDequantisedModel) {
  QuantLlama f;
  const Model dense = Model::load(f.path, {.keep_quantized = false});
  const Model quant = Model::load(f.path);  // keep_quantized is the default
  // Not a vacuous comparison: the kept model really reads blocks, the dense one floats.
  ASSERT_TRUE(quant.weights().W_E_q && quant.weights().layers[0].W_Q.q && quant.weights().W_U.q);
  ASSERT_FALSE(dense.weights().layers[0].W_Q.q);
  EXPECT_EQ(quant.converted_bytes(), 0u);  // the F32 norms are mapped, the rest stays in blocks
  EXPECT_GT(dense.converted_bytes(), size_t(1) << 20);

  Engine ed(dense), eq(quant);
  const Batch b = Batch::from_rows({gbtest::some_tokens(7, 96, 3), gbtest::some_tokens(7, 96, 4)});
  ForwardOptions fo;
  fo.for_backward = true;
  for (const char* h : {"blocks.0.attn.hook_q", "blocks.1.attn.hook_k", "blocks.1.attn.hook_pattern",
                        "blocks.0.attn.hook_result", "blocks.1.mlp.hook_post", "blocks.1.hook_resid_post"})
    fo.keep.insert(parse_hook_name(h, dense.config()));
  const ForwardResult rd = ed.forward(b, nullptr, nullptr, fo);
  const ForwardResult rq = eq.forward(b, nullptr, nullptr, fo);
  EXPECT_LT(rel_diff(rq.logits, rd.logits), 1e-4);
  double spread = 0;
  for (int64_t i = 1; i < rd.logits.numel(); ++i) spread = std::max(spread, double(std::fabs(rd.logits.f32()[i] - rd.logits.f32()[0])));
  EXPECT_GT(spread, 1e-3);  // the logits depend on the input at all
  for (const auto& [p, t] : rd.kept) {
    SCOPED_TRACE(p.name());
    EXPECT_LT(rel_diff(rq.get(p), t), 1e-4);
  }

  // Gradients w.r.t. activations (grad hooks) flow through the quantised weights.
  Tensor dl;
  next_token_loss(rd.logits, b, &dl);
  HookRegistry gd(dense.config()), gq(quant.config());
  std::vector<float> gdv, gqv;
  auto h1 = gd.add("blocks.0.hook_resid_mid", [&](TensorView& g, const HookContext&) { gdv.assign(g.data, g.data + g.numel()); }, HookMode::Grad);
  auto h2 = gq.add("blocks.0.hook_resid_mid", [&](TensorView& g, const HookContext&) { gqv.assign(g.data, g.data + g.numel()); }, HookMode::Grad);
  ed.backward(b, rd, dl.f32(), &gd);
  eq.backward(b, rq, dl.f32(), &gq);
  ASSERT_EQ(gdv.size(), gqv.size());
  ASSERT_FALSE(gdv.empty());
  double m = 0, s = 0;
  for (size_t i = 0; i < gdv.size(); ++i) {
    m = std::max(m, std::fabs(double(gdv[i]) - gqv[i]));
    s = std::max(s, std::fabs(double(gdv[i])));
  }
  EXPECT_GT(s, 0.0);
  EXPECT_LT(m / s, 1e-4);

  // Chosen logit columns read W_U's blocks directly.
  ForwardOptions cols;
  cols.logit_tokens = {5, 17, 90};
  EXPECT_LT(rel_diff(eq.forward(b, nullptr, nullptr, cols).logits, ed.forward(b, nullptr, nullptr, cols).logits), 1e-4);
}

TEST(QuantModel, ExportOfAKeptQuantisedModelEqualsTheDequantisedOnes) {
  QuantLlama f;
  save_gguf(Model::load(f.path), f.dir / "kept.gguf", {.name = "m"});
  save_gguf(Model::load(f.path, {.keep_quantized = false}), f.dir / "dense.gguf", {.name = "m"});
  const GgufFile a = GgufFile::open(f.dir / "kept.gguf"), b = GgufFile::open(f.dir / "dense.gguf");
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (size_t i = 0; i < a.tensors().size(); ++i) {
    const RawTensor &x = a.tensors()[i], &y = b.tensors()[i];
    EXPECT_EQ(x.name, y.name);
    ASSERT_EQ(x.nbytes, y.nbytes) << x.name;
    EXPECT_EQ(std::memcmp(x.data, y.data, x.nbytes), 0) << x.name;
  }
}

}  // namespace
