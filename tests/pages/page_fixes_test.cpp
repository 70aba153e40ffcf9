// What the guides found missing on pages: the lens's predicted token, the
// sweep's direction and an honest "best cell", edit scores of 0 visible.
#include <gtest/gtest.h>

#include <cmath>

#include "analysis/analysis_test_util.h"
#include "glassbox/pages/charts.h"
#include "glassbox/pages/editing.h"
#include "glassbox/pages/steering.h"

using namespace glassbox;
using report::json;

namespace {

TEST(LensPage, TooltipAndCellsNameThePredictedToken) {
  const Trainable tr = antest::induction_by_hand();  // no tokenizer: "#id"
  analysis::LogitLensResult r;
  r.layers = {"blocks.0.hook_resid_pre", "blocks.0.hook_resid_post"};
  r.positions = {0, 1};
  r.tokens = {3, 4};
  for (int32_t t : {5, 6, 7, 8}) {
    analysis::LensCell c;
    c.top_tokens = {t};
    c.top_probs = {0.5f};
    r.cells.push_back(c);
  }
  const json spec = pages::lens_heatmap(tr.model(), r);
  EXPECT_EQ(spec["data"]["values"][2]["top"], "#7");
  bool in_tooltip = false;
  for (const json& t : spec["encoding"]["tooltip"]) in_tooltip |= t["field"] == "top";
  EXPECT_TRUE(in_tooltip);
  ASSERT_TRUE(spec.contains("layer"));  // 2 x 2 cells are large: the token is written in them
  EXPECT_EQ(spec["layer"][1]["mark"]["type"], "text");
  EXPECT_EQ(spec["layer"][1]["encoding"]["text"]["field"], "top");
}

steering::Sweep decrease_sweep(double effect) {
  steering::Sweep s;
  s.baseline_effect = 0.4;
  s.baseline_ce = 2;
  for (float c : {-1.f, -2.f}) s.cells.push_back({1, c, effect, 2.0, 0.0});
  return s;
}

TEST(SteeringPage, NoBestCellWhenNothingMovedTheEffect) {
  const steering::Sweep flat = decrease_sweep(0.4);  // every cell as unsteered
  EXPECT_EQ(flat.best(/*want_increase=*/false, 0.05), nullptr);
  report::Page page("sweep");
  pages::add_steering_sections(page, flat, false, 0.05);
  const std::string html = page.html();
  EXPECT_NE(html.find("No cell reached the goal"), std::string::npos);
  EXPECT_EQ(html.find("Best cell"), std::string::npos);
  const steering::Sweep moved = decrease_sweep(0.1);
  ASSERT_NE(moved.best(false, 0.05), nullptr);
  report::Page page2("sweep");
  pages::add_steering_sections(page2, moved, false, 0.05);
  EXPECT_NE(page2.html().find("Best cell"), std::string::npos);
}

TEST(EditingPage, ZeroScoresAreColouredAndMissingOnesGrey) {
  editing::MethodScores s;
  s.batch_size = 1;
  s.efficacy = 0, s.paraphrase = NAN, s.neighbourhood = 1;
  const json spec = pages::editing_scores_heatmap({s});
  const json& color = spec["encoding"]["color"];
  EXPECT_EQ(color["scale"]["scheme"], "viridis");  // 0 is dark, not the page's white
  EXPECT_FALSE(color["scale"].contains("range"));
  EXPECT_EQ(color["condition"]["value"], "#c8ccd2");
  EXPECT_TRUE(spec["mark"].contains("invalid") && spec["mark"]["invalid"].is_null());  // missing cells drawn (grey), not left out
  EXPECT_TRUE(spec["data"]["values"][1]["value"].is_null());
}

}  // namespace
