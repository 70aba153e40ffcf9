// Vega-Lite v5 specs for the charts reports use. The page applies the theme
// (fonts, colours) at render time, so specs carry data and encodings only.
#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/report.h"

namespace glassbox::report {
namespace {

constexpr const char* kSchema = "https://vega.github.io/schema/vega-lite/v5.json";

json number(float v) { return std::isfinite(v) ? json(v) : json(nullptr); }

// Cells and bars are keyed by index (labels such as tokens repeat); the axis
// shows the label through an expression indexing a literal array. A JSON
// array of strings is a valid Vega expression literal.
json index_axis(const std::vector<std::string>& labels) {
  return {{"labelExpr", json(labels).dump(-1, ' ', true, json::error_handler_t::replace) +
                            "[datum.value]"}};
}

size_t longest(const std::vector<std::string>& labels) {
  size_t n = 0;
  for (const auto& l : labels) n = std::max(n, l.size());
  return n;
}

json title_or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

}  // namespace

json line_chart(const std::string& title, const std::vector<Series>& series,
                const std::string& x_label, const std::string& y_label, bool log_y) {
  json values = json::array();
  json names = json::array();
  size_t points = 0;
  for (const Series& s : series) {
    if (!s.x.empty() && s.x.size() != s.y.size()) {
      fail("report::line_chart '", title, "': series '", s.name, "' has ", s.x.size(),
           " x values and ", s.y.size(), " y values");
    }
    names.push_back(s.name);
    for (size_t i = 0; i < s.y.size(); ++i) {
      float x = s.x.empty() ? static_cast<float>(i) : s.x[i];
      values.push_back({{"series", s.name}, {"x", number(x)}, {"y", number(s.y[i])}});
    }
    points += s.y.size();
  }

  // Log axes round out to whole decades by default, which wastes most of
  // the height on a loss curve.
  json y_scale = log_y ? json{{"type", "log"}, {"nice", false}} : json{{"zero", false}};
  json encoding = {
      {"x", {{"field", "x"}, {"type", "quantitative"}, {"title", title_or_null(x_label)}}},
      {"y", {{"field", "y"}, {"type", "quantitative"}, {"title", title_or_null(y_label)},
             {"scale", y_scale}}},
      {"color", {{"field", "series"}, {"type", "nominal"}, {"title", nullptr},
                 {"sort", names}}}};
  if (series.size() <= 1) encoding["color"]["legend"] = nullptr;

  json layers = json::array();
  layers.push_back({{"mark", {{"type", "line"}, {"strokeWidth", 2}}}});
  // Hover dots with tooltips: one invisible point per datum plus a Voronoi
  // layer, so left out for very long series where the SVG would get heavy.
  if (points <= 5000) {
    layers.push_back(
        {{"params", {{{"name", "hover"},
                      {"select", {{"type", "point"}, {"on", "pointerover"},
                                  {"clear", "pointerout"}, {"nearest", true}}}}}},
         {"mark", {{"type", "point"}, {"filled", true}, {"size", 60}}},
         {"encoding",
          {{"opacity", {{"condition", {{"param", "hover"}, {"empty", false}, {"value", 1}}},
                        {"value", 0}}},
           {"tooltip", json::array({
                           {{"field", "series"}, {"type", "nominal"}, {"title", "series"}},
                           {{"field", "x"}, {"type", "quantitative"},
                            {"title", x_label.empty() ? "x" : x_label}, {"format", "~g"}},
                           {{"field", "y"}, {"type", "quantitative"},
                            {"title", y_label.empty() ? "y" : y_label}, {"format", ".4~g"}},
                       })}}}});
  }

  json spec = {{"$schema", kSchema},
               {"title", title},
               {"width", "container"},
               {"height", 280},
               {"data", {{"values", std::move(values)}}},
               {"encoding", std::move(encoding)},
               {"layer", std::move(layers)}};
  if (log_y) spec["transform"] = json::array({{{"filter", "datum.y > 0"}}});
  return spec;
}

json heatmap(const std::string& title, const std::vector<std::string>& row_labels,
             const std::vector<std::string>& col_labels, const std::vector<float>& values,
             const std::string& color_label, bool diverging, const std::string& row_title,
             const std::string& col_title) {
  const size_t rows = row_labels.size(), cols = col_labels.size();
  if (values.size() != rows * cols) {
    fail("report::heatmap '", title, "': ", values.size(), " values for ", rows, " rows x ", cols,
         " columns (expected ", rows * cols, ", row-major)");
  }
  json data = json::array();
  float lo = INFINITY, hi = -INFINITY;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < cols; ++c) {
      float v = values[r * cols + c];
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      data.push_back({{"row", r}, {"col", c}, {"row_label", row_labels[r]},
                      {"col_label", col_labels[c]}, {"value", number(v)}});
    }
  }

  json scale;
  if (diverging) {
    float m = std::max(std::fabs(lo), std::fabs(hi));
    if (!std::isfinite(m) || m == 0) m = 1;
    // Explicit stops so that 0 is white (vega's "redblue" centres on grey).
    scale = {{"domain", {-m, 0.0f, m}}, {"range", {"#b2182b", "#ffffff", "#2166ac"}},
             {"interpolate", "lab"}};
  } else {
    // White at the low end (0 when nothing is negative: attention that is
    // not there), through mid blue to navy; vega's "blues" starts light blue.
    float a = std::isfinite(lo) ? std::min(lo, 0.0f) : 0.0f;
    float b = std::isfinite(hi) && hi > a ? hi : a + 1;
    scale = {{"domain", {a, (a + b) / 2, b}}, {"range", {"#ffffff", "#6baed6", "#08306b"}},
             {"interpolate", "lab"}};  // hcl (the default) tints white cyan
  }

  // Square cells, as large as fit a ~760 x 560 area, within [3, 30] px.
  const int cell = static_cast<int>(std::clamp<size_t>(std::min(760 / std::max<size_t>(cols, 1),
                                                                560 / std::max<size_t>(rows, 1)),
                                                       3, 30));
  json x_axis = index_axis(col_labels);
  x_axis["labelAngle"] = longest(col_labels) > 3 ? -45 : 0;
  // Diagonal labels one cell apart do not touch even when their boxes do.
  x_axis["labelOverlap"] = cell >= 12 ? json(false) : json("parity");
  json y_axis = index_axis(row_labels);
  y_axis["labelOverlap"] = cell >= 12 ? json(false) : json("parity");

  const std::string rt = row_title.empty() ? "row" : row_title;
  const std::string ct = col_title.empty() ? "column" : col_title;
  const std::string vt = color_label.empty() ? "value" : color_label;
  return {{"$schema", kSchema},
          {"title", title},
          {"data", {{"values", std::move(data)}}},
          {"width", {{"step", cell}}},
          {"height", {{"step", cell}}},
          {"mark", {{"type", "rect"}}},
          {"view", {{"stroke", "#dde2e8"}}},  // outlines white (masked) regions
          {"encoding",
           {{"x", {{"field", "col"}, {"type", "ordinal"}, {"title", title_or_null(col_title)},
                   {"axis", x_axis}}},
            {"y", {{"field", "row"}, {"type", "ordinal"}, {"title", title_or_null(row_title)},
                   {"axis", y_axis}}},
            {"color", {{"field", "value"}, {"type", "quantitative"},
                       {"title", title_or_null(color_label)}, {"scale", scale}}},
            {"tooltip", json::array({
                            {{"field", "row_label"}, {"type", "nominal"}, {"title", rt}},
                            {{"field", "col_label"}, {"type", "nominal"}, {"title", ct}},
                            {{"field", "value"}, {"type", "quantitative"}, {"title", vt},
                             {"format", ".4~g"}},
                        })}}}};
}

