#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/analysis/attention_entropy.h"
#include "glassbox/error.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

// [1, 1, T, T] causal patterns.
Tensor pattern(int64_t T, bool uniform) {
  Tensor t = Tensor::zeros({1, 1, T, T});
  for (int64_t q = 0; q < T; ++q)
    for (int64_t k = 0; k <= q; ++k) t.f32()[q * T + k] = uniform ? 1.f / float(q + 1) : float(k == q);
  return t;
}

TEST(AttentionEntropy, UniformPatternsReachTheUniformValueAndOneHotOnesZero) {
  const AttentionEntropy u = attention_entropy(pattern(4, true));
  const double expected = (std::log(1.0) + std::log(2.0) + std::log(3.0) + std::log(4.0)) / 4;
  EXPECT_NEAR(u.uniform, expected, 1e-12);
  EXPECT_NEAR(u.mean, expected, 1e-6);
  const AttentionEntropy d = attention_entropy(pattern(4, false));
  EXPECT_EQ(d.mean, 0.0);
  EXPECT_NEAR(d.uniform, expected, 1e-12);
  EXPECT_THROW(attention_entropy(Tensor::zeros({4, 4})), Error);
}

}  // namespace
