// Test helpers for the sparse dictionaries: random SAEs and an independent,
// straightforward (double, dense, sort-based) reference of the forward and loss.
#pragma once
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "glassbox/features/sae.h"

namespace glassbox::features::testing {

inline std::vector<float> randn(size_t n, uint64_t seed, float scale = 1.f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// A random SAE whose weights are not tied or unit-norm (so the tests see every term).
inline Sae random_sae(SaeConfig c, uint64_t seed, float b_enc_shift = 0.f) {
  Sae s = Sae::init(c, seed);
  const size_t in = size_t(c.in_width()), out = size_t(c.out_width()), S = size_t(c.d_sae);
  s.W_enc = randn(in * S, seed + 1, 0.5f);
  s.W_dec = randn(S * out, seed + 2, 0.5f);
  s.b_enc = randn(S, seed + 3, 0.3f);
  for (float& b : s.b_enc) b += b_enc_shift;
  s.b_dec = randn(out, seed + 4, 0.3f);
  if (!s.threshold.empty()) {
    s.threshold = randn(S, seed + 5, 0.1f);
    for (float& t : s.threshold) t = std::fabs(t) + 0.05f;
  }
  return s;
}

struct RefOut {
  std::vector<double> pre, f, x_hat;
  double mse = 0, sparsity = 0, aux = 0, l0 = 0;
};

// Written from the definitions, independently of src/features.
inline RefOut reference_forward(const Sae& s, const SaeLossOptions& o, const std::vector<float>& x,
                                const std::vector<float>& y, int64_t rows) {
  const SaeConfig& c = s.cfg;
  const int64_t in = c.in_width(), out = c.out_width(), S = c.d_sae, K = c.n_sources, od = c.out_dim();
  const bool center = c.apply_b_dec_to_input && in == out && c.hook_name_out.empty();
  RefOut r;
  r.pre.assign(size_t(rows * S), 0);
  r.f.assign(size_t(rows * S), 0);
  r.x_hat.assign(size_t(rows * out), 0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t j = 0; j < S; ++j) {
      double a = s.b_enc[size_t(j)];
      for (int64_t i = 0; i < in; ++i)
        a += (double(x[size_t(n * in + i)]) - (center ? s.b_dec[size_t(i)] : 0.0)) * s.W_enc[size_t(i * S + j)];
      r.pre[size_t(n * S + j)] = a;
    }
  if (c.arch == SaeArch::BatchTopK && o.train_batchtopk) {
    std::vector<double> all;
    for (double p : r.pre) all.push_back(p);
    std::sort(all.begin(), all.end(), std::greater<double>());
    const double cut = all[size_t(c.k * rows - 1)];
    for (size_t e = 0; e < r.pre.size(); ++e)
      if (r.pre[e] >= cut && r.pre[e] > 0) r.f[e] = r.pre[e];
  } else {
    for (int64_t n = 0; n < rows; ++n) {
      const double* p = r.pre.data() + n * S;
      double* f = r.f.data() + n * S;
      if (c.arch == SaeArch::TopK) {
        std::vector<int64_t> ord(static_cast<size_t>(S));
        std::iota(ord.begin(), ord.end(), 0);
        std::stable_sort(ord.begin(), ord.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
        for (int64_t e = 0; e < c.k; ++e) f[ord[size_t(e)]] = std::max(0.0, p[ord[size_t(e)]]);
      } else {
        for (int64_t j = 0; j < S; ++j) {
          const double t = c.arch == SaeArch::Relu ? 0.0 : double(s.threshold[size_t(j)]);
          f[j] = p[j] > t && p[j] > 0 ? p[j] : 0.0;
        }
      }
    }
  }
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t i = 0; i < out; ++i) {
      double a = s.b_dec[size_t(i)];
      for (int64_t j = 0; j < S; ++j) a += r.f[size_t(n * S + j)] * s.W_dec[size_t(j * out + i)];
      r.x_hat[size_t(n * out + i)] = a;
      const double d = a - y[size_t(n * out + i)];
      r.mse += d * d / double(rows);
    }
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t j = 0; j < S; ++j) {
      const double fv = r.f[size_t(n * S + j)];
      if (fv == 0) continue;
      r.l0 += 1.0 / double(rows);
      if (c.arch == SaeArch::Relu) {
        double w = 0;
        for (int64_t k = 0; k < K; ++k) {
          double ss = 0;
          for (int64_t i = 0; i < od; ++i) ss += std::pow(double(s.W_dec[size_t(j * out + k * od + i)]), 2);
          w += std::sqrt(ss);
        }
        r.sparsity += o.l1_coefficient * fv * w / double(rows);
      }
    }
  if (c.arch == SaeArch::JumpRelu) r.sparsity = o.l0_coefficient * r.l0;
  if (o.aux_k > 0 && o.dead) {
    for (int64_t n = 0; n < rows; ++n) {
      std::vector<int64_t> ord;
      for (int64_t j = 0; j < S; ++j)
        if (o.dead[j] && r.pre[size_t(n * S + j)] > 0) ord.push_back(j);
      std::stable_sort(ord.begin(), ord.end(),
                       [&](int64_t a, int64_t b) { return r.pre[size_t(n * S + a)] > r.pre[size_t(n * S + b)]; });
      ord.resize(std::min<size_t>(ord.size(), size_t(o.aux_k)));
      for (int64_t i = 0; i < out; ++i) {
        double a = 0;
        for (int64_t j : ord) a += r.pre[size_t(n * S + j)] * s.W_dec[size_t(j * out + i)];
        const double e = y[size_t(n * out + i)] - r.x_hat[size_t(n * out + i)];
        r.aux += o.aux_coefficient * (a - e) * (a - e) / double(rows);
      }
    }
  }
  return r;
}

}  // namespace glassbox::features::testing

