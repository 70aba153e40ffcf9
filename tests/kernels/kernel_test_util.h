// Shared helpers for the kernel tests: seeded random data, comparisons and a
// central-difference gradient checker.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace glassbox::kernels::test {

inline std::vector<float> randn(size_t n, uint32_t seed, float sd = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline std::vector<float> randu(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

inline double max_abs_diff(const float* a, const float* b, size_t n) {
  double m = 0.0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  return max_abs_diff(a.data(), b.data(), std::min(a.size(), b.size()));
}
inline double max_abs_diff(const std::vector<float>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

// sum(out * R) in double: the scalar loss every gradcheck differentiates.
inline double dot(const float* out, const float* r, size_t n) {
  double s = 0.0;
  for (size_t i = 0; i < n; ++i) s += double(out[i]) * double(r[i]);
  return s;
}
inline double dot(const std::vector<float>& out, const std::vector<float>& r) {
  return dot(out.data(), r.data(), std::min(out.size(), r.size()));
}

struct GradTol {
  double eps = 1e-3;   // perturbation (in the input's units)
  double rtol = 1e-2;  // relative to max(|numeric|, |analytic|)
  double atol = 1e-3;
  size_t max_checks = 400;  // evenly spaced entries checked on big inputs
};

struct GradReport {
  bool ok = true;
  double worst = 0.0;  // max |num - ana| / (atol + rtol * max(|num|, |ana|)); <= 1 passes
  size_t worst_index = 0;
  double worst_numeric = 0.0, worst_analytic = 0.0;
  size_t checked = 0;
  std::string what;
};

inline std::ostream& operator<<(std::ostream& os, const GradReport& r) {
  return os << r.what << ": worst ratio " << r.worst << " at [" << r.worst_index
            << "] numeric " << r.worst_numeric << " analytic " << r.worst_analytic << " ("
            << r.checked << " entries checked)";
}

// Central differences of loss() (forward in float, reduction in double) with
// respect to x, compared with `analytic`. The step actually taken is the
// difference of the two rounded float inputs, not the nominal eps.
template <class Loss>
GradReport gradcheck(const char* what, std::vector<float>& x, const std::vector<float>& analytic,
                     Loss&& loss, GradTol tol = {}) {
  GradReport rep;
  rep.what = what;
  EXPECT_EQ(x.size(), analytic.size()) << what;
  const size_t n = x.size();
  const size_t stride = n > tol.max_checks ? (n + tol.max_checks - 1) / tol.max_checks : 1;
  for (size_t i = 0; i < n; i += stride) {
    const float x0 = x[i];
    if (!std::isfinite(x0)) continue;  // -inf mask entries are constants, not inputs
    const float xp = float(double(x0) + tol.eps), xm = float(double(x0) - tol.eps);
    x[i] = xp;
    const double lp = loss();
    x[i] = xm;
    const double lm = loss();
    x[i] = x0;
    const double num = (lp - lm) / (double(xp) - double(xm));
    const double ana = analytic[i];
    const double ratio =
        std::fabs(num - ana) / (tol.atol + tol.rtol * std::max(std::fabs(num), std::fabs(ana)));
    ++rep.checked;
    if (std::isnan(ratio) || ratio > rep.worst) {
      rep.worst = std::isnan(ratio) ? INFINITY : ratio;
      rep.worst_index = i;
      rep.worst_numeric = num;
      rep.worst_analytic = ana;
    }
  }
  rep.ok = rep.worst <= 1.0;
  return rep;
}

// Gradient buffers start non-zero so every gradcheck also checks that the
// backward ADDS into them; this returns (after - before).
inline std::vector<float> delta(const std::vector<float>& after, const std::vector<float>& before) {
  std::vector<float> d(after.size());
  for (size_t i = 0; i < d.size(); ++i) d[i] = after[i] - before[i];
  return d;
}

}  // namespace glassbox::kernels::test

#define EXPECT_GRAD_OK(rep)          \
  do {                               \
    const auto& r_ = (rep);          \
    EXPECT_TRUE(r_.ok) << r_;        \
    EXPECT_GT(r_.checked, 0u) << r_; \
  } while (0)
