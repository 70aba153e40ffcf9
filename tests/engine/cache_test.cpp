#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/safetensors.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

// The smallest pool a memory limit shrinks the writer to (cache.cpp, kMinChunkBytes).
const StreamWriterOptions kSmallestPool{size_t(4) << 10, 2};

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

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

// The streamed file is the in-memory cache's saved file, byte for byte: f32
// every hook (kept tensors in memory, hooks when streaming), and bf16 / f16
// with positions and names filters, on each residual layout. Small chunks
// split every tensor and make the writer's back-pressure bite.
TEST(CacheStream, FileIsByteIdenticalToSavedInMemoryCache) {
  gbtest::TempDir tmp;
  for (const char* arch : {"gpt2", "llama", "neox", "attn-only"}) {
    const Model m = Model::load(fixture(arch));
    Engine e{m};
    const Batch b = Batch::from_rows(
        {gbtest::some_tokens(9, m.config().d_vocab, 3), gbtest::some_tokens(9, m.config().d_vocab, 4)});
    std::vector<CacheOptions> runs(4);
    runs[1].with_result = true;
    runs[2].dtype = DType::BF16;
    runs[2].positions = {-1, 0, 4};
    runs[2].names = {"blocks.*.attn.hook_pattern", "hook_embed", "blocks.0.hook_resid_post"};
    runs[3].dtype = DType::F16;
    runs[3].names = {"blocks.1.*"};
    for (size_t i = 0; i < runs.size(); ++i) {
      SCOPED_TRACE(std::string(arch) + " run " + std::to_string(i));
      run_with_cache(e, b, runs[i]).save(tmp / "mem.safetensors");
      const auto rows = stream_cache_to_file(e, b, runs[i], tmp / "stream.safetensors", nullptr, {512, 3, true});
      EXPECT_EQ(file_bytes(tmp / "stream.safetensors"), file_bytes(tmp / "mem.safetensors"));
      const SafetensorsFile f = SafetensorsFile::open(tmp / "stream.safetensors");
      ASSERT_EQ(rows.size(), f.tensors().size());
      for (size_t k = 0; k < rows.size(); ++k) {
        EXPECT_EQ(rows[k].name, f.tensors()[k].name);
        EXPECT_EQ(rows[k].nbytes, f.tensors()[k].nbytes);
      }
    }
  }
}

// Names in any order: the cache lists hooks in forward (hook) order.
TEST_F(CacheTest, EntriesAreInHookOrderWhateverTheNamesOrder) {
  for (DType dt : {DType::F32, DType::BF16}) {
    CacheOptions o;
    o.dtype = dt;
    o.names = {"blocks.1.hook_resid_post", "hook_embed", "blocks.0.attn.hook_pattern"};
    const ActivationCache c = run_with_cache(e, b, o);
    ASSERT_EQ(c.entries.size(), 3u);
    EXPECT_EQ(c.entries[0].first, "hook_embed");
    EXPECT_EQ(c.entries[1].first, "blocks.0.attn.hook_pattern");
    EXPECT_EQ(c.entries[2].first, "blocks.1.hook_resid_post");
  }
}

// Streaming honours a limit the in-memory cache refuses: the writer's chunks
// shrink; a limit below one layer's scratch is refused before running, naming the need.
TEST_F(CacheTest, StreamingHonoursMemoryLimitByShrinkingItsBuffers) {
  gbtest::TempDir tmp;
  CacheOptions o;
  o.with_result = true;
  const size_t least = estimate_stream_cache_bytes(e, b, o, kSmallestPool);
  ASSERT_LT(least, estimate_cache_run_bytes(e, b, o));
  o.max_memory = least + 1000;
  EXPECT_THROW(run_with_cache(e, b, o), Error);
  stream_cache_to_file(e, b, o, tmp / "s.safetensors");
  o.max_memory = 0;
  run_with_cache(e, b, o).save(tmp / "m.safetensors");
  EXPECT_EQ(file_bytes(tmp / "s.safetensors"), file_bytes(tmp / "m.safetensors"));

  o.max_memory = least - 1;
  bool ran = false;
  HookRegistry reg(m.config());
  auto h = reg.add("hook_embed", [&](TensorView&, const HookContext&) { ran = true; });
  const std::string path = tmp / "never.safetensors";
  try {
    stream_cache_to_file(e, b, o, path, &reg);
    FAIL() << "expected an Error";
  } catch (const Error& err) {
    const std::string msg = err.what();
    EXPECT_NE(msg.find("needs at least " + human_bytes(least)), std::string::npos) << msg;
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
  }
  EXPECT_FALSE(ran);
  EXPECT_FALSE(std::filesystem::exists(path));
}

// An error inside the pass (a hook throwing midway) leaves no file, and the
// caller's registry loses the cache's hooks.
TEST_F(CacheTest, StreamingErrorMidPassLeavesNoFile) {
  gbtest::TempDir tmp;
  HookRegistry reg(m.config());
  auto h = reg.add("blocks.1.hook_resid_pre", [](TensorView&, const HookContext&) { fail("hook failed on purpose"); },
                   HookMode::Replace);
  EXPECT_THROW(stream_cache_to_file(e, b, {}, tmp / "x.safetensors", &reg, {512, 2, true}), Error);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path));
  h.reset();
  EXPECT_TRUE(reg.empty());
}

}  // namespace
