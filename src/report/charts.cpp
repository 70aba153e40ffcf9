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
  bool whole_x = true;  // layers, steps: ticks at whole numbers only, not 0.2, 0.4 ...
  for (const Series& s : series) {
    if (!s.x.empty() && s.x.size() != s.y.size()) {
      fail("report::line_chart '", title, "': series '", s.name, "' has ", s.x.size(),
           " x values and ", s.y.size(), " y values");
    }
    names.push_back(s.name);
    for (size_t i = 0; i < s.y.size(); ++i) {
      float x = s.x.empty() ? static_cast<float>(i) : s.x[i];
      whole_x = whole_x && (!std::isfinite(x) || x == std::round(x));
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
  if (whole_x) encoding["x"]["axis"] = {{"tickMinStep", 1}, {"format", "d"}};

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

json graph_chart(const std::string& title, const std::vector<GraphNode>& nodes,
                 const std::vector<GraphEdge>& edges, const std::string& weight_title,
                 size_t shown, const std::string& highlight_title) {
  float x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  json node_data = json::array();
  for (size_t i = 0; i < nodes.size(); ++i) {
    const GraphNode& n = nodes[i];
    if (i == 0) x0 = x1 = n.x, y0 = y1 = n.y;
    x0 = std::min(x0, n.x), x1 = std::max(x1, n.x), y0 = std::min(y0, n.y), y1 = std::max(y1, n.y);
    node_data.push_back({{"name", n.name}, {"x", number(n.x)}, {"y", number(n.y)}, {"group", n.group}});
  }
  std::vector<size_t> order(edges.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::fabs(edges[a].weight) > std::fabs(edges[b].weight);
  });
  // Three points per edge; the middle one, pushed sideways by a fifth of the
  // edge's length (alternating sides), bends it so that edges skipping rows
  // of nodes do not run over them.
  json edge_data = json::array();
  for (size_t r = 0; r < order.size(); ++r) {
    const GraphEdge& e = edges[order[r]];
    if (e.from >= nodes.size() || e.to >= nodes.size()) {
      fail("report::graph_chart '", title, "': edge ", order[r], " joins nodes ", e.from, " and ", e.to,
           " but there are ", nodes.size(), " nodes");
    }
    const GraphNode &a = nodes[e.from], &b = nodes[e.to];
    const float dx = b.x - a.x, dy = b.y - a.y;
    const float side = ((e.from + e.to) % 2 ? 0.2f : -0.2f) * (1 + 0.6f * float(e.lane));
    const float px[3] = {a.x, (a.x + b.x) / 2 - side * dy, b.x};
    const float py[3] = {a.y, (a.y + b.y) / 2 + side * dx, b.y};
    for (int k = 0; k < 3; ++k) {
      edge_data.push_back({{"edge", r}, {"k", k}, {"x", number(px[k])}, {"y", number(py[k])},
                           {"from", a.name}, {"to", e.to_label.empty() ? b.name : e.to_label},
                           {"weight", number(e.weight)},
                           {"abs", number(std::fabs(e.weight))},
                           {"sign", e.weight < 0 ? "negative" : "positive"},
                           {"highlighted", e.highlighted ? "yes" : "no"}});
    }
  }
  const json x_scale = {{"domain", {x0 - 0.7f, x1 + 0.7f}}, {"nice", false}};
  const json y_scale = {{"domain", {y0 - 0.5f, y1 + 0.5f}}, {"nice", false}};
  const json x = {{"field", "x"}, {"type", "quantitative"}, {"axis", nullptr}, {"scale", x_scale}};
  const json y = {{"field", "y"}, {"type", "quantitative"}, {"axis", nullptr}, {"scale", y_scale}};
  const std::string wt = weight_title.empty() ? "weight" : weight_title;
  json edge_layer = {
      {"data", {{"values", std::move(edge_data)}}},
      {"transform", json::array({{{"filter", "datum.edge < top"}}})},
      {"mark", {{"type", "line"}, {"interpolate", "basis"}, {"opacity", 0.75}}},
      {"encoding",
       {{"x", x}, {"y", y}, {"detail", {{"field", "edge"}, {"type", "nominal"}}},
        {"order", {{"field", "k"}, {"type", "quantitative"}}},
        {"color", {{"field", "sign"}, {"type", "nominal"}, {"title", wt},
                   {"scale", {{"domain", {"positive", "negative"}}, {"range", {"#3b6fb6", "#c53d35"}}}}}},
        {"strokeWidth", {{"field", "abs"}, {"type", "quantitative"}, {"title", "|" + wt + "|"},
                         {"scale", {{"range", {0.5, 6}}}}}},
        {"strokeDash", {{"field", "highlighted"}, {"type", "nominal"}, {"title", highlight_title},
                        {"scale", {{"domain", {"yes", "no"}}, {"range", {json::array({1, 0}), json::array({4, 3})}}}}}},
        {"tooltip", json::array({{{"field", "from"}, {"type", "nominal"}},
                                 {{"field", "to"}, {"type", "nominal"}},
                                 {{"field", "weight"}, {"type", "quantitative"}, {"title", wt}, {"format", ".4~g"}}})}}}};
  json node_layer = {
      {"mark", {{"type", "circle"}, {"size", 260}, {"opacity", 1}, {"stroke", "#ffffff"}, {"strokeWidth", 1.5}}},
      {"encoding",
       // dark2 has neither of the edges' blue and red.
       {{"x", x}, {"y", y},
        {"color", {{"field", "group"}, {"type", "nominal"}, {"title", "node"}, {"scale", {{"scheme", "dark2"}}}}},
        {"tooltip", json::array({{{"field", "name"}, {"type", "nominal"}, {"title", "node"}},
                                 {{"field", "group"}, {"type", "nominal"}}})}}}};
  json label_layer = {{"mark", {{"type", "text"}, {"dy", -15}, {"fontSize", 10}}},
                      {"encoding", {{"x", x}, {"y", y}, {"text", {{"field", "name"}}}}}};
  json node_layers = {{"data", {{"values", std::move(node_data)}}},
                      {"layer", json::array({std::move(node_layer), std::move(label_layer)})}};
  const double width = std::clamp(110.0 * (x1 - x0 + 1.4), 320.0, 1100.0);
  const double height = std::clamp(70.0 * (y1 - y0 + 1), 220.0, 1600.0);
  return {{"$schema", kSchema},
          {"title", title},
          {"width", width},
          {"height", height},
          {"params", json::array({{{"name", "top"},
                                   {"value", std::min(shown, edges.size())},
                                   {"bind", {{"input", "range"}, {"min", 0}, {"max", edges.size()}, {"step", 1},
                                             {"name", "edges shown (strongest first) "}}}}})},
          {"layer", json::array({std::move(edge_layer), std::move(node_layers)})},
          {"resolve", {{"scale", {{"color", "independent"}}}}},
          {"view", {{"stroke", nullptr}}}};
}

}  // namespace glassbox::report
