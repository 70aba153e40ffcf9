// Circuit discovery at head granularity: ACDC (Conmy et al. 2023), EAP (Syed
// et al. 2023) and EAP-IG (Hanna et al. 2024), with a faithfulness curve.
//
// The graph is the one of those papers. Nodes: `input` (the embeddings,
// blocks.0.hook_resid_pre), every head `a{l}.h{h}` (its attn.hook_result
// slice; b_O is a constant, never ablated), every MLP `m{l}` (hook_mlp_out)
// and `logits` (the final residual stream). Receivers are a node's inputs:
// a head has three, its query, key and value inputs (`a1.h3<q>`, `<k>`,
// `<v>`, as in Hanna et al.'s EAP-IG code); an MLP and the logits have one.
// Under grouped-query attention the key and value inputs belong to the key /
// value head, `a1.kv1<k>`, which its group's query heads share (the edge's
// `to` is the group's first query head). An edge u -> d exists when u is
// written before d reads: heads read the residual before their layer's heads
// write, MLP l reads after them (parallel-residual families: MLP l reads the
// same residual as the heads of layer l, so no edge joins them). The
// residual a receiver reads is the sum of its upstream outputs, so ablating
// the edge u -> d makes d alone read
//   resid_d - out_u + ablated_u
// where out_u is u's output in the same run and ablated_u is zero, the mean
// of u's output over the rows of a reference batch (per position), or u's
// output on the corrupted prompt (resample). Ablating every edge gives the
// run in which every node reads ablated inputs (with resample: exactly the
// corrupted run); ablating none gives the clean run.
//
// A head's query input is edited by replacing its slice of hook_q
// (recomputed from the edited residual with the layer's norm and W_Q), its
// key and value inputs likewise through hook_k / hook_v; MLP inputs by
// replacing mlp.hook_pre (and hook_pre_linear), the logits' input by
// replacing the last hook_resid_post.
//
// EAP:   score(u -> d) = sum over rows, positions of (ablated_u - out_u) . d metric / d in_d
//        (one clean forward + backward), in_d being the receiver's own input
//        (for a head's query, the gradient through its own q only).
// EAP-IG: the same gradient averaged over `ig_steps` runs whose input node is
//        interpolated between its ablated and clean value, alpha = k / steps,
//        k = 1..steps (the paper's "inputs" variant; steps = 1 is EAP).
// ACDC:  receivers from the logits backwards, senders from the latest; each
//        edge is ablated on top of the edges already removed and stays removed
//        when the criterion moves by less than `threshold`.
//
// Scores: EAP / EAP-IG, the estimated change of the task metric when the edge
// alone is ablated from the full model; ACDC, the measured change of its
// criterion when the edge was tried on top of the edges already removed. Task
// metric changes are normalised by (clean - every edge ablated) when
// metric.normalize. The faithfulness curve keeps the top-k edges by |score|,
// ablates the rest, and reports (m_k - m_ablated) / (m_clean - m_ablated): 1
// for the full model, 0 with every edge ablated.
//
// Cost: one or two cached runs for the ablation values, two runs for the
// clean and fully ablated metrics, then EAP: 1 forward + backward; EAP-IG:
// ig_steps of them; ACDC: one run per edge, from the receiver's layer on;
// the curve: one run per point. Runs share passes as rows of a batch
// (CircuitOptions::batch_bytes).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/patching.h"
#include "glassbox/engine.h"
#include "glassbox/enum_string.h"

namespace glassbox::analysis {

enum class CircuitMethod : uint8_t { ACDC, EAP, EAPIG };
enum class AblationKind : uint8_t { Zero, Mean, Resample };
// What ACDC's threshold applies to: KL(clean || run) of the next-token
// distribution (nats), or |change| of the task metric (normalised when
// metric.normalize). EAP and EAP-IG always differentiate the task metric
// (KL's gradient vanishes at the clean run).
enum class CircuitCriterion : uint8_t { KL, Metric };

const char* to_string(CircuitMethod m);     // "acdc", "eap", "eap-ig"
const char* to_string(AblationKind k);      // "zero", "mean", "resample"
const char* to_string(CircuitCriterion c);  // "kl", "metric"

enum class NodeKind : uint8_t { Input, Head, Mlp, Logits };
const char* to_string(NodeKind k);  // "input", "head", "mlp", "logits"

struct CircuitNode {
  NodeKind kind = NodeKind::Input;
  int layer = -1, head = -1;
  std::string name() const;  // "input", "a1.h3", "m0", "logits"
};

// Which input of its receiving node an edge feeds.
enum class Port : uint8_t { In, Q, K, V };  // In: an MLP's or the logits' only input
const char* to_string(Port p);  // "in", "q", "k", "v"

struct CircuitReceiver {
  int node = 0;  // index into nodes; for a key / value input, its group's first query head
  Port port = Port::In;
};

struct CircuitEdge {
  int from = 0, to = 0;      // indices into nodes (senders are the u of u -> d)
  int receiver = 0;          // index into receivers: to and the port
  double score = 0;
  bool kept = true;
};

// The full graph of a model, nodes in topological order (input, then per
// layer its heads and its MLP, then logits); receivers in the same order
// (per head q, then k and v where the head owns them); edges grouped by
// receiver in that order, senders in topological order.
struct CircuitGraph {
  std::vector<CircuitNode> nodes;
  std::vector<CircuitReceiver> receivers;
  std::vector<CircuitEdge> edges;
  int kv_group = 1;          // query heads per key / value head

