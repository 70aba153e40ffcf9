// The engine's two attention paths: fused (kernels::attn_fused_forward, when
// nobody reads hook_attn_scores / hook_pattern) and materialised (scores and
// pattern in their slices, hooks fire on them). A plain forward must match the
// PyTorch golden logits as the hooked path does, the two paths must agree
// BIT FOR BIT on every family (GQA, rotary, padding, KV cache): analyses
// compare hooked runs with plain ones exactly. A hook or a keep on either
// site must switch to the materialised path so it sees, and can change, the
// real values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "glassbox/hooks.h"
#include "glassbox/safetensors.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

const char* const kFamilies[] = {"gpt2", "neox", "llama", "attn-only", "qwen2", "gguf-llama"};

std::string model_path(const std::string& fam) {
  const std::string dir = fixture(fam);
  return std::filesystem::exists(dir + "/model.gguf") ? dir + "/model.gguf" : dir;
}

double rel_error(const float* a, const float* ref, int64_t n) {
  double err = 0, mag = 0;
  for (int64_t i = 0; i < n; ++i) {
    err = std::max(err, double(std::fabs(a[i] - ref[i])));
    mag = std::max(mag, double(std::fabs(ref[i])));
  }
  return err / std::max(mag, 1e-30);
}

// Logits of a forward that keeps every layer's pattern: the materialised path.
ForwardResult materialised(Engine& e, const Batch& b, KVCache* kv = nullptr) {
  ForwardOptions fo;
  for (int l = 0; l < e.model().config().n_layers; ++l) fo.keep.insert({Site::pattern, l});
  return e.forward(b, nullptr, kv, fo);
}

// The golden fixtures (PyTorch logits, rows with padding) through a plain forward.
TEST(FusedAttention, PlainForwardMatchesGoldenLogits) {
  int compared = 0;
  for (const char* fam : {"gpt2", "llama", "neox", "attn-only", "qwen2", "gguf-gpt2", "gguf-llama"}) {
    for (const char* file : {"expected.safetensors", "expected_leftpad.safetensors"}) {
      const std::string path = fixture(fam) + "/" + file;
      if (!std::filesystem::exists(path)) continue;
      const SafetensorsFile ex = SafetensorsFile::open(path);
      const RawTensor* tok = ex.find("tokens");
      const RawTensor* mask = ex.find("attention_mask");
      const RawTensor* logits = ex.find("logits");
      ASSERT_TRUE(tok && mask && logits) << path;
      Batch b;
      b.B = tok->shape[0];
      b.T = tok->shape[1];
      const auto* t = static_cast<const int32_t*>(tok->data);
      const auto* m = static_cast<const int32_t*>(mask->data);
      b.tokens.assign(t, t + b.B * b.T);
      for (int64_t i = 0; i < b.B * b.T; ++i) b.mask.push_back(uint8_t(m[i] != 0));
      const Model model = Model::load(model_path(fam));
      Engine e(model);
      const Tensor got = e.logits(b);
      std::vector<float> ref(size_t(logits->numel()));
      to_f32(ref.data(), logits->data, logits->dtype, logits->numel());
      ASSERT_EQ(got.numel(), int64_t(ref.size())) << path;
      // Padded query rows are garbage in both implementations: compare the valid ones.
      const int64_t V = got.shape[2];
      std::vector<float> a, r;
      for (int64_t i = 0; i < b.B * b.T; ++i)
        if (b.mask[size_t(i)]) {
          a.insert(a.end(), got.f32() + i * V, got.f32() + (i + 1) * V);
          r.insert(r.end(), ref.data() + i * V, ref.data() + (i + 1) * V);
        }
      EXPECT_LT(rel_error(a.data(), r.data(), int64_t(a.size())), 1e-4) << path;
      ++compared;
    }
  }
  EXPECT_GE(compared, 7);
}

// Several 32-query blocks, two rows, the second left-padded: both paths give the same bits.
TEST(FusedAttention, AgreesWithMaterialisedPathOnEveryFamily) {
  for (const char* fam : kFamilies) {
    const Model m = Model::load(model_path(fam));
    const Config& c = m.config();
    const int T = std::min(c.n_ctx, 70);
    Engine e(m);
    const Batch b = Batch::from_rows({gbtest::some_tokens(T, c.d_vocab, 3), gbtest::some_tokens(T - 9, c.d_vocab, 4)},
                                     /*pad_left=*/true);
    ForwardOptions fo;
    fo.keep.insert({Site::z, c.n_layers - 1});
    const ForwardResult fused = e.forward(b, nullptr, nullptr, fo);
    fo.keep.insert({Site::pattern, c.n_layers - 1});
    for (int l = 0; l < c.n_layers - 1; ++l) fo.keep.insert({Site::attn_scores, l});
    const ForwardResult mat = e.forward(b, nullptr, nullptr, fo);
    EXPECT_EQ(std::memcmp(fused.logits.f32(), mat.logits.f32(), fused.logits.nbytes()), 0) << fam;
    const HookPoint z{Site::z, c.n_layers - 1};
    EXPECT_EQ(std::memcmp(fused.get(z).f32(), mat.get(z).f32(), fused.get(z).nbytes()), 0) << fam;
    EXPECT_GT(gbtest::max_abs_diff(fused.logits.f32(), fused.logits.f32() + c.d_vocab, c.d_vocab), 1e-3)
        << "positions differ: the comparison can fail";
  }
}

