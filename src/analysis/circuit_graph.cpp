// The head-level computational graph of ACDC / EAP: nodes, edges, names.
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

CircuitGraph circuit_graph(const Config& c) {
  if (c.parallel_residual)
    fail("circuit: '", c.family, "' models use a parallel residual stream (attention and MLP read the same ",
         "residual), which this circuit graph does not model; use a sequential-residual model (gpt2, llama, ",
         "attention-only)");
  if (c.n_kv_heads != c.n_heads)
    fail("circuit: grouped-query attention (", c.n_heads, " query heads share ", c.n_kv_heads,
         " key/value heads) is not supported: a head's input cannot be edited without changing the heads that ",
         "share its keys and values");
  CircuitGraph g;
  g.nodes.push_back({NodeKind::Input, -1, -1});
  for (int l = 0; l < c.n_layers; ++l) {
    for (int h = 0; h < c.n_heads; ++h) g.nodes.push_back({NodeKind::Head, l, h});
    if (!c.attn_only) g.nodes.push_back({NodeKind::Mlp, l, -1});
  }
  g.nodes.push_back({NodeKind::Logits, -1, -1});
  // Heads of one layer read the residual before any of them writes.
  auto parallel = [](const CircuitNode& a, const CircuitNode& b) {
    return a.kind == NodeKind::Head && b.kind == NodeKind::Head && a.layer == b.layer;
  };
  for (int d = 1; d < int(g.nodes.size()); ++d)
    for (int u = 0; u < d; ++u)
      if (!parallel(g.nodes[size_t(u)], g.nodes[size_t(d)])) g.edges.push_back({u, d, 0.0, true});
  return g;
}

}  // namespace glassbox::analysis
