// Whole-model logits and hook activations against the independent PyTorch
// reference (tests/reference/make_fixtures.py), for every family, in the
// checkpoint's real on-disk format.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/model.h"
#include "glassbox/gguf.h"
#include "glassbox/safetensors.h"
#include "golden/fixture_util.h"

namespace fs = std::filesystem;
using namespace glassbox;

using golden::f32_of;
using golden::batch_of;
using golden::fixture;

namespace {

std::string model_path(const std::string& c) {
  const std::string dir = fixture(c);
  return fs::exists(dir + "/model.gguf") ? dir + "/model.gguf" : dir;
}

// Max |a - e| over valid entries, relative to the tensor's largest |e|.
// Rows of padding queries are skipped; -inf entries must match exactly.
double rel_error(const std::string& name, const std::vector<float>& a, const std::vector<float>& e,
                 const Shape& shape, const Batch& b) {
  const bool head_major = name.find("attn_scores") != std::string::npos || name.find("hook_pattern") != std::string::npos;
  const int64_t B = shape[0], T = head_major ? shape[2] : shape[1];
  const int64_t H = head_major ? shape[1] : 1;
  const int64_t inner = numel(shape) / (B * T * H);
  double max_err = 0, max_ref = 1e-12;
  for (int64_t bb = 0; bb < B; ++bb)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t t = 0; t < T; ++t) {
        if (!b.valid(bb, t)) continue;
        const int64_t off = ((bb * H + h) * T + t) * inner;
        for (int64_t j = 0; j < inner; ++j) {
          const float x = a[size_t(off + j)], y = e[size_t(off + j)];
          if (std::isinf(y)) {
            EXPECT_EQ(x, y) << name << " at flat index " << off + j;
            continue;
          }
          max_err = std::max(max_err, double(std::fabs(x - y)));
          max_ref = std::max(max_ref, double(std::fabs(y)));
        }
      }
  return max_err / max_ref;
}

void check_case(const std::string& c, const std::string& expected_file) {
  const std::string ex_path = fixture(c) + "/" + expected_file;
  if (!fs::exists(ex_path)) GTEST_SKIP() << "no " << ex_path;
  const Model m = Model::load(model_path(c));
  const SafetensorsFile ex = SafetensorsFile::open(ex_path);
  const Batch b = batch_of(ex);
  Engine e(m);
  CacheOptions o;
  o.with_result = true;
  const ActivationCache cache = run_with_cache(e, b, o);
  int compared = 0;
  ASSERT_NE(ex.find("logits"), nullptr) << ex_path;
  for (const RawTensor& r : ex.tensors()) {
    const bool is_hook = r.name.find("hook_") != std::string::npos && r.name.rfind("grad.", 0) != 0;
    if (r.name != "logits" && !is_hook) continue;
    SCOPED_TRACE(c + " / " + r.name);
    const Tensor& got = r.name == "logits" ? cache.logits : cache[r.name];
    ASSERT_EQ(got.shape, r.shape);
    const double err = rel_error(r.name, got.to_f32_vector(), f32_of(r), r.shape, b);
    EXPECT_LT(err, 1e-4) << r.name << " relative error " << err;
    ++compared;
  }
  EXPECT_GE(compared, 3) << "fixture " << ex_path << " holds too few tensors to be a real check";
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, LogitsAndHooksMatchReference) { check_case(GetParam(), "expected.safetensors"); }

class GoldenLeftPad : public ::testing::TestWithParam<std::string> {};
TEST_P(GoldenLeftPad, LeftPaddedBatchMatchesReference) { check_case(GetParam(), "expected_leftpad.safetensors"); }

INSTANTIATE_TEST_SUITE_P(Families, Golden,
                         ::testing::Values("gpt2", "neox", "neox-seq", "llama", "llama-tied", "qwen2", "phi3", "attn-only",
                                           "llama3", "gguf-llama", "gguf-gpt2", "gguf-qwen2", "gguf-phi3", "gguf-llama3",
                                           "gemma2", "gguf-gemma2"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s) if (ch == '-') ch = '_';
                           return s;
                         });

INSTANTIATE_TEST_SUITE_P(Families, GoldenLeftPad, ::testing::Values("gpt2", "llama"));

// Phi-3 names a sliding window (47 in the fixture, 2047 in Phi-3-mini-4k);
// attention has none, so both formats run at most that many positions, where
// windowed and full attention agree, and refuse longer input.
TEST(GoldenPhi3, ContextIsCappedAtTheSlidingWindow) {
  for (const char* c : {"phi3", "gguf-phi3"}) {
    const Model m = Model::load(model_path(c));
    EXPECT_EQ(m.config().n_ctx, 47) << c;
    EXPECT_EQ(m.config().family, "phi3") << c;
    Engine e(m);
    Batch b;
    b.B = 1;
    b.T = 48;
    b.tokens.assign(48, 1);
    b.mask.assign(48, 1);
    EXPECT_THROW(e.forward(b), Error) << c;
  }
}

TEST(GgufDequant, QuantisedTensorsMatchReferenceValues) {
  const std::string dir = fixture("gguf-llama");
  const GgufFile f = GgufFile::open(dir + "/model.gguf");
  const SafetensorsFile ex = SafetensorsFile::open(dir + "/expected.safetensors");
  int checked = 0;
  for (const RawTensor& r : ex.tensors()) {
    if (r.name.rfind("dequant.", 0) != 0) continue;
    const std::string name = r.name.substr(8);
    const RawTensor* t = f.find(name);
    ASSERT_NE(t, nullptr) << name;
    std::vector<float> got(static_cast<size_t>(t->numel()));
    to_f32(got.data(), t->data, t->dtype, t->numel());
    const auto want = f32_of(r);
    ASSERT_EQ(got.size(), want.size()) << name;
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-6f * (1 + std::fabs(want[i]))) << name << "[" << i << "]";
    ++checked;
  }
  EXPECT_GE(checked, 2) << "expected Q8_0 and Q4_0 tensors in the fixture";
}

}  // namespace
