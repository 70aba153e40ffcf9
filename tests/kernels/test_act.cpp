#include "kernels/detail.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

double ref_act(double x, Act a) {
  switch (a) {
    case Act::GeluNew:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case Act::GeluExact: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));  // erfc: no tail cancellation
    case Act::Silu: return x / (1.0 + std::exp(-x));
    case Act::Relu: return x > 0 ? x : 0.0;
  }
  return NAN;
}

constexpr Act kActs[] = {Act::GeluNew, Act::GeluExact, Act::Silu, Act::Relu};

TEST(Act, EveryActivationMatchesReference) {
  for (const int64_t n : {int64_t{1}, int64_t{31}, int64_t{100000}}) {
    auto x = randn(size_t(n), 5, 3.0f);
    x[0] = n > 1 ? -12.0f : x[0];
    for (Act a : kActs) {
      std::vector<float> y(x.size());
      act_forward(y.data(), x.data(), nullptr, n, a);
      double err = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double r = ref_act(x[i], a);
        err = std::max(err, std::fabs(y[i] - r) / (1e-6 + std::fabs(r)));
      }
      EXPECT_LT(err, 1e-5) << "act " << int(a) << " n=" << n;
    }
  }
}

TEST(Act, GatedMultipliesByGate) {
  const auto x = randn(77, 6, 2.0f), g = randn(77, 7);
  for (Act a : kActs) {
    std::vector<float> y(77);
    act_forward(y.data(), x.data(), g.data(), 77, a);
    for (int i = 0; i < 77; ++i) EXPECT_NEAR(y[i], ref_act(x[i], a) * g[i], 1e-5) << int(a);
  }
}

TEST(Act, GeluTailsKeepRelativePrecision) {
  // Where 1 + tanh / 1 + erf would cancel: the tiny negative tail.
  for (float x : {-5.0f, -8.0f, -10.0f}) {
    for (Act a : {Act::GeluNew, Act::GeluExact}) {
      float y;
      act_forward(&y, &x, nullptr, 1, a);
      const double r = ref_act(x, a);
      if (r != 0.0) {
        EXPECT_NEAR(y / r, 1.0, 1e-4) << "x=" << x << " act " << int(a);
      }
    }
  }
}

TEST(Act, SaturatesWithoutNaN) {
  const std::vector<float> x = {-1e30f, -200.0f, 200.0f, 1e30f};
  for (Act a : kActs) {
    std::vector<float> y(4);
    act_forward(y.data(), x.data(), nullptr, 4, a);
    for (float v : y) EXPECT_FALSE(std::isnan(v)) << int(a);
    EXPECT_EQ(y[2], 200.0f) << int(a);
  }
}

TEST(ExpF, MatchesStdExpWithinTwoUlp) {
  double worst = 0.0;
  for (float x = -87.0f; x < 88.7f; x += 0.0137f) {
    const double r = std::exp(double(x));
    const double ulp = std::nextafter(float(r), INFINITY) - float(r);
    worst = std::max(worst, std::fabs(detail::exp_f(x) - r) / ulp);
  }
  EXPECT_LT(worst, 2.0);
}

TEST(ExpF, HandlesInfinitiesNaNAndRangeEnds) {
  EXPECT_EQ(detail::exp_f(-INFINITY), 0.0f);
  EXPECT_EQ(detail::exp_f(INFINITY), INFINITY);
  EXPECT_TRUE(std::isnan(detail::exp_f(NAN)));
  EXPECT_EQ(detail::exp_f(0.0f), 1.0f);
  EXPECT_EQ(detail::exp_f(-200.0f), 0.0f);
  EXPECT_EQ(detail::exp_f(89.0f), INFINITY);
  EXPECT_NEAR(detail::exp_f(88.7f) / std::exp(double(88.7f)), 1.0, 1e-6);
}

}  // namespace
}  // namespace glassbox::kernels