namespace glassbox::features::testing {

// Rows that are sparse sums of n_feat random unit directions in d dims (a toy
// model of superposition's input): each feature fires with probability p and
// magnitude in [0.5, 1.5). dirs is [n_feat, d].
struct Planted {
  std::vector<float> dirs, rows;
};
inline Planted planted_features(int64_t n_feat, int64_t d, int64_t rows, double p, uint64_t seed) {
  Planted P;
  P.dirs = randn(size_t(n_feat * d), seed);
  for (int64_t f = 0; f < n_feat; ++f) {
    double ss = 0;
    for (int64_t i = 0; i < d; ++i) ss += double(P.dirs[size_t(f * d + i)]) * P.dirs[size_t(f * d + i)];
    for (int64_t i = 0; i < d; ++i) P.dirs[size_t(f * d + i)] /= float(std::sqrt(ss));
  }
  std::mt19937_64 rng(seed + 1);
  std::uniform_real_distribution<double> u(0, 1);
  P.rows.assign(size_t(rows * d), 0.f);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t f = 0; f < n_feat; ++f)
      if (u(rng) < p) {
        const float m = float(0.5 + u(rng));
        for (int64_t i = 0; i < d; ++i) P.rows[size_t(n * d + i)] += m * P.dirs[size_t(f * d + i)];
      }
  return P;
}

// Fraction of planted directions that some decoder row matches with cosine >= min_cos.
inline double recovered_fraction(const Sae& s, const std::vector<float>& dirs, int64_t n_feat, double min_cos) {
  const int64_t d = s.cfg.out_width(), S = s.cfg.d_sae;
  int64_t hit = 0;
  for (int64_t f = 0; f < n_feat; ++f) {
    double best = -1;
    for (int64_t j = 0; j < S; ++j) {
      double dot = 0, nn = 0;
      for (int64_t i = 0; i < d; ++i) {
        dot += double(dirs[size_t(f * d + i)]) * s.W_dec[size_t(j * d + i)];
        nn += double(s.W_dec[size_t(j * d + i)]) * s.W_dec[size_t(j * d + i)];
      }
      best = std::max(best, dot / std::sqrt(std::max(nn, 1e-30)));
    }
    hit += best >= min_cos;
  }
  return double(hit) / double(n_feat);
}

}  // namespace glassbox::features::testing
