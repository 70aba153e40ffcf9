// LinearProbe: scoring, prediction, JSON; the standardisation and the linear
// algebra the fitters share (probe_detail.h).
#include "glassbox/features/probe.h"

#include <cmath>

#include "features/probe_detail.h"
#include "glassbox/error.h"

// LAPACK's Cholesky factorisation and solve, from OpenBLAS (which ships no
// lapacke.h on Debian). One-character strings need no hidden length here.
extern "C" {
void dpotrf_(const char* uplo, const int* n, double* a, const int* lda, int* info);
void dpotrs_(const char* uplo, const int* n, const int* nrhs, const double* a, const int* lda, double* b,
             const int* ldb, int* info);
}

namespace glassbox::features {

namespace {
constexpr enum_table::Names<ProbeKind, 3> kProbeKindNames = {
    {ProbeKind::Logistic, "logistic"}, {ProbeKind::Ridge, "ridge"}, {ProbeKind::MassMean, "mass-mean"}};
}  // namespace

const char* to_string(ProbeKind k) { return enum_table::name(k, kProbeKindNames); }

void LinearProbe::scores(const float* x, int64_t rows, double* out) const {
  const int64_t K = n_outputs;
  for (int64_t i = 0; i < rows; ++i) {
    double* o = out + i * K;
    for (int64_t k = 0; k < K; ++k) o[k] = b[size_t(k)];
    const float* xi = x + i * d_in;
    for (int64_t j = 0; j < d_in; ++j) {
      const double z = (double(xi[j]) - mean[size_t(j)]) * inv_scale[size_t(j)];
      const double* w = W.data() + j * K;
      for (int64_t k = 0; k < K; ++k) o[k] += z * w[k];
    }
  }
}

std::vector<double> LinearProbe::scores(const float* x, int64_t rows) const {
  std::vector<double> out(size_t(rows * n_outputs));
  scores(x, rows, out.data());
  return out;
}

std::vector<int32_t> LinearProbe::predict(const float* x, int64_t rows) const {
  if (n_classes < 2) fail("probe: predict() on a regression probe (use scores())");
  const std::vector<double> s = scores(x, rows);
  std::vector<int32_t> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i) {
    if (n_outputs == 1) {
      out[size_t(i)] = s[size_t(i)] > 0 ? 1 : 0;
      continue;
    }
    int32_t best = 0;
    for (int64_t k = 1; k < n_outputs; ++k)
      if (s[size_t(i * n_outputs + k)] > s[size_t(i * n_outputs + best)]) best = int32_t(k);
    out[size_t(i)] = best;
  }
  return out;
}

std::vector<double> LinearProbe::direction(int64_t output) const {
  if (output < 0 || output >= n_outputs) fail("probe: direction(", output, ") of a probe with ", n_outputs, " outputs");
  std::vector<double> v(static_cast<size_t>(d_in));
  for (int64_t j = 0; j < d_in; ++j) v[size_t(j)] = W[size_t(j * n_outputs + output)] * inv_scale[size_t(j)];
  return v;
}

nlohmann::json LinearProbe::to_json() const {
  nlohmann::json dirs = nlohmann::json::array();
  for (int64_t k = 0; k < n_outputs; ++k) dirs.push_back(direction(k));
  return {{"kind", to_string(kind)}, {"d_in", d_in},           {"n_outputs", n_outputs},
          {"n_classes", n_classes},  {"iterations", iterations}, {"converged", converged},
          {"mean", mean},            {"direction", dirs},      {"bias", b}};
}

namespace detail {

void check_classes(const char* who, const int32_t* y, int64_t n, int64_t d, int n_classes) {
  if (n <= 0 || d <= 0) fail(who, ": need rows and dimensions, got [", n, ", ", d, "]");
  if (n_classes < 2) fail(who, ": n_classes must be >= 2, got ", n_classes);
  for (int64_t i = 0; i < n; ++i)
    if (y[i] < 0 || y[i] >= n_classes) fail(who, ": label ", y[i], " of row ", i, " is not in [0, ", n_classes, ")");
}

void standardise(LinearProbe& p, const float* x, int64_t n, int64_t d, bool scale) {
  p.d_in = d;
  p.mean.assign(size_t(d), 0.0);
  p.inv_scale.assign(size_t(d), 1.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) p.mean[size_t(j)] += x[i * d + j];
  for (double& m : p.mean) m /= double(n);
  if (!scale) return;
  std::vector<double> var(size_t(d), 0.0);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) {
      const double c = x[i * d + j] - p.mean[size_t(j)];
      var[size_t(j)] += c * c;
    }
  for (int64_t j = 0; j < d; ++j) {
    const double sd = std::sqrt(var[size_t(j)] / double(n));
    // Constant dimensions (within rounding of their magnitude) carry nothing.
    if (sd > 1e-12 * (1 + std::abs(p.mean[size_t(j)]))) p.inv_scale[size_t(j)] = 1 / sd;
  }
}

std::vector<double> design(const LinearProbe& p, const float* x, int64_t n) {
  const int64_t d = p.d_in, D = d + 1;
  std::vector<double> X(size_t(n * D));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j)
      X[size_t(i * D + j)] = (double(x[i * d + j]) - p.mean[size_t(j)]) * p.inv_scale[size_t(j)];
    X[size_t(i * D + d)] = 1.0;
  }
  return X;
}

void cholesky_solve(std::vector<double>& A, std::vector<double>& B, int64_t m, int64_t nrhs, const char* who) {
  // LAPACK (OpenBLAS's): a symmetric A reads the same in either storage
  // order; B is row-major [m, nrhs] here and column-major there.
  const int n = int(m), k = int(nrhs);
  int info = 0;
  dpotrf_("L", &n, A.data(), &n, &info);
  if (info != 0) fail(who, ": the system is not positive definite (LAPACK dpotrf info ", info, ")");
  std::vector<double> Bc(B.size());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < nrhs; ++r) Bc[size_t(r * m + i)] = B[size_t(i * nrhs + r)];
  dpotrs_("L", &n, &k, A.data(), &n, Bc.data(), &n, &info);
  if (info != 0) fail(who, ": LAPACK dpotrs failed (info ", info, ")");
  for (int64_t i = 0; i < m; ++i)
    for (int64_t r = 0; r < nrhs; ++r) B[size_t(i * nrhs + r)] = Bc[size_t(r * m + i)];
}

}  // namespace detail

LinearProbe fit_probe(const float* x, const int32_t* y, int64_t n, int64_t d, int n_classes,
                      const ProbeOptions& opt) {
  switch (opt.kind) {
    case ProbeKind::Logistic: return fit_logistic(x, y, n, d, n_classes, opt);
    case ProbeKind::Ridge: return fit_ridge_classifier(x, y, n, d, n_classes, opt);
    case ProbeKind::MassMean: return fit_mass_mean(x, y, n, d, n_classes, opt);
  }
  fail("probe: unknown kind");
}

}  // namespace glassbox::features

namespace glassbox {
template <>
features::ProbeKind from_string<features::ProbeKind>(std::string_view s) {
  return enum_table::value(s, features::kProbeKindNames, "probe kind");
}
}  // namespace glassbox
