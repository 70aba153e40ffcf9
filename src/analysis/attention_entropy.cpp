#include "glassbox/analysis/attention_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "glassbox/error.h"

namespace glassbox::analysis {

AttentionEntropy attention_entropy(const Tensor& pattern) {
  if (pattern.shape.size() != 4)
    fail("attention_entropy: expected a pattern [batch, heads, query, key], got ", shape_str(pattern.shape));
  const std::vector<float> p = pattern.to_f32_vector();
  const int64_t B = pattern.shape[0], H = pattern.shape[1], Tq = pattern.shape[2], Tk = pattern.shape[3];
  double sum = 0, uniform = 0;
  for (int64_t bh = 0; bh < B * H; ++bh)
    for (int64_t q = 0; q < Tq; ++q) {
      const float* row = p.data() + (bh * Tq + q) * Tk;
      for (int64_t k = 0; k < Tk; ++k)
        if (row[k] > 0) sum -= double(row[k]) * std::log(double(row[k]));
      uniform += std::log(double(std::min(q + 1 + (Tk - Tq), Tk)));
    }
  const double n = double(B * H * Tq);
  return {sum / n, uniform / n};
}

}  // namespace glassbox::analysis
