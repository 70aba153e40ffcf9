#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

class KvCacheMatchesFullForward : public ::testing::TestWithParam<std::string> {};

TEST_P(KvCacheMatchesFullForward, TokenByToken) {
  const Model m = Model::load(fixture(GetParam()) + (GetParam().rfind("gguf", 0) == 0 ? "/model.gguf" : ""));
  Engine e(m);
  const int64_t V = m.config().d_vocab;
  const auto toks = gbtest::some_tokens(9, int(V), 5);
  const Tensor full = e.logits(Batch::single(toks));
  KVCache kv;
  kv.reset(m.config(), 1, 9);
  // A 4-token prefix, then one token at a time.
  std::vector<int32_t> prefix(toks.begin(), toks.begin() + 4);
  Tensor step = e.forward(Batch::single(prefix), nullptr, &kv).logits;
  EXPECT_LT(gbtest::max_abs_diff(step.f32(), full.f32(), 4 * V), 1e-4f);
  for (int t = 4; t < 9; ++t) {
    step = e.forward(Batch::single({toks[size_t(t)]}), nullptr, &kv).logits;
    EXPECT_LT(gbtest::max_abs_diff(step.f32(), full.f32() + t * V, V), 1e-4f) << "position " << t;
  }
  EXPECT_THROW(e.forward(Batch::single({1}), nullptr, &kv), Error);  // capacity exhausted
}

INSTANTIATE_TEST_SUITE_P(Families, KvCacheMatchesFullForward,
                         ::testing::Values("gpt2", "neox", "llama", "qwen2", "attn-only"),
                         [](const auto& i) { std::string s = i.param; for (char& c : s) if (c == '-') c = '_'; return s; });

TEST(Generate, LeftPaddedBatchGivesTheSameTokensAsSingleRows) {
  const Model m = Model::load(fixture("llama"));
  Engine e(m);
  SamplingOptions o;
  o.temperature = 0;
  o.max_new_tokens = 4;
  const auto a = gbtest::some_tokens(6, m.config().d_vocab, 7);
  const auto b = gbtest::some_tokens(3, m.config().d_vocab, 8);
  const Generation both = generate(e, {a, b}, o);
  EXPECT_EQ(both.tokens[0], generate(e, {a}, o).tokens[0]);
  EXPECT_EQ(both.tokens[1], generate(e, {b}, o).tokens[0]);
}

TEST(Generate, SeedMakesSamplingReproducible) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  SamplingOptions o;
  o.temperature = 1.0f;
  o.top_k = 20;
  o.top_p = 0.9f;
  o.max_new_tokens = 12;
  o.seed = 42;
  const auto p = gbtest::some_tokens(3, m.config().d_vocab, 9);
  const auto g1 = generate(e, {p}, o), g2 = generate(e, {p}, o);
  EXPECT_EQ(g1.tokens, g2.tokens);
  o.seed = 43;
  const auto g3 = generate(e, {p}, o);
  EXPECT_NE(g1.tokens, g3.tokens);
}

TEST(Sampling, TopKOfOneIsGreedyAndTopPKeepsTheHead) {
  std::mt19937_64 rng(1);
  const float logits[5] = {0.1f, 3.0f, 2.9f, -1.0f, 0.0f};
  SamplingOptions o;
  o.temperature = 0;
  EXPECT_EQ(sample_token(logits, 5, o, rng), 1);
  o.temperature = 1;
  o.top_k = 1;
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample_token(logits, 5, o, rng), 1);
  o.top_k = 0;
  o.top_p = 0.5f;  // token 1 alone holds ~48%, tokens 1 and 2 ~92%
  for (int i = 0; i < 50; ++i) {
    const int32_t t = sample_token(logits, 5, o, rng);
    EXPECT_TRUE(t == 1 || t == 2) << t;
  }
}

TEST(Generate, PromptPlusNewTokensBeyondContextIsAnError) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  SamplingOptions o;
  o.max_new_tokens = m.config().n_ctx;
  EXPECT_THROW(generate(e, {{1, 2, 3}}, o), Error);
}

}  // namespace
