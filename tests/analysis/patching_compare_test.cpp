#include <gtest/gtest.h>

#include "analysis_test_util.h"
#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/analysis/patching_compare.h"
#include "glassbox/analysis/strongest_head.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

struct PairRun {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e{m};
  Batch clean = Batch::single(antest::random_tokens(8, m.config().d_vocab, 7));
  Batch corrupt = clean;
  PatchingOptions opt;
  const std::vector<Site> sites = {Site::resid_pre, Site::z};
  PairRun() {
    corrupt.tokens[3] = (corrupt.tokens[3] + 17) % m.config().d_vocab;
    opt.metric.answer = {10};
    opt.metric.wrong = {20};
  }
};

TEST(PatchingCompare, BothMethodsGiveTheirGridsAndOneCorrelationPerSite) {
  PairRun r;
  const PatchRun run = run_patching(r.e, r.clean, r.corrupt, r.sites, r.opt, true, true);
  ASSERT_EQ(run.activation.size(), 2u);
  ASSERT_EQ(run.attribution.size(), 2u);
  ASSERT_EQ(run.correlation.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(run.correlation.at(run.activation[i].hook), correlation(run.activation[i], run.attribution[i]));
  const auto grids = run.grids();
  ASSERT_EQ(grids.size(), 4u);
  EXPECT_EQ(grids[0].method, "activation_patching");
  EXPECT_EQ(grids[3].method, "attribution_patching");
  const nlohmann::json j = run.to_json();
  EXPECT_EQ(j["grids"].size(), 4u);
  EXPECT_EQ(j["correlation"].size(), 2u);
  // The same grids as the techniques called one by one.
  EXPECT_EQ(run.attribution[1].values, attribution_patching(r.e, r.clean, r.corrupt, r.sites, r.opt)[1].values);
}

TEST(PatchingCompare, OneMethodAloneHasNoCorrelation) {
  PairRun r;
  const PatchRun act = run_patching(r.e, r.clean, r.corrupt, r.sites, r.opt, true, false);
  EXPECT_EQ(act.activation.size(), 2u);
  EXPECT_TRUE(act.attribution.empty());
  EXPECT_TRUE(act.correlation.empty());
  EXPECT_TRUE(act.to_json()["correlation"].is_object());
  const PatchRun att = run_patching(r.e, r.clean, r.corrupt, r.sites, r.opt, false, true);
  EXPECT_TRUE(att.activation.empty());
  EXPECT_EQ(att.grids().size(), 2u);
}

TEST(StrongestHead, FurthestFromTheBaselineFromTheFirstLayerOn) {
  PatchGrid g;
  g.hook = "attn.hook_z";
  g.by_head = true;
  g.n_layers = 3;
  g.n_cols = 2;
  g.values = {0.0f, 1.0f,   // layer 0: the largest effect, skipped from layer 1 on
              0.75f, 1.5f,  // |1 - 1.5| = 0.5
              0.5f, 0.875f};  // |1 - 0.5| = 0.5: a tie, the earlier cell wins
  const auto any = strongest_head(g, 1.f);
  ASSERT_TRUE(any);
  EXPECT_EQ(any->layer, 0);
  EXPECT_EQ(any->head, 0);
  const auto later = strongest_head(g, 1.f, 1);
  ASSERT_TRUE(later);
  EXPECT_EQ(later->layer, 1);
  EXPECT_EQ(later->head, 1);
  EXPECT_EQ(later->value, 1.5f);
  EXPECT_FALSE(strongest_head(g, 1.f, 3));  // no such layer
  g.by_head = false;
  EXPECT_THROW(strongest_head(g, 1.f), Error);
}

}  // namespace
