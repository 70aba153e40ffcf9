// Cross-model analysis: the same detectors and circuit discovery run over
// several models (organisms trained with different seeds or sizes, a model
// before and after fine-tuning), reported side by side (pages/cross_model.h).
//
// Roles: for each model, the head-detector scores of head_detectors.h on
// repeated random tokens drawn from that model's own vocabulary and sized to
// its own context, plus the OV copying score of head_circuits.h, and per role
// the head that scores best. Circuits: the kept edges of circuits discovered
// on each model, matched by node name ("a1.h0->logits"), so heads that play
// the same role under another index do not match; models of different shapes
// match only where names coincide.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/model.h"

namespace glassbox::analysis {

struct RoleOptions {
  int64_t seq = 20;      // length of the repeated random sequence, cut to fit each model's context
  int64_t rows = 8;
  uint64_t seed = 1;
  bool copying = true;   // the OV copying score (eigenvalues over the whole vocabulary)
  HeadDetectorOptions detector = {.matched_rows_only = true};  // the classic induction score
};

struct BestHead {
  int layer = -1, head = -1;
  float score = 0;
  std::string name() const;  // "L1H0"
};

struct ModelRoles {
  std::string name;
  int n_layers = 0, n_heads = 0;
  int64_t seq = 0;                  // the repeated sequence's length used for this model
  std::vector<HeadScores> scores;   // one per role, in RoleTable::roles order
  std::vector<BestHead> best;       // the same order
};

struct RoleTable {
  std::vector<std::string> roles;   // "previous_token", "duplicate_token", "induction"[, "copying"]
  std::vector<ModelRoles> models;
  RoleOptions options;
  // Fields: technique ("head_roles"), roles, rows, seed, models [{name,
  // n_layers, n_heads, seq, best {role: {name ("L1H0"), layer, head,
  // score}}, scores [HeadScores JSON]}].
  nlohmann::json to_json() const;
};

// names: one per model (Error on a mismatch or fewer than one model).
RoleTable head_roles(const std::vector<const Model*>& models, const std::vector<std::string>& names,
                     const RoleOptions& opt = {});

// Overlap of circuits i and j, [n, n] row-major: jaccard |A∩B| / |A∪B|
// (symmetric) and coverage |A∩B| / |A| (row A, column B: the share of A's
// circuit that B also has). Two empty sets have Jaccard 1, an empty A
// coverage 1: nothing of it is missing.
struct OverlapMatrix {
  std::vector<float> jaccard, coverage;
  std::vector<int64_t> shared;   // |A∩B|
  nlohmann::json to_json(size_t n) const;  // {jaccard, coverage, shared}: [n][n] arrays
};

struct CircuitSummary {
  std::string name;
  std::vector<std::string> edges, nodes;   // kept edges "u->d" and the nodes they touch, sorted
  int64_t n_edges = 0;                      // edges in the model's graph
  double faithfulness = 0;
};

struct CircuitComparison {
  std::vector<CircuitSummary> circuits;
  OverlapMatrix edges, nodes;
  std::vector<std::string> common_edges;   // kept in every circuit
  // Fields: technique ("circuit_comparison"), names, circuits [{name,
  // n_edges, n_kept, kept_edges, kept_nodes, faithfulness}], edges and nodes
  // ({jaccard, coverage, shared} as [n][n] arrays), common_edges.
  nlohmann::json to_json() const;
};

// names: one per circuit (Error on a mismatch).
CircuitComparison compare_circuits(const std::vector<Circuit>& circuits, const std::vector<std::string>& names);

}  // namespace glassbox::analysis
