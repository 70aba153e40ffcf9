#include "glassbox/analysis/cross_model.h"

#include <algorithm>
#include <iterator>
#include <set>

#include "glassbox/analysis/head_circuits.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::analysis {

namespace {

void check_names(size_t n, const std::vector<std::string>& names, const char* what) {
  if (n == 0) fail(what, ": no models given");
  if (names.size() != n) fail(what, ": ", n, " models but ", names.size(), " names");
}

BestHead best_head(const HeadScores& s) {
  const auto [l, h] = s.ranked().front();
  return {l, h, s.at(l, h)};
}

ModelRoles model_roles(const Model& m, const std::string& name, const RoleOptions& opt) {
  const Config& c = m.config();
  const int64_t seq = repeated_length_that_fits(m, opt.seq);
  if (seq < 1) fail(name, ": a context of ", c.n_ctx, " tokens is too short for repeated random tokens");
  Engine e(m);
  const Batch b = repeated_random_tokens(m, seq, opt.rows, opt.seed);
  ModelRoles r{name, int(c.n_layers), int(c.n_heads), seq,
               head_detection_scores(e, b,
                                     {HeadPattern::PreviousToken, HeadPattern::DuplicateToken, HeadPattern::Induction},
                                     opt.detector),
               {}};
  if (opt.copying) r.scores.push_back(copying_scores(m));
  for (const HeadScores& s : r.scores) r.best.push_back(best_head(s));
  return r;
}

std::vector<std::string> sorted(std::set<std::string> s) { return {s.begin(), s.end()}; }

CircuitSummary summarize(const Circuit& c, const std::string& name) {
  std::set<std::string> edges, nodes;
  for (const CircuitEdge& e : c.edges) {
    if (!e.kept) continue;
    const std::string u = c.nodes[size_t(e.from)].name(), d = c.nodes[size_t(e.to)].name();
    edges.insert(c.edge_name(e));
    nodes.insert(u);
    nodes.insert(d);
  }
  return {name, sorted(std::move(edges)), sorted(std::move(nodes)), int64_t(c.edges.size()),
          c.circuit_faithfulness};
}

int64_t n_shared(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<std::string> both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return int64_t(both.size());
}

// sets: sorted, one per circuit.
OverlapMatrix overlap(const std::vector<const std::vector<std::string>*>& sets) {
  const size_t n = sets.size();
  OverlapMatrix o{std::vector<float>(n * n), std::vector<float>(n * n), std::vector<int64_t>(n * n)};
  for (size_t i = 0; i < n; ++i)
    for (size_t j = 0; j < n; ++j) {
      const double a = double(sets[i]->size()), b = double(sets[j]->size());
      const int64_t s = n_shared(*sets[i], *sets[j]);
      o.shared[i * n + j] = s;
      o.jaccard[i * n + j] = a + b - double(s) > 0 ? float(double(s) / (a + b - double(s))) : 1.f;
      o.coverage[i * n + j] = a > 0 ? float(double(s) / a) : 1.f;
    }
  return o;
}

// [n * n] row-major -> [n][n]
template <class T>
nlohmann::json square(const std::vector<T>& v, size_t n) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < n; ++i) out.push_back(std::vector<T>(v.begin() + long(i * n), v.begin() + long(i * n + n)));
  return out;
}

}  // namespace

std::string BestHead::name() const { return glassbox::detail::cat('L', layer, 'H', head); }

nlohmann::json RoleTable::to_json() const {
  nlohmann::json ms = nlohmann::json::array();
  for (const ModelRoles& m : models) {
    nlohmann::json best = nlohmann::json::object(), scores = nlohmann::json::array();
    for (size_t r = 0; r < roles.size(); ++r) {
      const BestHead& b = m.best[r];
      best[roles[r]] = {{"name", b.name()}, {"layer", b.layer}, {"head", b.head}, {"score", b.score}};
      scores.push_back(m.scores[r].to_json());
    }
    ms.push_back({{"name", m.name}, {"n_layers", m.n_layers}, {"n_heads", m.n_heads}, {"seq", m.seq},
                  {"best", best}, {"scores", scores}});
  }
  return {{"technique", "head_roles"}, {"roles", roles}, {"rows", options.rows}, {"seed", options.seed},
          {"models", ms}};
}

RoleTable head_roles(const std::vector<const Model*>& models, const std::vector<std::string>& names,
                     const RoleOptions& opt) {
  check_names(models.size(), names, "head_roles");
  RoleTable t;
  t.options = opt;
  for (size_t i = 0; i < models.size(); ++i) t.models.push_back(model_roles(*models[i], names[i], opt));
  for (const HeadScores& s : t.models.front().scores) t.roles.push_back(s.name);
  return t;
}

nlohmann::json OverlapMatrix::to_json(size_t n) const {
  return {{"jaccard", square(jaccard, n)}, {"coverage", square(coverage, n)}, {"shared", square(shared, n)}};
}

nlohmann::json CircuitComparison::to_json() const {
  nlohmann::json names = nlohmann::json::array(), cs = nlohmann::json::array();
  for (const CircuitSummary& c : circuits) {
    names.push_back(c.name);
    cs.push_back({{"name", c.name}, {"n_edges", c.n_edges}, {"n_kept", c.edges.size()}, {"kept_edges", c.edges},
                  {"kept_nodes", c.nodes}, {"faithfulness", c.faithfulness}});
  }
  const size_t n = circuits.size();
  return {{"technique", "circuit_comparison"}, {"names", names}, {"circuits", cs},
          {"edges", edges.to_json(n)}, {"nodes", nodes.to_json(n)}, {"common_edges", common_edges}};
}

CircuitComparison compare_circuits(const std::vector<Circuit>& circuits, const std::vector<std::string>& names) {
  check_names(circuits.size(), names, "compare_circuits");
  CircuitComparison cmp;
  std::vector<const std::vector<std::string>*> edges, nodes;
  for (size_t i = 0; i < circuits.size(); ++i) cmp.circuits.push_back(summarize(circuits[i], names[i]));
  for (const CircuitSummary& c : cmp.circuits) {
    edges.push_back(&c.edges);
    nodes.push_back(&c.nodes);
  }
  cmp.edges = overlap(edges);
  cmp.nodes = overlap(nodes);
  cmp.common_edges = cmp.circuits.front().edges;
  for (const CircuitSummary& c : cmp.circuits) {
    std::vector<std::string> both;
    std::set_intersection(cmp.common_edges.begin(), cmp.common_edges.end(), c.edges.begin(), c.edges.end(),
                          std::back_inserter(both));
    cmp.common_edges = std::move(both);
  }
  return cmp;
}

}  // namespace glassbox::analysis
