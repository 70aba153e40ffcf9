// Steering sweeps as charts and page sections.
#include "glassbox/pages/steering.h"

#include <algorithm>
#include <cmath>

namespace glassbox::pages {

using steering::Sweep;
using steering::SweepCell;

namespace {

std::string num(double v, const char* f = "%.3f") { return report::format_number(v, f); }
std::string layer_name(int l) { return l < 0 ? "all layers" : "layer " + std::to_string(l); }

// Rows (layers, in sweep order) and columns (coefficients, in sweep order).
void grid(const Sweep& s, std::vector<int>& layers, std::vector<float>& coefs) {
  for (const SweepCell& c : s.cells) {
    if (std::find(layers.begin(), layers.end(), c.layer) == layers.end()) layers.push_back(c.layer);
    if (std::find(coefs.begin(), coefs.end(), c.coefficient) == coefs.end()) coefs.push_back(c.coefficient);
  }
}

std::string effect_label(const Sweep& s) {
  return s.effect_kind == steering::EffectKind::MarkerRate ? "marker rate" : "target log-prob";
}

}  // namespace

report::json steering_effect_heatmap(const Sweep& s) {
  std::vector<int> layers;
  std::vector<float> coefs;
  grid(s, layers, coefs);
  std::vector<std::string> rows, cols;
  for (int l : layers) rows.push_back(layer_name(l));
  for (float c : coefs) cols.push_back(num(c, "%+g"));
  std::vector<float> values(rows.size() * cols.size(), NAN);
  for (const SweepCell& c : s.cells) {
    const size_t r = size_t(std::find(layers.begin(), layers.end(), c.layer) - layers.begin());
    const size_t k = size_t(std::find(coefs.begin(), coefs.end(), c.coefficient) - coefs.begin());
    values[r * cols.size() + k] = float(c.effect);
  }
  return report::heatmap(effect_label(s) + " by layer and coefficient (unsteered " + num(s.baseline_effect) + ")",
                         rows, cols, values, effect_label(s), false, "layer", "coefficient");
}

report::json steering_tradeoff_chart(const Sweep& s) {
  if (!std::isfinite(s.baseline_ce)) return nullptr;
  std::vector<report::Series> series;
  for (const SweepCell& c : s.cells) {
    const std::string name = layer_name(c.layer);
    auto it = std::find_if(series.begin(), series.end(), [&](const auto& x) { return x.name == name; });
    if (it == series.end()) it = series.insert(series.end(), report::Series{name, {}, {}});
    it->x.push_back(float(100 * c.ce_ratio));
    it->y.push_back(float(c.effect));
  }
  series.push_back({"unsteered", {float(s.baseline_effect)}, {0.f}});
  return report::line_chart("Effect against side effect (each point a coefficient)", series,
                            "benign cross-entropy change (%)", effect_label(s));
}

void add_steering_sections(report::Page& page, const Sweep& s, bool want_increase, double max_ce_ratio) {
  report::Card summary{"Sweep", {{"direction", s.direction}, {"method", to_string(s.method)},
                                 {"effect", effect_label(s)}, {"held-out prompts", std::to_string(s.prompts)},
                                 {"unsteered effect", num(s.baseline_effect)},
                                 {"unsteered benign CE", num(s.baseline_ce)}}};
  if (!s.marker.empty()) summary.fields.push_back({"marker", report::display_token(s.marker)});
  page.add_card(summary);
  if (const SweepCell* b = s.best(want_increase, max_ce_ratio))
    page.add_card({"Best cell (CE within " + num(100 * max_ce_ratio, "%g") + "%)",
                   {{"layer", layer_name(b->layer)}, {"coefficient", num(b->coefficient, "%+g")},
                    {"effect", num(b->effect)}, {"benign CE change", num(100 * b->ce_ratio, "%+.2f") + "%"}}});
  else
    page.add_card({"No cell reached the goal",
                   {},
                   "No cell " + std::string(want_increase ? "raised" : "lowered") + " the " + effect_label(s) +
                       " from the unsteered " + num(s.baseline_effect) + " with the benign CE change within " +
                       num(100 * max_ce_ratio, "%g") + "%."});
  page.add_heading("Effect");
  page.add_chart(steering_effect_heatmap(s), "The behaviour on held-out prompts in every cell of the grid.");
  const report::json tradeoff = steering_tradeoff_chart(s);
  if (!tradeoff.is_null()) {
    page.add_heading("Effect against side effect");
    page.add_chart(tradeoff, "Cross-entropy on benign held-out text, relative to the unsteered model.");
  }
  page.add_heading("All cells");
  std::vector<std::vector<std::string>> rows;
  for (const SweepCell& c : s.cells)
    rows.push_back({layer_name(c.layer), num(c.coefficient, "%+g"), num(c.effect), num(c.ce),
                    num(100 * c.ce_ratio, "%+.2f")});
  page.add_table({"layer", "coefficient", effect_label(s), "benign CE", "CE change %"}, rows);
}

}  // namespace glassbox::pages
