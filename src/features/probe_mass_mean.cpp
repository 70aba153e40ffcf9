// Mass-mean probes (Marks & Tegmark 2023): the class means themselves are the
// probe. Class k scores mu_k . z - |mu_k|^2 / 2 (z the centred input): the
// nearest class mean, which for two classes is the direction mu_1 - mu_0
// thresholded half-way between the means. Covariance-corrected ("IID" in the
// paper): the same in the metric Sigma^-1 of the pooled within-class
// covariance, i.e. linear discriminant analysis with equal priors.
#include <cblas.h>

#include "features/probe_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

LinearProbe fit_mass_mean(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                          const ProbeOptions& opt) {
  detail::check_classes("fit_mass_mean", y, n, d, n_classes);
  LinearProbe p;
  p.kind = ProbeKind::MassMean;
  p.n_classes = n_classes;
  detail::standardise(p, x, n, d, /*scale=*/false);
  const int64_t K = n_classes;
  // Class means of the centred rows, M [d, K].
  std::vector<double> M(size_t(d * K), 0.0);
  std::vector<int64_t> count(size_t(K), 0);
  for (int64_t i = 0; i < n; ++i) {
    ++count[size_t(y[i])];
    for (int64_t j = 0; j < d; ++j) M[size_t(j * K + y[i])] += x[i * d + j] - p.mean[size_t(j)];
  }
  for (int64_t k = 0; k < K; ++k) {
    if (count[size_t(k)] == 0) fail("fit_mass_mean: class ", k, " has no rows");
    for (int64_t j = 0; j < d; ++j) M[size_t(j * K + k)] /= double(count[size_t(k)]);
  }
  std::vector<double> A = M;  // the class directions: M, or Sigma^-1 M
  if (opt.covariance_corrected) {
    std::vector<double> R(size_t(n * d));  // rows minus their class mean
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j)
        R[size_t(i * d + j)] = x[i * d + j] - p.mean[size_t(j)] - M[size_t(j * K + y[i])];
    std::vector<double> S(size_t(d * d));
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, int(d), int(d), int(n), 1.0 / double(n), R.data(), int(d),
                R.data(), int(d), 0.0, S.data(), int(d));
    double trace = 0;
    for (int64_t j = 0; j < d; ++j) trace += S[size_t(j * d + j)];
    const double ridge = opt.shrinkage * (trace > 0 ? trace / double(d) : 1.0);
    for (int64_t j = 0; j < d; ++j) S[size_t(j * d + j)] += ridge > 0 ? ridge : 1e-12;
    detail::cholesky_solve(S, A, d, K, "fit_mass_mean (covariance)");
  }
  // score_k = a_k . z - a_k . mu_k / 2
  std::vector<double> W = A, b(size_t(K), 0.0);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t j = 0; j < d; ++j) b[size_t(k)] -= 0.5 * A[size_t(j * K + k)] * M[size_t(j * K + k)];
  if (K == 2) {  // one output: score_1 - score_0
    p.n_outputs = 1;
    p.W.resize(size_t(d));
    for (int64_t j = 0; j < d; ++j) p.W[size_t(j)] = W[size_t(j * 2 + 1)] - W[size_t(j * 2)];
    p.b = {b[1] - b[0]};
  } else {
    p.n_outputs = K;
    p.W = std::move(W);
    p.b = std::move(b);
  }
  return p;
}

}  // namespace glassbox::features
