// The computational graph of ACDC / EAP: nodes, receivers (q / k / v inputs), edges, names.
#include "glassbox/analysis/circuit.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

namespace {
constexpr enum_table::Names<CircuitMethod, 3> kMethods = {
    {CircuitMethod::ACDC, "acdc"}, {CircuitMethod::EAP, "eap"}, {CircuitMethod::EAPIG, "eap-ig"}};
constexpr enum_table::Names<AblationKind, 3> kAblations = {
    {AblationKind::Zero, "zero"}, {AblationKind::Mean, "mean"}, {AblationKind::Resample, "resample"}};
constexpr enum_table::Names<CircuitCriterion, 2> kCriteria = {{CircuitCriterion::KL, "kl"},
                                                               {CircuitCriterion::Metric, "metric"}};
constexpr enum_table::Names<NodeKind, 4> kNodeKinds = {
    {NodeKind::Input, "input"}, {NodeKind::Head, "head"}, {NodeKind::Mlp, "mlp"}, {NodeKind::Logits, "logits"}};
constexpr enum_table::Names<Port, 4> kPorts = {{Port::In, "in"}, {Port::Q, "q"}, {Port::K, "k"}, {Port::V, "v"}};
}  // namespace

const char* to_string(CircuitMethod m) { return enum_table::name(m, kMethods); }
const char* to_string(AblationKind k) { return enum_table::name(k, kAblations); }
const char* to_string(CircuitCriterion c) { return enum_table::name(c, kCriteria); }
const char* to_string(NodeKind k) { return enum_table::name(k, kNodeKinds); }
const char* to_string(Port p) { return enum_table::name(p, kPorts); }

}  // namespace glassbox::analysis

namespace glassbox {

template <>
analysis::CircuitMethod from_string<analysis::CircuitMethod>(std::string_view s) {
  return enum_table::value(s, analysis::kMethods, "circuit method");
}
template <>
analysis::AblationKind from_string<analysis::AblationKind>(std::string_view s) {
  return enum_table::value(s, analysis::kAblations, "ablation");
}
template <>
analysis::CircuitCriterion from_string<analysis::CircuitCriterion>(std::string_view s) {
  return enum_table::value(s, analysis::kCriteria, "circuit criterion");
}
template <>
analysis::NodeKind from_string<analysis::NodeKind>(std::string_view s) {
  return enum_table::value(s, analysis::kNodeKinds, "node kind");
}
template <>
analysis::Port from_string<analysis::Port>(std::string_view s) {
  return enum_table::value(s, analysis::kPorts, "port");
}
}  // namespace glassbox

namespace glassbox::analysis {

std::string CircuitNode::name() const {
  switch (kind) {
    case NodeKind::Input: return "input";
    case NodeKind::Head: return glassbox::detail::cat('a', layer, ".h", head);
    case NodeKind::Mlp: return glassbox::detail::cat('m', layer);
    case NodeKind::Logits: return "logits";
  }
  return "?";
}

std::string CircuitGraph::receiver_name(int receiver) const {
  const CircuitReceiver& r = receivers[size_t(receiver)];
  const CircuitNode& n = nodes[size_t(r.node)];
  switch (r.port) {
    case Port::In: return n.name();
    case Port::Q: return n.name() + "<q>";
    case Port::K:
    case Port::V: {
      const char* p = r.port == Port::K ? "<k>" : "<v>";
      if (kv_group == 1) return n.name() + p;
      return glassbox::detail::cat('a', n.layer, ".kv", n.head / kv_group, p);
    }
  }
  return "?";
}

std::string CircuitGraph::edge_name(const CircuitEdge& e) const {
  return nodes[size_t(e.from)].name() + "->" + receiver_name(e.receiver);
}

CircuitGraph circuit_graph(const Config& c) {
  // Edges carry a head's (an MLP's) own output into the residual stream; with Gemma-2's post-norms it only
  // gets there through a norm over all heads (the whole MLP) together.
  if (c.post_norms)
    fail("circuit: models with post-norms (", c.family, ") have no per-head edges into the residual stream");
  CircuitGraph g;
  g.kv_group = c.n_heads / c.n_kv_heads;
  g.nodes.push_back({NodeKind::Input, -1, -1});
  for (int l = 0; l < c.n_layers; ++l) {
    for (int h = 0; h < c.n_heads; ++h) g.nodes.push_back({NodeKind::Head, l, h});
    if (!c.attn_only) g.nodes.push_back({NodeKind::Mlp, l, -1});
  }
  g.nodes.push_back({NodeKind::Logits, -1, -1});
  // Heads of one layer read the residual before any of them writes; with a
  // parallel residual so does the layer's MLP.
  auto parallel = [&c](const CircuitNode& a, const CircuitNode& b) {
    if (a.layer != b.layer || a.kind == NodeKind::Input || a.kind == NodeKind::Logits) return false;
    return (a.kind == NodeKind::Head && b.kind == NodeKind::Head) || c.parallel_residual;
  };
  for (int d = 1; d < int(g.nodes.size()); ++d) {
    const CircuitNode& n = g.nodes[size_t(d)];
    std::vector<Port> ports = {Port::In};
    if (n.kind == NodeKind::Head) {
      ports = {Port::Q};
      if (n.head % g.kv_group == 0) ports.insert(ports.end(), {Port::K, Port::V});
    }
    for (Port p : ports) {
      const int r = int(g.receivers.size());
      g.receivers.push_back({d, p});
      for (int u = 0; u < d; ++u)
        if (!parallel(g.nodes[size_t(u)], n)) g.edges.push_back({u, d, r, 0.0, true});
    }
  }
  return g;
}

}  // namespace glassbox::analysis
