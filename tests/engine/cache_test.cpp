#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

struct CacheTest : ::testing::Test {
  Model m = Model::load(fixture("llama"));
  Engine e{m};
  Batch b = Batch::from_rows({gbtest::some_tokens(7, m.config().d_vocab, 1), gbtest::some_tokens(7, m.config().d_vocab, 2)});
};

TEST_F(CacheTest, EmptyNamesCachesEveryHookExceptResult) {
  const ActivationCache c = run_with_cache(e, b);
  size_t expected = 0;
  for (const HookPoint& p : all_hook_points(m.config())) expected += p.site != Site::result;
  EXPECT_EQ(c.entries.size(), expected);
  EXPECT_EQ(c.logits.shape, (Shape{2, 7, m.config().d_vocab}));
  EXPECT_EQ(c["blocks.1.attn.hook_pattern"].shape, (Shape{2, m.config().n_heads, 7, 7}));
  EXPECT_EQ(c["blocks.0.attn.hook_k"].shape, (Shape{2, 7, m.config().n_kv_heads, m.config().d_head}));
}

TEST_F(CacheTest, NamesFilterKeepsOnlyMatches) {
  CacheOptions o;
  o.names = {"blocks.*.attn.hook_pattern", "hook_embed"};
  const ActivationCache c = run_with_cache(e, b, o);
  ASSERT_EQ(c.entries.size(), size_t(m.config().n_layers) + 1);
  EXPECT_TRUE(c.contains("hook_embed"));
  EXPECT_FALSE(c.contains("blocks.0.hook_resid_pre"));
  EXPECT_THROW(c["blocks.0.hook_resid_pre"], Error);
}

TEST_F(CacheTest, PositionsFilterAndLowPrecisionStorageMatchFullCache) {
  const ActivationCache full = run_with_cache(e, b);
  CacheOptions o;
  o.positions = {-1, 0};
  o.dtype = DType::BF16;
  const ActivationCache part = run_with_cache(e, b, o);
  const Tensor& f = full["blocks.1.hook_resid_post"];
  const Tensor& p = part["blocks.1.hook_resid_post"];
  ASSERT_EQ(p.dtype, DType::BF16);
  const int64_t d = m.config().d_model;
  ASSERT_EQ(p.shape, (Shape{2, 2, d}));
  const auto pv = p.to_f32_vector();
  for (int64_t bb = 0; bb < 2; ++bb)
    for (int64_t j = 0; j < d; ++j) {
      const float last = f.f32()[(bb * 7 + 6) * d + j], first = f.f32()[(bb * 7 + 0) * d + j];
      EXPECT_NEAR(pv[size_t((bb * 2 + 0) * d + j)], last, 1e-2f * (1 + std::fabs(last)));
      EXPECT_NEAR(pv[size_t((bb * 2 + 1) * d + j)], first, 1e-2f * (1 + std::fabs(first)));
    }
  // Patterns are filtered along the query axis.
  EXPECT_EQ(part["blocks.0.attn.hook_pattern"].shape, (Shape{2, m.config().n_heads, 2, 7}));
}

TEST_F(CacheTest, SavedFileUsesHookNamesAndLoadsBack) {
  gbtest::TempDir tmp;
  CacheOptions o;
  o.names = {"blocks.*.hook_resid_post"};
  const ActivationCache c = run_with_cache(e, b, o);
  c.save(tmp / "c.safetensors");
  const SafetensorsFile f = SafetensorsFile::open(tmp / "c.safetensors");
  ASSERT_NE(f.find("logits"), nullptr);
  ASSERT_NE(f.find("tokens"), nullptr);
  ASSERT_NE(f.find("blocks.1.hook_resid_post"), nullptr);
  const ActivationCache back = ActivationCache::load(tmp / "c.safetensors");
  const Tensor& x = back["blocks.1.hook_resid_post"];
  EXPECT_EQ(gbtest::max_abs_diff(x.f32(), c["blocks.1.hook_resid_post"].f32(), x.numel()), 0.f);
}

TEST_F(CacheTest, MemoryLimitRefusesBeforeRunning) {
  CacheOptions o;
  o.max_memory = 1024;
  bool ran = false;
  HookRegistry reg(m.config());
  auto h = reg.add("hook_embed", [&](TensorView&, const HookContext&) { ran = true; });
  try {
    run_with_cache(e, b, o, &reg);
    FAIL() << "expected an Error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("max-memory"), std::string::npos) << err.what();
  }
  EXPECT_FALSE(ran);
  EXPECT_GT(estimate_cache_run_bytes(e, b, {}), size_t(1024));
}

TEST_F(CacheTest, EstimateCoversWhatIsAllocated) {
  const ActivationCache c = run_with_cache(e, b);
  EXPECT_GE(estimate_cache_run_bytes(e, b, {}), c.nbytes());
}

}  // namespace
