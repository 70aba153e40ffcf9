#include <gtest/gtest.h>

#include <cmath>

#include "analysis_test_util.h"
#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

class OnFixtures : public ::testing::TestWithParam<const char*> {};

TEST_P(OnFixtures, LogitLensAtTheLastLayerIsTheModelOutput) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const Batch b = Batch::single(antest::random_tokens(9, m.config().d_vocab, 3));
  LogitLensOptions o;
  o.top_k = 3;
  const LogitLensResult r = logit_lens(e, b, o);
  const size_t L = size_t(m.config().n_layers);
  ASSERT_EQ(r.layers.size(), L + 1);
  EXPECT_EQ(r.layers.back(), "blocks." + std::to_string(L - 1) + ".hook_resid_post");
  ASSERT_EQ(r.positions.size(), 9u);
  const Tensor logits = e.logits(b);
  const int64_t V = m.config().d_vocab;
  for (size_t p = 0; p < 9; ++p) {
    const LensCell& c = r.at(L, p);
    EXPECT_LT(c.kl_to_final, 1e-5) << p;
    const float* row = logits.f32() + int64_t(p) * V;
    EXPECT_EQ(c.top_tokens[0], int32_t(std::max_element(row, row + V) - row));
    EXPECT_GE(c.top_probs[0], c.top_probs[1]);
    if (p + 1 < 9) {
      EXPECT_EQ(c.target, b.tokens[p + 1]);
      EXPECT_GE(c.target_rank, 0);
    } else {
      EXPECT_EQ(c.target, -1);  // no next token at the last position
    }
    EXPECT_GE(r.at(0, p).kl_to_final, 0.f);
  }
  EXPECT_EQ(r.to_json()["cells"].size(), L + 1);
}

TEST_P(OnFixtures, DirectLogitAttributionSumsToTheLogitDifference) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const int32_t V = m.config().d_vocab;
  const Batch b = Batch::from_rows({antest::random_tokens(7, V, 1), antest::random_tokens(7, V, 2)});
  DlaOptions o;
  o.pos = -2;
  o.answer = {3, 11};
  o.wrong = {5};
  const DlaResult r = direct_logit_attribution(e, b, o);
  const double tol = 1e-4 * std::max(1.0, std::fabs(r.logit));
  EXPECT_NEAR(r.sum(), r.logit, tol) << r.to_json().dump();
  o.wrong.clear();  // a single logit
  const DlaResult one = direct_logit_attribution(e, b, o);
  EXPECT_NEAR(one.sum(), one.logit, 1e-4 * std::max(1.0, std::fabs(one.logit)));

  // Heads + b_O = attn_out; neurons + b_out = mlp_out, layer by layer.
  for (int l = 0; l < r.n_layers; ++l) {
    double heads = r.head_bias[size_t(l)], attn = 0, neurons = 0, mlp = 0;
    for (int h = 0; h < r.n_heads; ++h) heads += r.head(l, h);
    for (const DlaComponent& c : r.by_layer) {
      if (c.name == "blocks." + std::to_string(l) + ".hook_attn_out") attn = c.value;
      if (c.name == "blocks." + std::to_string(l) + ".hook_mlp_out") mlp = c.value;
    }
    EXPECT_NEAR(heads, attn, 1e-4) << l;
    if (r.d_mlp) {
      neurons = r.neuron_bias[size_t(l)];
      for (int n = 0; n < r.d_mlp; ++n) neurons += r.neuron(l, n);
      EXPECT_NEAR(neurons, mlp, 1e-4) << l;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Analysis, OnFixtures, ::testing::Values("gpt2", "llama", "neox", "attn-only", "qwen2"));

// With no final norm and no biases, the decomposition has no "bias" term and the
// induction head is the whole story: it alone writes the answer's logit.
TEST(DirectLogitAttribution, InductionHeadWritesTheAnswer) {
  const Trainable tr = antest::induction_by_hand();
  Engine e(tr.model());
  const Batch b = Batch::single({1, 2, 3, 4, 5, 6, 1, 2, 3, 4});  // predicts 5
  DlaOptions o;
  o.answer = {5};
  o.wrong = {7};
  const DlaResult r = direct_logit_attribution(e, b, o);
  EXPECT_GT(r.logit, 0.9);
  EXPECT_NEAR(r.head(1, 0), r.logit, 1e-5);
  EXPECT_NEAR(r.head(0, 0), 0, 1e-6);
  EXPECT_NEAR(r.by_layer.back().value, 0, 1e-9);  // bias
  EXPECT_TRUE(r.by_neuron.empty());
  // ... and the logit lens sees the answer only after layer 1.
  LogitLensOptions lo;
  lo.positions = {-1};
  lo.targets = {5};
  const LogitLensResult lens = logit_lens(e, b, lo);
  EXPECT_EQ(lens.at(2, 0).target_rank, 0);
  EXPECT_GT(lens.at(2, 0).target_prob, lens.at(1, 0).target_prob);
}

}  // namespace
