// Edge-level ablation and per-receiver input gradients for circuit discovery.
//
// Why edit q/k/v (and mlp.hook_pre) in the analysis layer instead of adding
// TransformerLens' split-input hooks (blocks.{l}.hook_q_input ...,
// [pos, n_heads, d_model]) to the engine: those hooks would need a per-head
// norm + projection path in both the forward and the backward pass, paid for
// by a rarely used feature, and more engine surface to keep gradchecked. Here
// only the heads whose input actually changes are recomputed, with the
// engine's own kernels (norm, affine, matmul) on its own weights, so the
// recomputation is the engine's arithmetic; and the per-head input gradient
// is one GEMM with W_Q/W_K/W_V[h]^T plus the norm's backward, exactly
// testable: summed over a layer's head receivers it is d resid_pre - d resid_mid.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/analysis/circuit.h"
#include "glassbox/engine.h"

namespace glassbox::analysis::detail {

struct EdgePlan;

// Every node's output on the clean batch and its ablated value, [B*T*d_model]
// each (empty for the logits node); runs of the clean batch with edges ablated.
class EdgeAblation {
 public:
  // Validates the batches; two cached runs. reuse_prefix: runs start at the
  // earliest layer with an ablated input, fed the clean residual stream there
  // (exact: no earlier node reads an ablated edge).
  EdgeAblation(Engine& e, const Batch& clean, const Batch& source, AblationKind kind, bool reuse_prefix = true);
  const CircuitGraph& graph() const { return g_; }
  const std::vector<float>& clean_out(int node) const { return clean_[size_t(node)]; }
  const std::vector<float>& ablated_out(int node) const { return ablated_[size_t(node)]; }
  // Logits with edge i ablated where ablated[i] != 0; with none, a plain forward.
  Tensor run(const std::vector<uint8_t>& ablated, LogitsMode mode) const;
  // run() for many masks: the masks as copies of the clean rows, batched
  // within batch_bytes of activations (0: one pass per mask). Result i equals
  // run(masks[i], mode) within rounding (a batch computes a copy's rows with
  // other GEMM shapes). *passes (optional) += the forward passes run.
  std::vector<Tensor> run_many(const std::vector<std::vector<uint8_t>>& masks, LogitsMode mode, size_t batch_bytes,
                               int64_t* passes = nullptr) const;
  // How many masks one pass of run_many holds within batch_bytes (at least 1).
  int64_t max_copies(LogitsMode mode, size_t batch_bytes) const;

 private:
  friend class EdgeRun;
  EdgePlan plan(const std::vector<uint8_t>& ablated) const;  // Error unless one flag per edge
  Engine& e_;
  const Batch& clean_batch_;
  CircuitGraph g_;
  std::vector<std::vector<float>> clean_, ablated_;
  bool reuse_prefix_;
  std::vector<std::vector<float>> clean_resid_;  // clean blocks.{l}.hook_resid_pre [B*T*d] per layer
  std::vector<int> head0_, mlp_;                 // per layer: node of its head 0, of its MLP (-1: none)
};

// d metric / d (input of receiver), [B*T*d_model] per receiver of g, from
// one forward + backward of `batch`; `input` (optional, [B*T*d_model])
// replaces blocks.0.hook_resid_pre, the input node's output. A head's query
// input gradient flows through its own q only (key / value: its kv head's k
// / v); the logits' input is the last hook_resid_post. *value receives the metric.
std::vector<std::vector<float>> receiver_grads(Engine& e, const Batch& batch, const CircuitGraph& g,
                                               const PatchMetric& metric, const float* input, double* value);

}  // namespace glassbox::analysis::detail
