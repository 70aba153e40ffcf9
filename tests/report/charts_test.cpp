// Chart builders: spec shapes and size checks.
#include <cmath>

#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/report.h"

namespace report = glassbox::report;
using report::json;

TEST(Heatmap, HasOneDatumPerCellKeyedByIndex) {
  // Repeated labels (tokens) must not merge cells.
  std::vector<std::string> rows = {"the", "cat", "the"};
  std::vector<std::string> cols = {"a", "b"};
  std::vector<float> v = {0, 1, 2, 3, 4, 5};
  json spec = report::heatmap("pattern", rows, cols, v, "attention", false, "query", "key");

  EXPECT_EQ(spec["$schema"], "https://vega.github.io/schema/vega-lite/v5.json");
  EXPECT_EQ(spec["mark"]["type"], "rect");
  const json& values = spec["data"]["values"];
  ASSERT_EQ(values.size(), rows.size() * cols.size());
  EXPECT_EQ(values[5]["row"], 2);
  EXPECT_EQ(values[5]["col"], 1);
  EXPECT_EQ(values[5]["row_label"], "the");
  EXPECT_EQ(values[5]["value"], 5.0f);
  EXPECT_EQ(spec["encoding"]["x"]["field"], "col");
  EXPECT_EQ(spec["encoding"]["y"]["title"], "query");
  EXPECT_EQ(spec["encoding"]["tooltip"].size(), 3u);
  EXPECT_NE(spec["encoding"]["y"]["axis"]["labelExpr"].get<std::string>().find("\"cat\""),
            std::string::npos);
}

TEST(Heatmap, RejectsValueCountOtherThanRowsTimesCols) {
  EXPECT_THROW(report::heatmap("t", {"a", "b"}, {"x", "y", "z"}, std::vector<float>(5), "v"),
               glassbox::Error);
  EXPECT_THROW(report::heatmap("t", {"a"}, {"x"}, {}, "v"), glassbox::Error);
}

TEST(Heatmap, DivergingScaleIsSymmetricAroundZero) {
  json spec = report::heatmap("patching", {"L0", "L1"}, {"0", "1"}, {-0.5f, 2.0f, 0.0f, 1.0f},
                              "logit diff", true);
  const json& scale = spec["encoding"]["color"]["scale"];
  ASSERT_EQ(scale["domain"].size(), 3u);
  EXPECT_EQ(scale["domain"][0], -2.0f);
  EXPECT_EQ(scale["domain"][1], 0.0f);
  EXPECT_EQ(scale["domain"][2], 2.0f);
  EXPECT_EQ(scale["range"][1], "#ffffff");
}

TEST(Heatmap, NonFiniteValuesBecomeNull) {
  json spec = report::heatmap("t", {"a"}, {"x", "y"}, {NAN, INFINITY}, "v");
  EXPECT_TRUE(spec["data"]["values"][0]["value"].is_null());
  EXPECT_TRUE(spec["data"]["values"][1]["value"].is_null());
}

TEST(LineChart, OneDatumPerPointWithDefaultX) {
  json spec = report::line_chart("loss", {{"train", {3.0f, 2.0f, 1.5f}}, {"val", {3.1f, 2.4f}}},
                                 "step", "loss", true);
  const json& values = spec["data"]["values"];
  ASSERT_EQ(values.size(), 5u);
  EXPECT_EQ(values[2]["x"], 2.0f);
  EXPECT_EQ(values[4]["series"], "val");
  EXPECT_EQ(spec["encoding"]["y"]["scale"]["type"], "log");
  EXPECT_EQ(spec["encoding"]["color"]["sort"], json({"train", "val"}));
  EXPECT_EQ(spec["layer"][0]["mark"]["type"], "line");
}

TEST(LineChart, RejectsXAndYOfDifferentLengths) {
  EXPECT_THROW(report::line_chart("t", {{"s", {1, 2, 3}, {0, 1}}}, "x", "y"), glassbox::Error);
}

TEST(BarChart, KeepsOrderAndRejectsMismatch) {
  json spec = report::bar_chart("top tokens", {" Paris", " London"}, {3.5f, -1.0f}, "token", "logit");
  ASSERT_EQ(spec["data"]["values"].size(), 2u);
  EXPECT_EQ(spec["data"]["values"][1]["label"], " London");
  EXPECT_EQ(spec["mark"]["type"], "bar");
  EXPECT_THROW(report::bar_chart("t", {"a"}, {1, 2}, "x", "y"), glassbox::Error);
}

TEST(Charts, InvalidUtf8LabelsDoNotBreakSerialisation) {
  json spec = report::heatmap("t", {std::string("\xE2\x96")}, {"x"}, {1.0f}, "v");
  EXPECT_NO_THROW((void)spec.dump(-1, ' ', false, json::error_handler_t::replace));
}

// Layers (and steps) are whole numbers: the axis ticks only at whole numbers
// (a layer axis read 0, 0.2, 0.4 ... before); fractional x keeps a plain axis.
TEST(LineChart, WholeNumberXGetsWholeNumberTicks) {
  const json layers = report::line_chart("auroc", {{"resid_post", {0.5f, 0.9f, 0.7f}, {0, 1, 2}}}, "layer", "AUROC");
  EXPECT_EQ(layers["encoding"]["x"]["axis"]["tickMinStep"], 1);
  EXPECT_EQ(layers["encoding"]["x"]["axis"]["format"], "d");
  const json frac = report::line_chart("ce", {{"c", {1, 2}, {0.5f, 1.5f}}}, "coefficient", "CE");
  EXPECT_FALSE(frac["encoding"]["x"].contains("axis"));
}
