#include <glassbox/error.h>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

double naive_ce(const float* x, int64_t V, int32_t target) {
  double m = -INFINITY;
  for (int64_t c = 0; c < V; ++c) m = std::max(m, double(x[c]));
  double s = 0.0;
  for (int64_t c = 0; c < V; ++c) s += std::exp(double(x[c]) - m);
  return m + std::log(s) - x[target];
}

TEST(CrossEntropy, MatchesNaiveAndReturnsMean) {
  const int64_t N = 6, V = 1001;
  const auto logits = randn(size_t(N * V), 51, 3.0f);
  const std::vector<int32_t> targets = {0, 5, 1000, 17, 17, 400};
  std::vector<float> losses(N);
  const double mean = cross_entropy_forward(losses.data(), logits.data(), targets.data(), N, V);
  double sum = 0.0;
  for (int64_t t = 0; t < N; ++t) {
    const double r = naive_ce(logits.data() + t * V, V, targets[t]);
    EXPECT_NEAR(losses[t], r, 1e-5 * std::max(1.0, r));
    sum += r;
  }
  EXPECT_NEAR(mean, sum / N, 1e-6 * sum / N);
}

TEST(CrossEntropy, LargeVocabThreadedMatchesNaive) {
  const int64_t N = 3, V = 50257;
  const auto logits = randn(size_t(N * V), 52, 5.0f);
  const std::vector<int32_t> targets = {50256, 0, 12345};
  std::vector<float> losses(N);
  cross_entropy_forward(losses.data(), logits.data(), targets.data(), N, V);
  for (int64_t t = 0; t < N; ++t)
    EXPECT_NEAR(losses[t], naive_ce(logits.data() + t * V, V, targets[t]), 1e-4);
}

TEST(CrossEntropy, IgnoresNegativeTargets) {
  const int64_t N = 4, V = 10;
  const auto logits = randn(size_t(N * V), 53);
  const std::vector<int32_t> targets = {-100, 3, -1, 7};
  std::vector<float> losses(N, 9.0f);
  const double mean = cross_entropy_forward(losses.data(), logits.data(), targets.data(), N, V);
  EXPECT_EQ(losses[0], 0.0f);
  EXPECT_EQ(losses[2], 0.0f);
  EXPECT_NEAR(mean, 0.5 * (losses[1] + losses[3]), 1e-6);
}

TEST(CrossEntropy, AllIgnoredReturnsZeroNotNaN) {
  const auto logits = randn(20, 54);
  const std::vector<int32_t> targets = {-100, -100};
  EXPECT_EQ(cross_entropy_forward(nullptr, logits.data(), targets.data(), 2, 10), 0.0);
}

TEST(CrossEntropy, HugeLogitsStayFinite) {
  const std::vector<float> logits = {1000.0f, 0.0f, -1000.0f};
  const int32_t target = 2;
  float loss;
  cross_entropy_forward(&loss, logits.data(), &target, 1, 3);
  EXPECT_NEAR(loss, 2000.0f, 1e-3f);
}

TEST(CrossEntropy, RejectsTargetOutsideVocab) {
  const auto logits = randn(10, 55);
  const int32_t target = 10;
  EXPECT_THROW(cross_entropy_forward(nullptr, logits.data(), &target, 1, 10), glassbox::Error);
}

}  // namespace
}  // namespace glassbox::kernels