json bar_chart(const std::string& title, const std::vector<std::string>& labels,
               const std::vector<float>& values, const std::string& label_title,
               const std::string& value_title) {
  if (labels.size() != values.size()) {
    fail("report::bar_chart '", title, "': ", labels.size(), " labels and ", values.size(),
         " values");
  }
  json data = json::array();
  for (size_t i = 0; i < labels.size(); ++i) {
    data.push_back({{"i", i}, {"label", labels[i]}, {"value", number(values[i])}});
  }
  return {{"$schema", kSchema},
          {"title", title},
          {"data", {{"values", std::move(data)}}},
          {"width", "container"},
          {"height", {{"step", 20}}},
          {"mark", {{"type", "bar"}, {"cornerRadiusEnd", 2}}},
          {"encoding",
           {{"y", {{"field", "i"}, {"type", "ordinal"}, {"title", title_or_null(label_title)},
                   {"axis", index_axis(labels)}}},
            {"x", {{"field", "value"}, {"type", "quantitative"},
                   {"title", title_or_null(value_title)}}},
            {"color", {{"condition", {{"test", "datum.value < 0"}, {"value", "#c53d35"}}},
                       {"value", "#3b6fb6"}}},
            {"tooltip",
             json::array({
                 {{"field", "label"}, {"type", "nominal"},
                  {"title", label_title.empty() ? "label" : label_title}},
                 {{"field", "value"}, {"type", "quantitative"},
                  {"title", value_title.empty() ? "value" : value_title}, {"format", ".4~g"}},
             })}}}};
}

}  // namespace glassbox::report
