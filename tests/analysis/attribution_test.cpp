#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "analysis_test_util.h"
#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/metrics.h"
#include "glassbox/train.h"
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
  EXPECT_EQ(act[0].at(0, 0), 0.f);
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

// The estimate is the directional derivative of the metric along (source - base):
// check it against central differences of runs patched with base + eps (source - base).
TEST(AttributionPatching, IsTheDirectionalDerivativeOfThePatch) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const int32_t V = m.config().d_vocab;
  const Batch clean = Batch::single(antest::random_tokens(8, V, 7));
  Batch corrupt = clean;
  corrupt.tokens[2] = (corrupt.tokens[2] + 17) % V;
  PatchingOptions o = opts({10}, {30});
  o.metric.normalize = false;
  const std::vector<Site> sites = {Site::resid_pre, Site::mlp_out, Site::z};
  const auto att = attribution_patching(e, clean, corrupt, sites, o);
  const ActivationCache src = run_with_cache(e, clean), base = run_with_cache(e, corrupt);
  const double v0 = o.metric.value(base.logits, 8);
  for (size_t i = 0; i < sites.size(); ++i)
    for (int l = 0; l < 2; ++l) {
      const HookPoint hp{sites[i], l};
      const std::vector<float> a = src[hp.name()].to_f32_vector(), b = base[hp.name()].to_f32_vector();
      const int64_t col = sites[i] == Site::z ? 1 : 3;  // head 1 / position 3
      auto run = [&](float eps) {
        HookRegistry reg(m.config());
        auto h = reg.add(hp, [&](TensorView& act, const HookContext&) {
          const int64_t T = act.shape[1], inner = act.numel() / T;
          for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < inner; ++j) {
              const bool in = sites[i] == Site::z ? j / m.config().d_head == col : t == col;
              if (in) act[t * inner + j] = b[size_t(t * inner + j)] + eps * (a[size_t(t * inner + j)] - b[size_t(t * inner + j)]);
            }
        }, HookMode::Replace);
        return o.metric.value(e.forward(corrupt, &reg).logits, 8);
      };
      const float eps = 1e-2f;
      const double fd = (run(eps) - run(-eps)) / (2 * eps);
      EXPECT_NEAR(att[i].at(l, col) - v0, fd, 2e-2 * std::max(1.0, std::fabs(fd))) << hp.name();
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

TEST(AttributionPatching, CorrelatesWithActivationPatchingOnATrainedModel) {
  TrainResult r;
  const Trainable tr = antest::trained_arithmetic_gpt2(&r);
  ASSERT_LT(r.log.back().loss, 0.6 * r.log.front().loss);
  Engine e(tr.model());
  // Same start, step 2 (clean) vs. step 3 (corrupted): which step does the model continue?
  std::vector<std::vector<int32_t>> cl, co;
  for (int32_t x : {1, 6}) {
    cl.emplace_back(), co.emplace_back();
    for (int t = 0; t < 10; ++t) cl.back().push_back((x + 2 * t) % 16), co.back().push_back((x + 3 * t) % 16);
  }
  const PatchingOptions o = opts({(1 + 20) % 16, (6 + 20) % 16}, {(1 + 30) % 16, (6 + 30) % 16});
  const std::vector<Site> sites = {Site::resid_pre, Site::attn_out, Site::mlp_out, Site::z};
  const Batch clean = Batch::from_rows(cl), corrupt = Batch::from_rows(co);
  const auto act = activation_patching(e, clean, corrupt, sites, o);
  const auto att = attribution_patching(e, clean, corrupt, sites, o);
  EXPECT_GT(act[0].clean - act[0].corrupt, 2.0);  // the model tells the two apart
  EXPECT_GT(report("trained 2-layer gpt2", act, att), 0.85);
}

// Randomly initialised fixtures with large weights are far from linear: a token
// swap moves the embedding a long way, and first-order estimates of resid_pre
// patches are poor (Nanda notes the same for layer-0 residual patches in real
// models). Printed for the record; per-head z patches stay well correlated.
TEST(AttributionPatching, CorrelationOnRandomFixtures) {
  for (const char* f : {"gpt2", "llama", "neox"}) {
    const Model m = Model::load(antest::fixture(f));
    Engine e(m);
    const int32_t V = m.config().d_vocab;
    const Batch clean = Batch::from_rows({antest::random_tokens(10, V, 7), antest::random_tokens(10, V, 8)});
    Batch corrupt = clean;
    for (int64_t i : {2, 6, 10 + 3, 10 + 7}) corrupt.tokens[size_t(i)] = (corrupt.tokens[size_t(i)] + 17) % V;
    const auto o = opts({10, 20}, {30, 40});
    const std::vector<Site> sites = {Site::resid_pre, Site::attn_out, Site::mlp_out, Site::z};
    const auto act = activation_patching(e, clean, corrupt, sites, o);
    const auto att = attribution_patching(e, clean, corrupt, sites, o);
    report((std::string(f) + " fixture").c_str(), act, att);
    EXPECT_GT(correlation(act[3], att[3]), 0.9) << f;
  }
}

TEST(AttributionPatching, ExactOnTheHandBuiltInductionModel) {
  // Soft attention; the answer depends on an earlier token through the induction head's values.
  const Trainable tr = antest::induction_by_hand(4.f);
  Engine e(tr.model());
  const Batch clean = Batch::from_rows({{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 9, 8, 7, 6}});
  const Batch corrupt = Batch::from_rows({{1, 2, 3, 4, 11, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 12, 4, 3, 2, 9, 8, 7, 6}});
  const auto o = opts({5, 5}, {11, 12});
  const std::vector<Site> s2 = {Site::resid_pre, Site::attn_out};
  const auto act = activation_patching(e, clean, corrupt, s2, o);
  const auto att = attribution_patching(e, clean, corrupt, s2, o);
  EXPECT_GT(report("hand-built induction", act, att), 0.99);
}

}  // namespace
