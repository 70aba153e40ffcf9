// The arithmetic of contrastive directions: mean of paired differences, their
// first principal component, and how well a direction orders the pairs.
#include <algorithm>
#include <cmath>
#include <random>

#include "glassbox/error.h"
#include "glassbox/steering/contrastive.h"

namespace glassbox::steering {

namespace {

void check_sizes(int64_t n, int64_t d, const char* what) {
  if (n <= 0) fail("steering: ", what, " needs at least one pair");
  if (d <= 0) fail("steering: ", what, ": activations have no dimensions");
}

double dot(const float* x, const std::vector<double>& v) {
  double s = 0;
  for (size_t j = 0; j < v.size(); ++j) s += double(x[j]) * v[j];
  return s;
}

}  // namespace

std::vector<float> mean_difference(const float* pos, const float* neg, int64_t n, int64_t d) {
  check_sizes(n, d, "mean-diff");
  std::vector<double> acc(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) acc[size_t(j)] += double(pos[i * d + j]) - double(neg[i * d + j]);
  std::vector<float> out(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) out[size_t(j)] = float(acc[size_t(j)] / double(n));
  return out;
}

double pair_separation(const float* pos, const float* neg, int64_t n, int64_t d, const std::vector<float>& v) {
  if (n <= 0 || int64_t(v.size()) != d) return NAN;
  const std::vector<double> vd(v.begin(), v.end());
  int64_t ordered = 0;
  for (int64_t i = 0; i < n; ++i) ordered += dot(pos + i * d, vd) > dot(neg + i * d, vd);
  return double(ordered) / double(n);
}

std::vector<float> pca_difference(const float* pos, const float* neg, int64_t n, int64_t d, bool center) {
  check_sizes(n, d, "pca-diff");
  // D [n, d] in double, centred if asked.
  std::vector<double> D(size_t(n * d));
  std::vector<double> mean(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double x = double(pos[i * d + j]) - double(neg[i * d + j]);
      D[size_t(i * d + j)] = x;
      mean[size_t(j)] += x / double(n);
    }
  if (center)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) D[size_t(i * d + j)] -= mean[size_t(j)];
  double total = 0;
  for (double x : D) total += x * x;
  if (!(total > 0)) fail("steering: pca-diff: every paired difference is zero", center ? " after centring" : "");

  // Power iteration on D^T D, started from the mean difference plus a seeded
  // perturbation (so a start orthogonal to the component cannot stall it).
  std::mt19937_64 rng(0x5eedull);
  std::vector<double> v(static_cast<size_t>(d)), w(static_cast<size_t>(d)), proj(static_cast<size_t>(n));
  double mean_norm = 0;
  for (double x : mean) mean_norm += x * x;
  mean_norm = std::sqrt(mean_norm);
  for (int64_t j = 0; j < d; ++j)
    v[size_t(j)] = (center ? 0.0 : mean[size_t(j)]) +
                   (mean_norm > 0 ? 1e-3 * mean_norm : 1.0) * (double(rng() >> 11) / double(1ull << 53) - 0.5);
  auto normalise = [](std::vector<double>& x) {
    double s = 0;
    for (double y : x) s += y * y;
    s = std::sqrt(s);
    for (double& y : x) y /= s;
  };
  normalise(v);
  for (int it = 0; it < 1000; ++it) {
    for (int64_t i = 0; i < n; ++i) {
      double s = 0;
      for (int64_t j = 0; j < d; ++j) s += D[size_t(i * d + j)] * v[size_t(j)];
      proj[size_t(i)] = s;
    }
    std::fill(w.begin(), w.end(), 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) w[size_t(j)] += D[size_t(i * d + j)] * proj[size_t(i)];
    normalise(w);
    double change = 0;
    for (int64_t j = 0; j < d; ++j) change = std::max(change, std::abs(w[size_t(j)] - v[size_t(j)]));
    v.swap(w);
    if (change < 1e-12) break;
  }

  // repeng's sign: the side most pairs fall on; ties follow the mean difference.
  int64_t higher = 0, lower = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = dot(pos + i * d, v), b = dot(neg + i * d, v);
    higher += a > b;
    lower += a < b;
  }
  double along_mean = 0;
  for (int64_t j = 0; j < d; ++j) along_mean += v[size_t(j)] * mean[size_t(j)];
  const bool flip = lower > higher || (lower == higher && along_mean < 0);
  std::vector<float> out(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) out[size_t(j)] = float(flip ? -v[size_t(j)] : v[size_t(j)]);
  return out;
}

}  // namespace glassbox::steering
