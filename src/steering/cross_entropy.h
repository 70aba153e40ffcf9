// What suppression and profiles report as the side effect on benign text.
#pragma once
#include <cmath>
#include <cstdint>
#include <utility>

#include "glassbox/metrics.h"

namespace glassbox::steering::detail {

// Mean next-token cross-entropy over every valid position of the batch's
// rows, and how many positions that is (NaN, 0 when there are none).
inline std::pair<double, int64_t> rows_cross_entropy(const Tensor& logits, const Batch& b) {
  int64_t n = 0;
  for (int32_t t : next_token_targets(b)) n += t >= 0;
  return {n ? next_token_loss(logits, b) : NAN, n};
}

}  // namespace glassbox::steering::detail
