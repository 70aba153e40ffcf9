// Scalar metrics of a forward pass and their gradients w.r.t. the logits —
// the seeds Engine::backward starts from (loss for training, logit
// difference / a logit / KL for attribution).
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/engine.h"

namespace glassbox {

// targets[b*T + t] = token t+1 when positions t and t+1 are both valid, else -1.
std::vector<int32_t> next_token_targets(const Batch& b);

// Mean next-token cross-entropy; if dlogits is given it is set to d loss / d logits.
double next_token_loss(const Tensor& logits, const Batch& b, Tensor* dlogits = nullptr);

// logits[b, pos, a] - logits[b, pos, c] averaged over the batch (pos < 0 counts
// from the end); dlogits (optional) receives its gradient.
double logit_diff(const Tensor& logits, int64_t pos, int32_t a, int32_t c, Tensor* dlogits = nullptr);

// KL(p_ref || p) at every valid position, averaged; ref_logits has logits' shape.
double kl_divergence(const Tensor& logits, const Tensor& ref_logits, const Batch& b, Tensor* dlogits = nullptr);

}  // namespace glassbox
