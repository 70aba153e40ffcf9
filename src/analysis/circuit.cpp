// Circuit discovery: EAP / EAP-IG scores from gradients, ACDC by pruning,
// and the faithfulness curve.
#include "glassbox/analysis/circuit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <set>

#include "analysis/detail.h"
#include "analysis/edge_ablation.h"
#include "glassbox/error.h"
#include "glassbox/metrics.h"

namespace glassbox::analysis {

namespace {

const char* kind_name(NodeKind k) {
  switch (k) {
    case NodeKind::Input: return "input";
    case NodeKind::Head: return "head";
    case NodeKind::Mlp: return "mlp";
    case NodeKind::Logits: return "logits";
  }
  return "?";
}

void check_options(const CircuitOptions& o) {
  if (o.ig_steps < 1) fail("circuit: ig_steps must be at least 1, got ", o.ig_steps);
  if (!std::isfinite(o.threshold)) fail("circuit: threshold must be finite, got ", o.threshold);
  if (o.keep_top < 0) fail("circuit: keep_top must be >= 0, got ", o.keep_top);
  if (o.curve_points < 2) fail("circuit: curve_points must be at least 2, got ", o.curve_points);
}

// The task metric and KL(clean || run) of edge-ablated runs.
struct Evaluator {
  struct Value {
    double metric = 0, kl = 0;
  };
  const detail::EdgeAblation& ab;
  const CircuitOptions& opt;
  const Batch& clean;
  LogitsMode mode = LogitsMode::All;
  int64_t row = 0;      // the metric position's row in the logits
  Batch kl_batch;       // validity of the rows KL averages over
  Tensor clean_logits;  // at those rows
  int64_t runs = 0;

