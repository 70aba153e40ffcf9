// The computational graph of ACDC / EAP: nodes, receivers (q / k / v inputs), edges, names.
#include "glassbox/analysis/circuit.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

const char* method_name(CircuitMethod m) {
  switch (m) {
    case CircuitMethod::ACDC: return "acdc";
    case CircuitMethod::EAP: return "eap";
    case CircuitMethod::EAPIG: return "eap-ig";
  }
  return "?";
}

const char* ablation_name(AblationKind k) {
  switch (k) {
    case AblationKind::Zero: return "zero";
    case AblationKind::Mean: return "mean";
    case AblationKind::Resample: return "resample";
  }
  return "?";
}

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
