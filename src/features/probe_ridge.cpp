// Ridge regression in closed form: (X^T X / n + l2 I) W = X^T Y / n on
// standardised inputs with an unpenalised bias column, solved by Cholesky.
// As a classifier (sklearn's RidgeClassifier) the targets are +-1: one output
// for two classes, one per class otherwise.
#include <cblas.h>

#include "features/probe_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

namespace {

// Fits p.W and p.b to targets T [n, K] (p standardised already).
void solve_ridge(LinearProbe& p, const float* x, const std::vector<double>& T, int64_t n, double l2) {
  if (!(l2 >= 0)) fail("ridge probe: l2 must be >= 0, got ", l2);
  const int64_t d = p.d_in, D = d + 1, K = p.n_outputs;
  const std::vector<double> X = detail::design(p, x, n);
  std::vector<double> A(size_t(D * D)), B(size_t(D * K));
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(D), int(D), int(n), 1.0 / double(n), X.data(), int(D),
              X.data(), int(D), 0.0, A.data(), int(D));
  cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(D), int(K), int(n), 1.0 / double(n), X.data(), int(D),
              T.data(), int(K), 0.0, B.data(), int(K));
  for (int64_t j = 0; j < d; ++j) A[size_t(j * D + j)] += l2;
  // A constant (zeroed) dimension with l2 = 0 leaves A singular: nudge it.
  for (int64_t j = 0; j < d; ++j)
    if (A[size_t(j * D + j)] <= 0) A[size_t(j * D + j)] = 1e-12;
  detail::cholesky_solve(A, B, D, K, "ridge probe");
  p.W.assign(B.begin(), B.begin() + d * K);
  p.b.assign(B.begin() + d * K, B.end());
}

}  // namespace

LinearProbe fit_ridge_regression(const float* x, const double* target, int64_t n, int64_t d,
                                 const ProbeOptions& opt) {
  if (n <= 0 || d <= 0) fail("fit_ridge_regression: need rows and dimensions, got [", n, ", ", d, "]");
  LinearProbe p;
  p.kind = ProbeKind::Ridge;
  p.n_classes = 0;
  p.n_outputs = 1;
  detail::standardise(p, x, n, d, /*scale=*/true);
  solve_ridge(p, x, std::vector<double>(target, target + n), n, opt.l2);
  return p;
}

LinearProbe fit_ridge_classifier(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                                 const ProbeOptions& opt) {
  detail::check_classes("fit_ridge_classifier", y, n, d, n_classes);
  LinearProbe p;
  p.kind = ProbeKind::Ridge;
  p.n_classes = n_classes;
  p.n_outputs = n_classes == 2 ? 1 : n_classes;
  detail::standardise(p, x, n, d, /*scale=*/true);
  const int64_t K = p.n_outputs;
  std::vector<double> T(size_t(n * K), -1.0);
  for (int64_t i = 0; i < n; ++i) {
    if (K == 1) T[size_t(i)] = y[i] == 1 ? 1.0 : -1.0;
    else T[size_t(i * K + y[i])] = 1.0;
  }
  solve_ridge(p, x, T, n, opt.l2);
  return p;
}

}  // namespace glassbox::features