  Evaluator(const detail::EdgeAblation& a, const CircuitOptions& o, const Batch& b) : ab(a), opt(o), clean(b) {
    const int64_t pos = detail::resolve_pos(opt.metric.pos, clean.T, "circuit: metric");
    mode = pos == clean.T - 1 && !opt.kl_all_positions ? LogitsMode::Last : LogitsMode::All;
    row = mode == LogitsMode::Last ? 0 : pos;
    if (opt.kl_all_positions) {
      kl_batch = clean;
    } else {
      kl_batch.B = clean.B, kl_batch.T = 1;
      kl_batch.tokens.assign(size_t(clean.B), 0);
      for (int64_t r = 0; r < clean.B && !clean.mask.empty(); ++r) kl_batch.mask.push_back(clean.mask[size_t(r * clean.T + pos)]);
    }
  }
  Tensor kl_rows(const Tensor& logits) const {
    if (opt.kl_all_positions) return logits;
    const int64_t B = logits.shape[0], Tl = logits.shape[1], V = logits.shape[2];
    Tensor out = Tensor::empty({B, 1, V});
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(out.f32() + b * V, logits.f32() + (b * Tl + row) * V, size_t(V) * sizeof(float));
    return out;
  }
  Value value(const Tensor& logits) {
    const Tensor rows = kl_rows(logits);
    if (clean_logits.shape.empty()) clean_logits = rows;  // the first run is the clean run
    return {opt.metric.value(logits, clean.T), kl_divergence(rows, clean_logits, kl_batch)};
  }
  Value operator()(const std::vector<uint8_t>& ablated) {
    ++runs;
    return value(ab.run(ablated, mode));
  }
  // One value per mask, the masks batched (CircuitOptions::batch_bytes).
  std::vector<Value> many(const std::vector<std::vector<uint8_t>>& masks) {
    std::vector<Value> out;
    for (const Tensor& logits : ab.run_many(masks, mode, opt.batch_bytes, &runs)) out.push_back(value(logits));
    return out;
  }
  int64_t max_copies() const { return ab.max_copies(mode, opt.batch_bytes); }
};

// EAP (steps = 1) and EAP-IG: score(u -> d) = sum (ablated_u - clean_u) . mean_k grad_d(k).
void eap_scores(Circuit& out, Engine& e, const Batch& clean, const detail::EdgeAblation& ab, int steps) {
  const CircuitGraph& g = ab.graph();
  const int64_t nd = clean.B * clean.T * e.model().config().d_model;
  const int64_t S = int64_t(g.nodes.size()) - 1;  // senders: every node but the logits
  const int64_t R = int64_t(g.receivers.size());
  std::vector<float> G(static_cast<size_t>(R * nd), 0.f);
  const std::vector<float>& in_c = ab.clean_out(0);
  const std::vector<float>& in_a = ab.ablated_out(0);
  std::vector<float> x(static_cast<size_t>(nd));
  for (int k = 1; k <= steps; ++k) {
    // The last step is the clean run itself, so steps = 1 is EAP exactly.
    const float* input = nullptr;
    if (k < steps) {
      const float alpha = float(k) / float(steps);
      for (int64_t i = 0; i < nd; ++i) x[size_t(i)] = in_a[size_t(i)] + alpha * (in_c[size_t(i)] - in_a[size_t(i)]);
      input = x.data();
    }
    double v = 0;
    const auto grads = detail::receiver_grads(e, clean, g, out.options.metric, input, &v);
    for (int64_t r = 0; r < R; ++r) {
      const std::vector<float>& gr = grads[size_t(r)];
      for (int64_t i = 0; i < nd; ++i) G[size_t(r * nd + i)] += gr[size_t(i)] / float(steps);
    }
    ++out.forward_runs, ++out.backward_runs;
  }
  std::vector<float> D(static_cast<size_t>(S * nd));
  for (int64_t s = 0; s < S; ++s)
    for (int64_t i = 0; i < nd; ++i)
      D[size_t(s * nd + i)] = ab.ablated_out(int(s))[size_t(i)] - ab.clean_out(int(s))[size_t(i)];
  // scores [S senders, R receivers] = D . G^T: every sender-receiver pair in one GEMM.
  std::vector<float> scores(static_cast<size_t>(S * R));
  detail::matmul(scores.data(), D.data(), nd, S, MatRef{G.data(), nd, R, 1, nd});
  for (CircuitEdge& edge : out.edges) edge.score = scores[size_t(edge.from * R + edge.receiver)];
}

// ACDC: from the logits backwards, senders latest first (the reverse of the
// edge order), each edge ablated on top of those already removed. Batched
// speculatively: row r of a pass tries the next edge with the r edges before
// it removed, so the rows up to the first edge that stays are the runs one
// edge at a time would make, and the pass ends there; the rows after it are
// wasted. Rows per pass: the expected run of removals, 1 / (the share of
// edges kept so far), so about a third of them is wasted; where most edges
// stay, one row (one run per edge, as unbatched).
void acdc(Circuit& out, Evaluator& ev, const std::vector<uint8_t>& none,
          const std::function<double(const Evaluator::Value&)>& criterion, double start) {
  const CircuitOptions& o = out.options;
  const size_t cap = size_t(ev.max_copies());
  std::vector<uint8_t> ablated = none;
  double cur = start;
  size_t tried = 0, kept = 0;
  for (size_t i = out.edges.size(); i > 0;) {  // edges [0, i) are still to try, i - 1 first
    const double keep_rate = double(kept + 1) / double(tried + 2);
    const size_t n = std::min(i, std::clamp<size_t>(size_t(std::lround(1.0 / keep_rate)), 1, cap));
    std::vector<std::vector<uint8_t>> masks(n, ablated);
    for (size_t r = 0; r < n; ++r)
      for (size_t q = 0; q <= r; ++q) masks[r][i - 1 - q] = 1;
    const std::vector<Evaluator::Value> vals = ev.many(masks);
    size_t used = 0;
    while (used < n) {
      const size_t e = i - 1 - used++;
      const double v = criterion(vals[used - 1]);
      const double delta = v - cur;
      const bool remove = o.criterion == CircuitCriterion::KL ? delta < o.threshold : std::fabs(delta) < o.threshold;
      out.edges[e].score = delta;
      out.edges[e].kept = !remove;
      ++tried;
      if (!remove) {
        ++kept;
        break;  // the rows after this one removed it
      }
      cur = v;
      ablated[e] = 1;
    }
    i -= used;
  }
}

std::vector<int64_t> curve_ks(int64_t E, int points) {
  std::set<int64_t> ks = {0, E};
  for (int i = 0; points > 2 && i <= points - 2; ++i)
    ks.insert(std::llround(std::pow(double(E), double(i) / double(points - 2))));
  return {ks.begin(), ks.end()};
}

}  // namespace

int64_t Circuit::n_kept() const {
  return std::count_if(edges.begin(), edges.end(), [](const CircuitEdge& e) { return e.kept; });
}

nlohmann::json Circuit::to_json() const {
  nlohmann::json ns = nlohmann::json::array(), es = nlohmann::json::array(), curve_j = nlohmann::json::array();
  for (const CircuitNode& n : nodes)
    ns.push_back({{"name", n.name()}, {"kind", kind_name(n.kind)}, {"layer", n.layer}, {"head", n.head}});
  static const char* const kPorts[] = {"in", "q", "k", "v"};
  for (const CircuitEdge& e : edges)
    es.push_back({{"from", nodes[size_t(e.from)].name()}, {"to", receiver_name(e.receiver)},
                  {"port", kPorts[int(port(e))]}, {"score", e.score}, {"kept", e.kept}});
  for (const FaithfulnessPoint& p : curve)
    curve_j.push_back({{"edges", p.edges}, {"metric", p.metric}, {"faithfulness", p.faithfulness}, {"kl", p.kl}});
  return {{"technique", "circuit"}, {"method", to_string(options.method)},
          {"ablation", to_string(options.ablation)},
          {"criterion", to_string(options.criterion)},
          {"threshold", options.threshold}, {"ig_steps", options.ig_steps}, {"metric", options.metric.to_json()},
          {"nodes", std::move(ns)}, {"edges", std::move(es)}, {"n_edges", edges.size()}, {"n_kept", n_kept()},
          {"clean_metric", clean_metric}, {"ablated_metric", ablated_metric}, {"circuit_metric", circuit_metric},
          {"circuit_faithfulness", circuit_faithfulness}, {"circuit_kl", circuit_kl},
          {"faithfulness", std::move(curve_j)}, {"forward_runs", forward_runs}, {"backward_runs", backward_runs}};
}

Circuit discover_circuit(Engine& e, const Batch& clean, const Batch& source, const CircuitOptions& opt) {
  check_options(opt);
  const detail::EdgeAblation ab(e, clean, source, opt.ablation, opt.reuse_prefix);
  Circuit out;
  out.options = opt;
  static_cast<CircuitGraph&>(out) = ab.graph();
  out.forward_runs = opt.ablation == AblationKind::Zero ? 1 : 2;  // the cached runs
  const size_t E = out.edges.size();
  Evaluator ev(ab, opt, clean);
  const std::vector<uint8_t> none(E, 0), all(E, 1);
  const std::vector<Evaluator::Value> ends = ev.many({none, all});  // the clean run first: KL's reference
  const Evaluator::Value vc = ends[0], va = ends[1];
  out.clean_metric = vc.metric;
  out.ablated_metric = va.metric;
  const double span = vc.metric - va.metric;
  // A span at rounding level (e.g. resampling from the clean prompt) would normalise noise.
  if (opt.metric.normalize && std::fabs(span) <= 1e-6 * std::max(1.0, std::fabs(vc.metric)))
    fail("circuit: the clean run and the run with every edge ablated give the same metric (", vc.metric,
         "), so the normalised metric is undefined; set metric.normalize = false");
  auto faithfulness = [&](double m) { return (m - va.metric) / span; };
  auto normalized = [&](double m) { return opt.metric.normalize ? faithfulness(m) : m; };

  if (opt.method == CircuitMethod::ACDC) {
    const auto criterion = [&](const Evaluator::Value& v) {
      return opt.criterion == CircuitCriterion::KL ? v.kl : normalized(v.metric);
    };
    acdc(out, ev, none, criterion, criterion(vc));
  } else {
    eap_scores(out, e, clean, ab, opt.method == CircuitMethod::EAP ? 1 : opt.ig_steps);
    if (opt.metric.normalize)
      for (CircuitEdge& edge : out.edges) edge.score /= span;
  }

  // The curve: top-k edges by |score| kept, the rest ablated.
  std::vector<size_t> rank(E);
  std::iota(rank.begin(), rank.end(), size_t(0));
  std::stable_sort(rank.begin(), rank.end(), [&](size_t a, size_t b) {
    return std::fabs(out.edges[a].score) > std::fabs(out.edges[b].score);
  });
  const std::vector<int64_t> ks = curve_ks(int64_t(E), opt.curve_points);
  std::vector<std::vector<uint8_t>> masks;  // the points between the ends, in one batch
  for (int64_t k : ks)
    if (k > 0 && size_t(k) < E) {
      masks.push_back(all);
      for (int64_t i = 0; i < k; ++i) masks.back()[rank[size_t(i)]] = 0;
    }
  const std::vector<Evaluator::Value> mid = ev.many(masks);
  for (size_t p = 0, m = 0; p < ks.size(); ++p) {
    const int64_t k = ks[p];
    const Evaluator::Value v = k == 0 ? va : size_t(k) == E ? vc : mid[m++];
    out.curve.push_back({k, v.metric, faithfulness(v.metric), v.kl});
  }
  if (opt.method != CircuitMethod::ACDC) {
    int64_t keep = opt.keep_top > 0 ? std::min<int64_t>(opt.keep_top, int64_t(E)) : int64_t(E);
    if (opt.keep_top == 0)
      for (const FaithfulnessPoint& p : out.curve)
        if (p.faithfulness >= opt.target_faithfulness) {
          keep = p.edges;
          break;
        }
    for (size_t i = 0; i < E; ++i) out.edges[rank[i]].kept = int64_t(i) < keep;
  }
  std::vector<uint8_t> ablated(E);
  for (size_t i = 0; i < E; ++i) ablated[i] = !out.edges[i].kept;
  const Evaluator::Value vk = ev(ablated);
  out.circuit_metric = vk.metric;
  out.circuit_faithfulness = faithfulness(vk.metric);
  out.circuit_kl = vk.kl;
  out.forward_runs += ev.runs;
  return out;
}

Tensor run_with_ablated_edges(Engine& e, const Batch& clean, const Batch& source, const std::vector<bool>& ablated,
                              AblationKind ablation) {
  const detail::EdgeAblation ab(e, clean, source, ablation);
  return ab.run(std::vector<uint8_t>(ablated.begin(), ablated.end()), LogitsMode::All);
}

}  // namespace glassbox::analysis
