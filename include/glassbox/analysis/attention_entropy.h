// How spread out attention is: the entropy of each query's pattern, averaged,
// against the entropy of a pattern spread evenly over the keys it may see. A
// layer far below its uniform value has heads that pick single tokens
// (previous-token, induction); one near it mostly averages.
#pragma once
#include "glassbox/tensor.h"

namespace glassbox::analysis {

struct AttentionEntropy {
  double mean = 0;     // nats, over batch rows, heads and query positions
  double uniform = 0;  // the same for a pattern spread evenly over the visible keys
};

// pattern: a hook_pattern activation [B, H, Tq, Tk], causal (query q sees keys
// 0 .. q + Tk - Tq). Error for another rank.
AttentionEntropy attention_entropy(const Tensor& pattern);

}  // namespace glassbox::analysis
