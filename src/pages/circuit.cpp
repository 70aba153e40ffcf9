// The HTML page of a discovered circuit: the graph and its faithfulness curve.
#include "glassbox/pages/circuit.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

namespace glassbox::pages {

using namespace analysis;

namespace {

std::string num(double v) { return report::format_number(v, "%.4g"); }

// Input at the bottom, one row per layer's heads (side by side) and one per
// MLP, logits on top: the layout of the ACDC / EAP-IG papers' figures.
report::GraphNode place(const CircuitNode& n, int n_heads, bool mlps) {
  const int per_layer = mlps ? 2 : 1;
  switch (n.kind) {
    case NodeKind::Input: return {n.name(), 0.f, 0.f, "input"};
    case NodeKind::Head:
      return {n.name(), float(n.head) - float(n_heads - 1) / 2, float(1 + n.layer * per_layer), "attention head"};
    case NodeKind::Mlp: return {n.name(), 0.f, float(2 + n.layer * per_layer), "mlp"};
    case NodeKind::Logits: break;
  }
  return {n.name(), 0.f, 0.f, "logits"};  // y set by the caller
}

}  // namespace

report::Page circuit_page(const Circuit& c, const std::string& title) {
  const CircuitOptions& o = c.options;
  report::Page page(title, std::string(to_string(o.method)) + " with " + to_string(o.ablation) + " ablation");
  add_circuit_sections(page, c);
  return page;
}

void add_circuit_sections(report::Page& page, const Circuit& c) {
  const CircuitOptions& o = c.options;
  int n_heads = 0, n_layers = 0;
  bool mlps = false;
  for (const CircuitNode& n : c.nodes) {
    n_heads = std::max(n_heads, n.head + 1);
    n_layers = std::max(n_layers, n.layer + 1);
    mlps |= n.kind == NodeKind::Mlp;
  }
  const std::string what = o.method == CircuitMethod::ACDC
                               ? std::string(o.criterion == CircuitCriterion::KL ? "change of KL" : "change of metric")
                               : "estimated metric change";
  page.add_card({"circuit",
                 {{"method", to_string(o.method)},
                  {"ablation", to_string(o.ablation)},
                  {"edges kept", std::to_string(c.n_kept()) + " / " + std::to_string(c.edges.size())},
                  {"faithfulness", num(c.circuit_faithfulness)}}});
  page.add_card({"metric",
                 {{"full model", num(c.clean_metric)},
                  {"every edge ablated", num(c.ablated_metric)},
                  {"circuit", num(c.circuit_metric)},
                  {"KL(full || circuit)", num(c.circuit_kl)}}});

  page.add_heading("Graph");
  std::vector<report::GraphNode> nodes;
  for (const CircuitNode& n : c.nodes) nodes.push_back(place(n, n_heads, mlps));
  nodes.back().y = float(1 + n_layers * (mlps ? 2 : 1));
  std::vector<report::GraphEdge> edges;
  for (const CircuitEdge& e : c.edges)  // a head's q, k and v edges from one sender bend apart
    edges.push_back({size_t(e.from), size_t(e.to), float(e.score), e.kept, c.receiver_name(e.receiver),
                     std::max(0, int(c.port(e)) - 1)});
  page.add_chart(report::graph_chart("Edges by |score|", nodes, edges, what, size_t(c.n_kept()), "kept"),
                 "Solid: kept in the circuit. Score: the " + what +
                     " when the edge alone is ablated; width: |score|, blue: positive, red: negative. The slider "
                     "shows more or fewer edges, strongest first.");

  page.add_heading("Faithfulness");
  report::Series s{"top-k edges by |score|", {}, {}};
  for (const FaithfulnessPoint& p : c.curve) s.x.push_back(float(p.edges)), s.y.push_back(float(p.faithfulness));
  page.add_chart(report::line_chart("Metric recovered vs. edges kept", {s}, "edges kept", "faithfulness"),
                 "(metric - every edge ablated) / (full model - every edge ablated); the rest of the edges ablated.");
  page.add_text("The kept circuit (" + std::to_string(c.n_kept()) + " edges) recovers " +
                num(c.circuit_faithfulness) + " of the metric.");

  page.add_heading("Strongest edges");
  std::vector<size_t> rank(c.edges.size());
  std::iota(rank.begin(), rank.end(), size_t(0));
  std::stable_sort(rank.begin(), rank.end(),
                   [&](size_t a, size_t b) { return std::fabs(c.edges[a].score) > std::fabs(c.edges[b].score); });
  std::vector<std::vector<std::string>> rows;
  for (size_t i = 0; i < std::min<size_t>(rank.size(), 40); ++i) {
    const CircuitEdge& e = c.edges[rank[i]];
    rows.push_back({c.nodes[size_t(e.from)].name(), c.receiver_name(e.receiver), num(e.score), e.kept ? "yes" : "no"});
  }
  page.add_table({"from", "to", "score", "kept"}, rows);
}

}  // namespace glassbox::pages