// A prompt in two chunks through a KV cache: the second chunk's queries start
// at position 25 of 50 keys (the kernel's q_offset).
TEST(FusedAttention, KvCacheChunksAgreeWithMaterialisedPath) {
  for (const char* fam : {"gpt2", "llama", "qwen2"}) {
    const Model m = Model::load(model_path(fam));
    const Config& c = m.config();
    const int T = std::min(c.n_ctx, 50);
    const auto ids = gbtest::some_tokens(T, c.d_vocab, 7);
    const Batch first = Batch::single({ids.begin(), ids.begin() + T / 2});
    const Batch second = Batch::single({ids.begin() + T / 2, ids.end()});
    Engine e(m);
    KVCache kv_f, kv_m;
    kv_f.reset(c, 1, T);
    kv_m.reset(c, 1, T);
    e.forward(first, nullptr, &kv_f);
    materialised(e, first, &kv_m);
    const Tensor fused = e.forward(second, nullptr, &kv_f).logits;
    const Tensor mat = materialised(e, second, &kv_m).logits;
    EXPECT_EQ(std::memcmp(fused.f32(), mat.f32(), fused.nbytes()), 0) << fam;
    const Tensor whole = e.logits(Batch::single(ids));  // one pass over the whole prompt
    EXPECT_LT(rel_error(fused.f32(), whole.f32() + (T / 2) * c.d_vocab, fused.numel()), 1e-5) << fam;
  }
}

// A hook on hook_pattern sees the real pattern (rows sum to 1 over visible
// keys, 0 above the diagonal), and replacing it changes the output: the hook
// turned the materialised path on.
TEST(FusedAttention, PatternHookSeesAndChangesTheRealPattern) {
  const Model m = Model::load(model_path("gpt2"));
  const Config& c = m.config();
  Engine e(m);
  const Batch b = Batch::single(gbtest::some_tokens(20, c.d_vocab, 5));
  const Tensor plain = e.logits(b);
  HookRegistry reg(c);
  double worst = 0;
  bool upper_zero = true;
  const HookHandle seen = reg.add(HookPoint{Site::pattern, 0}, [&](TensorView& v, const HookContext&) {
    const int64_t H = v.shape[1], T = v.shape[2];
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i) {
        double s = 0;
        for (int64_t j = 0; j < T; ++j) {
          const float p = v.data[(h * T + i) * T + j];
          s += p;
          if (j > i && p != 0.0f) upper_zero = false;
        }
        worst = std::max(worst, std::fabs(s - 1.0));
      }
  });
  const Tensor observed = e.forward(b, &reg).logits;
  EXPECT_LT(worst, 1e-5);
  EXPECT_TRUE(upper_zero);
  EXPECT_EQ(std::memcmp(observed.f32(), plain.f32(), plain.nbytes()), 0);  // observing changes nothing
  HookRegistry uniform(c);
  const HookHandle replaced = uniform.add(
      HookPoint{Site::pattern, 0},
      [](TensorView& v, const HookContext&) {
    const int64_t H = v.shape[1], T = v.shape[2];
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < T; ++i)
            for (int64_t j = 0; j < T; ++j) v.data[(h * T + i) * T + j] = j <= i ? 1.0f / float(i + 1) : 0.0f;
      },
      HookMode::Replace);
  const Tensor changed = e.forward(b, &uniform).logits;
  EXPECT_GT(gbtest::max_abs_diff(changed.f32(), plain.f32(), plain.numel()), 1e-3);
}

}  // namespace

// LogitsMode::Last with nothing hooked or kept in the last block runs that
// block for each row's last position only (its keys and values for all):
// the same logits as the last rows of a full pass, and as a Last pass that a
// keep on the last block makes run in full.
TEST(FusedAttention, LastLogitsFromTheLastBlockOnLastPositionsMatchAFullPass) {
  for (const char* fam : {"gpt2", "neox", "neox-seq", "llama", "attn-only", "qwen2", "gguf-llama"}) {
    const Model m = Model::load(model_path(fam));
    const Config& c = m.config();
    const int T = std::min(c.n_ctx, 45);
    Engine e(m);
    const Batch b = Batch::from_rows({gbtest::some_tokens(T, c.d_vocab, 5), gbtest::some_tokens(T - 7, c.d_vocab, 6)},
                                     /*pad_left=*/true);
    ForwardOptions fo;
    fo.logits = LogitsMode::Last;
    const Tensor last = e.forward(b, nullptr, nullptr, fo).logits;
    fo.keep.insert({Site::mlp_out, c.n_layers - 1});
    if (c.attn_only) fo.keep = {{Site::attn_out, c.n_layers - 1}};
    const Tensor full_last = e.forward(b, nullptr, nullptr, fo).logits;
    const Tensor all = e.logits(b);
    const int64_t V = c.d_vocab;
    ASSERT_EQ(last.shape, (Shape{2, 1, V})) << fam;
    EXPECT_LT(rel_error(last.f32(), full_last.f32(), 2 * V), 1e-5) << fam;
    std::printf("[ engine ] %s: narrowed last block %s the full one\n", fam,
                std::memcmp(last.f32(), full_last.f32(), last.nbytes()) == 0 ? "bit-identical to" : "within rounding of");
    for (int64_t r = 0; r < 2; ++r)
      EXPECT_LT(rel_error(last.f32() + r * V, all.f32() + (r * T + T - 1) * V, V), 1e-5) << fam << " row " << r;
    EXPECT_GT(gbtest::max_abs_diff(last.f32(), last.f32() + V, V), 1e-3) << "rows differ: the comparison can fail";
  }
}
