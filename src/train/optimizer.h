// Optimiser state and update rules, one function per optimiser.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "glassbox/train.h"

namespace glassbox::detail {

// Per-parameter moments (AdamW: m, v; SGD: momentum buffer in m).
struct OptimizerState {
  int step = 0;
  std::map<std::string, std::vector<float>> m, v;
};

// Biases and norm gains (1-D tensors, TransformerLens b_*) get no weight decay,
// as in GPT-2 / nanoGPT training.
bool decays(const Param& p);

void adamw_step(std::vector<Param>& params, OptimizerState& st, const OptimizerConfig& o, float lr);
void sgd_step(std::vector<Param>& params, OptimizerState& st, const OptimizerConfig& o, float lr);

// Scales all gradients so their global L2 norm is at most max_norm; returns the norm before.
double clip_grad_norm(std::vector<Param>& params, float max_norm);

}  // namespace glassbox::detail
