#include <gtest/gtest.h>

#include "analysis/analysis_test_util.h"
#include "glassbox/error.h"
#include "glassbox/pages/charts.h"

using namespace glassbox;
using report::json;

namespace {

TEST(Charts, LabelsNameLayersHeadsAndPositions) {
  EXPECT_EQ(pages::layer_labels(3), (std::vector<std::string>{"L0", "L1", "L2"}));
  EXPECT_EQ(pages::head_labels(2), (std::vector<std::string>{"H0", "H1"}));
  const Trainable tr = antest::induction_by_hand();  // no tokenizer: ids
  EXPECT_EQ(pages::position_labels(tr.model(), {5, 7}), (std::vector<std::string>{"0 #5", "1 #7"}));
}

TEST(Charts, PatchGridByHeadLabelsItsColumnsWithHeads) {
  analysis::PatchGrid g;
  g.hook = "attn.hook_z";
  g.by_head = true;
  g.n_layers = 2;
  g.n_cols = 3;
  g.values = {0, 1, 2, 3, 4, 5};
  const json spec = pages::patch_heatmap(g, {"ignored"});
  EXPECT_EQ(spec["title"], "activation_patching: attn.hook_z");
  ASSERT_EQ(spec["data"]["values"].size(), 6u);
  EXPECT_EQ(spec["data"]["values"][5]["row_label"], "L1");
  EXPECT_EQ(spec["encoding"]["y"]["title"], "layer");
  EXPECT_EQ(spec["encoding"]["x"]["title"], "head");
  g.first_layer = 30;  // `patch --first-layer 30`: the rows are layers 30 and 31
  EXPECT_EQ(pages::patch_heatmap(g, {"ignored"})["data"]["values"][5]["row_label"], "L31");
}

TEST(Charts, PatchGridByPositionTakesTheColumnLabels) {
  analysis::PatchGrid g;
  g.hook = "hook_resid_pre";
  g.n_layers = 1;
  g.n_cols = 2;
  g.values = {0.5f, 1};
  const json spec = pages::patch_heatmap(g, {"0 a", "1 b"});
  EXPECT_EQ(spec["encoding"]["x"]["title"], "position");
  EXPECT_EQ(spec["data"]["values"][1]["value"], 1.0f);
  EXPECT_THROW(pages::patch_heatmap(g, {"0 a"}), Error);  // one label per column
}

TEST(Charts, HeadScoresAndDlaAreLayerByHead) {
  analysis::HeadScores s{"induction", 2, 2, {0, 0.1f, 0.2f, 0.9f}};
  const json a = pages::head_score_heatmap(s);
  EXPECT_EQ(a["title"], "induction score");
  EXPECT_EQ(a["data"]["values"][3]["value"], 0.9f);
  analysis::DlaResult r;
  r.n_layers = 1;
  r.n_heads = 2;
  r.by_head = {1.5, -2.0};
  const json b = pages::dla_head_heatmap(r);
  EXPECT_EQ(b["data"]["values"].size(), 2u);
  EXPECT_EQ(b["data"]["values"][1]["value"], -2.0f);
}

TEST(Charts, AttentionHeatmapIsOneHeadOfRowZero) {
  const Trainable tr = antest::induction_by_hand();
  std::vector<float> v(2 * 2 * 2 * 2);
  for (size_t i = 0; i < v.size(); ++i) v[i] = float(i);
  const Tensor pattern = Tensor::from_f32(v.data(), {2, 2, 2, 2});  // [B, H, T, T]
  const json spec = pages::attention_heatmap(tr.model(), {3, 4}, pattern, 1, 1);
  EXPECT_EQ(spec["title"], "L1H1");
  ASSERT_EQ(spec["data"]["values"].size(), 4u);
  EXPECT_EQ(spec["data"]["values"][0]["value"], 4.f);  // head 1 of row 0
  EXPECT_EQ(spec["data"]["values"][0]["row_label"], "#3");
  EXPECT_EQ(spec["encoding"]["y"]["title"], "query");
  EXPECT_THROW(pages::attention_heatmap(tr.model(), {3, 4, 5}, pattern, 0, 0), Error);
  EXPECT_THROW(pages::attention_heatmap(tr.model(), {3, 4}, pattern, 0, 2), Error);
}

TEST(Charts, DlaComponentsAndLensComparisonAndLossCurve) {
  analysis::DlaResult r;
  r.by_layer = {{"hook_embed", 0.5}, {"bias", -0.25}};
  const json bars = pages::dla_component_chart(r);
  EXPECT_EQ(bars["title"], "by component");
  EXPECT_EQ(bars["data"]["values"].size(), 2u);

  analysis::LensComparison c;
  c.layers = {"embed", "L0"};
  c.logit_lens_kl = {2, 1};
  c.tuned_lens_kl = {1, 0.5};
  const json lines = pages::lens_comparison_chart(c);
  EXPECT_EQ(lines["title"], "KL to the final distribution by layer");
  EXPECT_EQ(lines["data"]["values"].size(), 4u);  // two series of two layers

  EXPECT_TRUE(pages::loss_curve_chart(nullptr).is_null());
  EXPECT_TRUE(pages::loss_curve_chart(json::object()).is_null());
  const json log = {{"log", {{{"step", 0}, {"loss", 3.0}, {"eval_loss", 3.5}}, {{"step", 10}, {"loss", 2.0}}}}};
  const json loss = pages::loss_curve_chart(log);
  EXPECT_EQ(loss["title"], "Loss curve");
  EXPECT_EQ(loss["data"]["values"].size(), 3u);  // two training points, one held-out
}

}  // namespace
