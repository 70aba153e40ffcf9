// L2-regularised logistic regression by Newton's method (IRLS). The objective
// is strictly convex in the weights and the Newton step is exact, so a probe
// is the unique optimum to within `tol` and identical from run to run; with
// two classes one output (the log-odds of class 1), with more a softmax over
// one output per class.
#include <cblas.h>

#include <algorithm>
#include <cmath>

#include "features/probe_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

namespace {

// One state of the optimisation: the parameters theta = W [D, K] (last row the
// biases), per-row class probabilities and the objective's value.
struct Logistic {
  const std::vector<double>& X;  // [n, D]
  const int32_t* y;
  int64_t n, D, K;
  double l2;

  // Scores s = X theta, probabilities p; returns the objective.
  double evaluate(const std::vector<double>& theta, std::vector<double>& p) const {
    p.assign(size_t(n * K), 0.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(n), int(K), int(D), 1.0, X.data(), int(D),
                theta.data(), int(K), 0.0, p.data(), int(K));
    double loss = 0;
    for (int64_t i = 0; i < n; ++i) {
      double* s = p.data() + i * K;
      if (K == 1) {  // log(1 + e^s) - y s, stably
        const double si = s[0];
        loss += std::max(si, 0.0) + std::log1p(std::exp(-std::abs(si))) - (y[i] == 1 ? si : 0.0);
        s[0] = si >= 0 ? 1 / (1 + std::exp(-si)) : std::exp(si) / (1 + std::exp(si));
        continue;
      }
      const double mx = *std::max_element(s, s + K);
      double z = 0;
      for (int64_t k = 0; k < K; ++k) z += std::exp(s[k] - mx);
      loss += mx + std::log(z) - s[y[i]];
      for (int64_t k = 0; k < K; ++k) s[k] = std::exp(s[k] - mx) / z;
    }
    double reg = 0;
    for (int64_t j = 0; j + 1 < D; ++j)
      for (int64_t k = 0; k < K; ++k) reg += theta[size_t(j * K + k)] * theta[size_t(j * K + k)];
    return loss / double(n) + 0.5 * l2 * reg;
  }

  double target(int64_t i, int64_t k) const { return K == 1 ? double(y[i] == 1) : double(y[i] == k); }

  std::vector<double> gradient(const std::vector<double>& theta, const std::vector<double>& p) const {
    std::vector<double> r(size_t(n * K));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t k = 0; k < K; ++k) r[size_t(i * K + k)] = (p[size_t(i * K + k)] - target(i, k)) / double(n);
    std::vector<double> g(size_t(D * K));
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(D), int(K), int(n), 1.0, X.data(), int(D), r.data(),
                int(K), 0.0, g.data(), int(K));
    for (int64_t j = 0; j + 1 < D; ++j)
      for (int64_t k = 0; k < K; ++k) g[size_t(j * K + k)] += l2 * theta[size_t(j * K + k)];
    return g;
  }

  // H[(j,k), (j',l)] = sum_i x_ij x_ij' p_ik (delta_kl - p_il) / n + l2 delta (weights only).
  std::vector<double> hessian(const std::vector<double>& p) const {
    const int64_t P = D * K;
    std::vector<double> H(size_t(P * P)), wx(size_t(n * D)), M(size_t(D * D));
    for (int64_t k = 0; k < K; ++k)
      for (int64_t l = k; l < K; ++l) {
        for (int64_t i = 0; i < n; ++i) {
          const double pk = p[size_t(i * K + k)], pl = p[size_t(i * K + l)];
          const double w = (K == 1 ? pk * (1 - pk) : pk * ((k == l) - pl)) / double(n);
          for (int64_t j = 0; j < D; ++j) wx[size_t(i * D + j)] = w * X[size_t(i * D + j)];
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(D), int(D), int(n), 1.0, X.data(), int(D),
                    wx.data(), int(D), 0.0, M.data(), int(D));
        for (int64_t a = 0; a < D; ++a)
          for (int64_t c = 0; c < D; ++c) {
            H[size_t((a * K + k) * P + c * K + l)] = M[size_t(a * D + c)];
            H[size_t((c * K + l) * P + a * K + k)] = M[size_t(a * D + c)];
          }
      }
    for (int64_t j = 0; j < D; ++j)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t q = j * K + k;
        // The biases of a softmax may all shift together without changing
        // anything (the gradient is orthogonal to that direction); a tiny
        // diagonal term makes the system solvable without moving the optimum.
        H[size_t(q * P + q)] += j + 1 < D ? l2 : 1e-10;
      }
    return H;
  }
};

}  // namespace

LinearProbe fit_logistic(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                         const ProbeOptions& opt) {
  detail::check_classes("fit_logistic", y, n, d, n_classes);
  if (!(opt.l2 >= 0)) fail("fit_logistic: l2 must be >= 0, got ", opt.l2);
  std::vector<int64_t> count(size_t(n_classes), 0);
  for (int64_t i = 0; i < n; ++i) ++count[size_t(y[i])];
  for (int c = 0; c < n_classes; ++c)
    if (count[size_t(c)] == 0)
      fail("fit_logistic: class ", c, " has no rows (the optimum is at infinity); every class needs an example");

  LinearProbe p;
  p.kind = ProbeKind::Logistic;
  p.n_classes = n_classes;
  p.n_outputs = n_classes == 2 ? 1 : n_classes;
  detail::standardise(p, x, n, d, /*scale=*/true);
  const std::vector<double> X = detail::design(p, x, n);
  const Logistic f{X, y, n, d + 1, p.n_outputs, opt.l2};

  std::vector<double> theta(size_t((d + 1) * p.n_outputs), 0.0), prob, trial_prob;
  double value = f.evaluate(theta, prob);
  p.converged = false;
  for (p.iterations = 0; p.iterations < opt.max_iter; ++p.iterations) {
    const std::vector<double> g = f.gradient(theta, prob);
    double gmax = 0;
    for (double v : g) gmax = std::max(gmax, std::abs(v));
    if (gmax < opt.tol) {
      p.converged = true;
      break;
    }
    std::vector<double> H = f.hessian(prob), step = g;
    detail::cholesky_solve(H, step, int64_t(g.size()), 1, "fit_logistic");
    double slope = 0;  // g . (-step) < 0: a descent direction
    for (size_t q = 0; q < g.size(); ++q) slope -= g[q] * step[q];
    // Backtracking (Armijo): full Newton steps near the optimum, shorter far from it.
    double t = 1, trial = 0;
    std::vector<double> next(theta.size());
    for (int halvings = 0;; ++halvings) {
      for (size_t q = 0; q < theta.size(); ++q) next[q] = theta[q] - t * step[q];
      trial = f.evaluate(next, trial_prob);
      if (trial <= value + 1e-4 * t * slope || halvings == 50) break;
      t /= 2;
    }
    if (!(trial < value) && t < 1) {  // no decrease left at double precision: at the optimum
      p.converged = gmax < 1e-6;
      break;
    }
    theta.swap(next);
    prob.swap(trial_prob);
    value = trial;
  }
  p.W.assign(theta.begin(), theta.begin() + d * p.n_outputs);
  p.b.assign(theta.begin() + d * p.n_outputs, theta.end());
  return p;
}

}  // namespace glassbox::features