  Port port(const CircuitEdge& e) const { return receivers[size_t(e.receiver)].port; }
  std::string receiver_name(int receiver) const;  // "a1.h3<q>", "a1.kv0<v>", "m2", "logits"
  std::string edge_name(const CircuitEdge& e) const;  // "a0.h1->a1.h3<k>"
};
CircuitGraph circuit_graph(const Config& c);

struct CircuitOptions {
  CircuitMethod method = CircuitMethod::EAPIG;
  AblationKind ablation = AblationKind::Resample;
  PatchMetric metric;        // the task metric; its `normalize` applies to scores and ACDC's Metric criterion
  CircuitCriterion criterion = CircuitCriterion::KL;  // ACDC
  double threshold = 0.01;   // ACDC's tau
  bool kl_all_positions = false;  // KL over every valid position instead of metric.pos only
  int ig_steps = 5;          // EAP-IG
  int64_t keep_top = 0;      // EAP / EAP-IG: edges kept; 0 = fewest on the curve reaching target_faithfulness
  double target_faithfulness = 0.9;
  int curve_points = 16;     // faithfulness curve: about this many k, log-spaced from 0 to all edges
  // Edge-ablated runs start at the earliest layer with an ablated input, fed
  // the clean residual stream there (exact; ACDC, which removes edges from
  // the logits backwards, skips ever fewer layers). false: full runs.
  bool reuse_prefix = true;
  // Edge-ablated runs that can run together do, as copies of the clean rows
  // in one batch within this many bytes of activations (0: one run per
  // pass): the clean and fully ablated runs, the faithfulness curve's points,
  // and ACDC's next edges, each tried on top of the ones before it as if they
  // were removed (the usual outcome); an edge that stays ends the batch, and
  // the rows after it run again. The same circuit as one run per pass,
  // within rounding; forward_runs counts passes.
  size_t batch_bytes = size_t(256) << 20;
};

struct FaithfulnessPoint {
  int64_t edges = 0;         // edges kept (top-k by |score|)
  double metric = 0;         // raw task metric
  double faithfulness = 0;   // (metric - ablated) / (clean - ablated)
  double kl = 0;             // KL(clean || run), as the criterion measures it
};

// The graph with every edge scored and marked kept or not.
struct Circuit : CircuitGraph {
  CircuitOptions options;
  double clean_metric = 0, ablated_metric = 0;   // raw task metric: no edge / every edge ablated
  double circuit_metric = 0, circuit_faithfulness = 0, circuit_kl = 0;  // with only the kept edges
  std::vector<FaithfulnessPoint> curve;
  int64_t forward_runs = 0, backward_runs = 0;

  int64_t n_kept() const;
  // Fields: technique ("circuit"), method, ablation, criterion, threshold,
  // ig_steps, metric (PatchMetric JSON), nodes [{name, kind, layer, head}],
  // edges [{from, to, port, score, kept}] (from: a node name, to: a
  // receiver name, "a1.h3<q>"; port: "q", "k", "v" or "in"), n_edges,
  // n_kept, clean_metric, ablated_metric, circuit_metric,
  // circuit_faithfulness, circuit_kl, faithfulness [{edges, metric,
  // faithfulness, kl}], forward_runs, backward_runs.
  nlohmann::json to_json() const;
};

// `source` holds the ablation values: the corrupted prompts (Resample: same
// shape and padding as `clean`), the reference batch (Mean: same length,
// any number of rows), ignored for Zero. Error for unsupported models,
// mismatched batches, bad options.
Circuit discover_circuit(Engine& e, const Batch& clean, const Batch& source, const CircuitOptions& opt);

// Logits of `clean` with the edges flagged in `ablated` (one flag per edge of
// circuit_graph(), in its order) ablated: evaluates a hand-made circuit.
Tensor run_with_ablated_edges(Engine& e, const Batch& clean, const Batch& source, const std::vector<bool>& ablated,
                              AblationKind ablation);

}  // namespace glassbox::analysis

namespace glassbox {
template <> analysis::CircuitMethod from_string<analysis::CircuitMethod>(std::string_view s);
template <> analysis::AblationKind from_string<analysis::AblationKind>(std::string_view s);
template <> analysis::CircuitCriterion from_string<analysis::CircuitCriterion>(std::string_view s);
template <> analysis::NodeKind from_string<analysis::NodeKind>(std::string_view s);
template <> analysis::Port from_string<analysis::Port>(std::string_view s);
}  // namespace glassbox
