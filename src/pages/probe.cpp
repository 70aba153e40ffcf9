// Probe sweeps as charts and page sections.
#include "glassbox/pages/probe.h"

#include <cmath>
#include <functional>

namespace glassbox::pages {

using features::ProbeCell;
using features::ProbeSweep;

namespace {

std::string num(double v) { return report::format_number(v, "%.3f"); }

float layer_x(const ProbeCell& c, int n_layers) {
  if (c.layer >= 0) return float(c.layer);
  return c.site < Site::resid_pre ? -1.f : float(n_layers);
}

// One series per site (in the order the sweep has them), y = value(cell).
std::vector<report::Series> by_site(const ProbeSweep& s, const std::string& suffix,
                                    const std::function<double(const ProbeCell&)>& value) {
  std::vector<report::Series> out;
  for (const ProbeCell& c : s.cells) {
    const std::string name = std::string(to_string(c.site)) + suffix;
    if (out.empty() || out.back().name != name) out.push_back({name, {}, {}});
    out.back().x.push_back(layer_x(c, s.n_layers));
    out.back().y.push_back(float(value(c)));
  }
  return out;
}

bool regression(const ProbeSweep& s) { return s.classes.empty(); }

// Baselines (control tasks, the majority class) are dashed so the task's own
// lines stand out (line_chart already keeps whole-number axes, as layers are, at whole ticks).
report::json layer_axis(report::json spec, bool dash_baselines = false) {
  if (dash_baselines)
    spec["encoding"]["strokeDash"] = {
        {"condition", {{"test", "indexof(datum.series, '(control task)') >= 0 || datum.series == 'majority class'"},
                       {"value", {5, 3}}}},
        {"value", {1, 0}}};
  return spec;
}

}  // namespace

report::json probe_accuracy_chart(const ProbeSweep& s) {
  const bool reg = regression(s);
  auto series = by_site(s, "", [&](const ProbeCell& c) { return reg ? c.r2 : c.accuracy; });
  const auto control = by_site(s, " (control task)", [](const ProbeCell& c) { return c.control; });
  for (const auto& c : control) {
    bool any = false;
    for (float v : c.y) any = any || std::isfinite(v);
    if (any) series.push_back(c);
  }
  if (!reg && std::isfinite(s.majority) && !series.empty()) {
    report::Series base{"majority class", {}, series[0].x};
    base.y.assign(base.x.size(), float(s.majority));
    series.push_back(base);
  }
  return layer_axis(report::line_chart(std::string(reg ? "held-out R²" : "held-out accuracy") + " of " +
                                           to_string(s.kind) + " probes by layer: " + s.label_set,
                                       series, "layer", reg ? "R²" : "accuracy"),
                    /*dash_baselines=*/true);
}

report::json probe_selectivity_chart(const ProbeSweep& s) {
  return layer_axis(report::line_chart("selectivity (task − control task) by layer",
                                       by_site(s, "", [](const ProbeCell& c) { return c.selectivity; }), "layer",
                                       "selectivity"));
}

report::json probe_auroc_chart(const ProbeSweep& s) {
  if (regression(s)) return nullptr;
  return layer_axis(report::line_chart("held-out AUROC by layer",
                                       by_site(s, "", [](const ProbeCell& c) { return c.auroc; }), "layer", "AUROC"));
}

void add_probe_sections(report::Page& page, const ProbeSweep& s) {
  const bool reg = regression(s);
  std::string classes;
  for (const auto& c : s.classes) classes += (classes.empty() ? "" : ", ") + c;
  // The class names go in the card's text, not a field: a long list beside a
  // short field name squeezed the name until it broke mid-word.
  page.add_card({"task",
                 {{"label set", s.label_set},
                  {"classes", reg ? "scalar target" : std::to_string(s.classes.size())},
                  {"examples", std::to_string(s.n_examples)}},
                 reg ? "" : classes});
  page.add_card({"probe", {{"kind", to_string(s.kind)}, {"position", s.position},
                           {"train / test", std::to_string(s.n_train) + " / " + std::to_string(s.n_test)}}});
  if (!reg) page.add_card({"baseline", {{"majority class", num(s.majority)}}});

  page.add_heading("Accuracy by layer");
  page.add_text("Each point is a probe trained on the activations at one site of one layer and scored on held-out "
                "examples. The control task (Hewitt & Liang 2019) gives every word type a random label: a probe "
                "that does well on it memorises types, so selectivity = task − control says how much of the "
                "accuracy the representation, rather than the probe, accounts for.");
  page.add_chart(probe_accuracy_chart(s));
  page.add_chart(probe_selectivity_chart(s));
  if (!reg) page.add_chart(probe_auroc_chart(s));

  page.add_heading("Every probe");
  std::vector<std::vector<std::string>> rows;
  for (const ProbeCell& c : s.cells)
    rows.push_back(reg ? std::vector<std::string>{c.hook, num(c.r2), num(c.mse), num(c.control), num(c.selectivity)}
                       : std::vector<std::string>{c.hook, num(c.accuracy), num(c.auroc), num(c.train_accuracy),
                                                  num(c.control), num(c.selectivity)});
  page.add_table(reg ? std::vector<std::string>{"hook", "R²", "MSE", "control R²", "selectivity"}
                     : std::vector<std::string>{"hook", "accuracy", "AUROC", "train accuracy", "control", "selectivity"},
                 rows);
}

}  // namespace glassbox::pages
