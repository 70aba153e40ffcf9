// Cross-model comparisons as report sections: the role table and heatmaps,
// the circuit-overlap matrices.
#include "glassbox/pages/cross_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "glassbox/error.h"
#include "glassbox/pages/charts.h"

namespace glassbox::pages {

using namespace analysis;

namespace {

std::string num(double v) { return report::format_number(v, "%.3f"); }

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

}  // namespace

void add_role_sections(report::Page& page, const RoleTable& t) {
  page.add_heading("Head roles");
  page.add_text("The best-scoring head per role in each model: previous-token, duplicate-token and induction "
                "scores on repeated random tokens of each model's vocabulary; copying, the positivity of the OV "
                "circuit's eigenvalues.");
  std::vector<std::string> header = {"model", "layers x heads"};
  header.insert(header.end(), t.roles.begin(), t.roles.end());
  std::vector<std::vector<std::string>> rows;
  for (const ModelRoles& m : t.models) {
    std::vector<std::string> row = {m.name, std::to_string(m.n_layers) + " x " + std::to_string(m.n_heads)};
    for (const BestHead& b : m.best) row.push_back(b.name() + " " + num(b.score));
    rows.push_back(std::move(row));
  }
  page.add_table(header, rows);

  // One chart per role, the models' [layer, head] grids side by side on one colour scale.
  int max_layers = 0;
  for (const ModelRoles& m : t.models) max_layers = std::max(max_layers, m.n_layers);
  const std::vector<std::string> layers = layer_labels(max_layers);
  for (size_t r = 0; r < t.roles.size(); ++r) {
    std::vector<std::string> cols;
    for (const ModelRoles& m : t.models)
      for (int h = 0; h < m.n_heads; ++h) cols.push_back(glassbox::detail::cat(m.name, " H", h));
    std::vector<float> v(size_t(max_layers) * cols.size(), NAN);
    size_t c0 = 0;
    for (const ModelRoles& m : t.models) {
      for (int l = 0; l < m.n_layers; ++l)
        for (int h = 0; h < m.n_heads; ++h) v[size_t(l) * cols.size() + c0 + size_t(h)] = m.scores[r].at(l, h);
      c0 += size_t(m.n_heads);
    }
    page.add_chart(report::heatmap(t.roles[r] + " score", layers, cols, v, "score", false, "layer",
                                   "model, head"));
  }
}

void add_circuit_overlap_sections(report::Page& page, const CircuitComparison& cmp) {
  page.add_heading("Circuit overlap");
  page.add_text("Kept edges matched by node name (a head that plays the same role under another index does not "
                "match). Jaccard: shared / either; coverage (row, column): the share of the row's circuit that "
                "the column's circuit also keeps.");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> names;
  for (const CircuitSummary& c : cmp.circuits) {
    names.push_back(c.name);
    rows.push_back({c.name, std::to_string(c.edges.size()), std::to_string(c.n_edges), std::to_string(c.nodes.size()),
                    num(c.faithfulness)});
  }
  page.add_table({"model", "kept edges", "graph edges", "nodes", "faithfulness"}, rows);
  page.add_chart(report::heatmap("kept-edge overlap (Jaccard)", names, names, cmp.edges.jaccard, "Jaccard", false,
                                 "model", "model"));
  page.add_chart(report::heatmap("kept-edge coverage: share of the row's edges the column keeps", names, names,
                                 cmp.edges.coverage, "coverage", false, "model", "model"));
  page.add_chart(report::heatmap("node overlap (Jaccard)", names, names, cmp.nodes.jaccard, "Jaccard", false,
                                 "model", "model"));
  page.add_text("Edges every circuit keeps: " +
                (cmp.common_edges.empty() ? std::string("none") : join(cmp.common_edges, ", ")));
}

}  // namespace glassbox::pages
