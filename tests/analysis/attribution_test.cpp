#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "analysis_test_util.h"
#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/engine.h"
#include "glassbox/trainable.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

PatchingOptions opts(std::vector<int32_t> a, std::vector<int32_t> b) {
  PatchingOptions o;
  o.metric.answer = std::move(a);
  o.metric.wrong = std::move(b);
  return o;
}

TEST(AttributionPatching, SameShapesAsActivationPatching) {
  const Model m = Model::load(antest::fixture("llama"));
  Engine e(m);
  const Batch clean = Batch::single(antest::random_tokens(6, m.config().d_vocab, 4));
  Batch corrupt = clean;
  corrupt.tokens[1] = (corrupt.tokens[1] + 1) % m.config().d_vocab;
  const std::vector<Site> sites = {Site::resid_pre, Site::mlp_out, Site::z, Site::k, Site::pattern};
  const auto act = activation_patching(e, clean, corrupt, sites, opts({3}, {4}));
  const auto att = attribution_patching(e, clean, corrupt, sites, opts({3}, {4}));
  ASSERT_EQ(act.size(), att.size());
  for (size_t i = 0; i < act.size(); ++i) {
    EXPECT_EQ(att[i].n_layers, act[i].n_layers);
    EXPECT_EQ(att[i].n_cols, act[i].n_cols) << act[i].hook;  // k: the 2 kv heads
    EXPECT_EQ(att[i].values.size(), act[i].values.size());
    EXPECT_DOUBLE_EQ(att[i].clean, act[i].clean);
    EXPECT_DOUBLE_EQ(att[i].corrupt, act[i].corrupt);
    EXPECT_EQ(att[i].method, "attribution_patching");
  }
  // Positions before the corrupted token: no difference, no attribution.
  EXPECT_EQ(att[0].at(0, 0), 0.f);
  // Where the metric is linear in the patched activation (no final-norm
  // nonlinearity through a model without norms, see below) the estimate is exact;
  // here it is at least close where the effect is largest: (layer 0, pos 1).
  EXPECT_NEAR(att[0].at(0, 1), act[0].at(0, 1), 0.5);
}

// In a model without norms whose last attention layer writes straight to the
// logits, patching that layer's output is linear in the metric: attribution
// patching is exact there.
TEST(AttributionPatching, ExactWhereTheMetricIsLinear) {
  const Trainable tr = antest::induction_by_hand(4.f);
  Engine e(tr.model());
  const Batch clean = Batch::single({1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4});
  const Batch corrupt = Batch::single({1, 2, 3, 4, 9, 6, 7, 8, 1, 2, 3, 4});
  const auto act = activation_patching(e, clean, corrupt, {Site::attn_out, Site::result}, opts({5}, {9}));
  const auto att = attribution_patching(e, clean, corrupt, {Site::attn_out, Site::result}, opts({5}, {9}));
  for (size_t i = 0; i < 2; ++i) {
    for (int64_t c = 0; c < act[i].n_cols; ++c) EXPECT_NEAR(att[i].at(1, c), act[i].at(1, c), 1e-4) << act[i].hook << c;
  }
}

double report(const char* what, const std::vector<PatchGrid>& act, const std::vector<PatchGrid>& att) {
  double worst = 1;
  for (size_t i = 0; i < act.size(); ++i) {
    const double r = correlation(act[i], att[i]);
    std::cout << "[ analysis ] " << what << " " << act[i].hook << ": corr(activation, attribution) = " << r << "\n";
    worst = std::min(worst, r);
  }
  return worst;
}

TEST(AttributionPatching, CorrelatesWithActivationPatchingOnResidualSites) {
  const std::vector<Site> sites = {Site::resid_pre, Site::attn_out, Site::mlp_out};
  {  // GPT-2-layout fixture (LayerNorm, MLPs), a batch of prompt pairs differing at two positions.
    const Model m = Model::load(antest::fixture("gpt2"));
    Engine e(m);
    const int32_t V = m.config().d_vocab;
    const Batch clean = Batch::from_rows({antest::random_tokens(10, V, 7), antest::random_tokens(10, V, 8)});
    Batch corrupt = clean;
    for (int64_t i : {2, 6, 10 + 3, 10 + 7}) corrupt.tokens[size_t(i)] = (corrupt.tokens[size_t(i)] + 17) % V;
    const auto o = opts({10, 20}, {30, 40});
    const auto act = activation_patching(e, clean, corrupt, sites, o);
    const auto att = attribution_patching(e, clean, corrupt, sites, o);
    EXPECT_GT(report("gpt2 fixture", act, att), 0.9);
  }
  {  // The hand-built induction model with soft attention: the answer depends on an earlier token.
    const Trainable tr = antest::induction_by_hand(4.f);
    Engine e(tr.model());
    const Batch clean = Batch::from_rows({{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 9, 8, 7, 6}});
    const Batch corrupt = Batch::from_rows({{1, 2, 3, 4, 11, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 12, 4, 3, 2, 9, 8, 7, 6}});
    const auto o = opts({5, 5}, {11, 12});
    const std::vector<Site> s2 = {Site::resid_pre, Site::attn_out};
    const auto act = activation_patching(e, clean, corrupt, s2, o);
    const auto att = attribution_patching(e, clean, corrupt, s2, o);
    EXPECT_GT(report("hand-built induction", act, att), 0.9);
  }
}

}  // namespace
