// Internal: what the probe fitters share — argument checks, standardisation,
// the design matrix with its bias column, and a Cholesky solver.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/features/probe.h"

namespace glassbox::features::detail {

// Error naming `who` unless n > 0, d > 0, n_classes >= 2 and every label in [0, n_classes).
void check_classes(const char* who, const int32_t* y, int64_t n, int64_t d, int n_classes);
// Sets p.mean and p.inv_scale from the rows (inv_scale 1 where a dimension is
// constant: it is centred to 0 anyway); scale = false: centring only.
void standardise(LinearProbe& p, const float* x, int64_t n, int64_t d, bool scale);
// [n, d + 1]: standardised rows, then a column of ones (the bias).
std::vector<double> design(const LinearProbe& p, const float* x, int64_t n);
// Solves A X = B in place (B becomes X) for a symmetric positive definite
// A [m, m] and B [m, nrhs] (row-major) by LAPACK's Cholesky; A is
// overwritten by its factor. Error naming `who` when A is not positive definite.
void cholesky_solve(std::vector<double>& A, std::vector<double>& B, int64_t m, int64_t nrhs, const char* who);

}  // namespace glassbox::features::detail
