// Eigenvalues of a small dense real matrix: reduction to upper Hessenberg form
// by stabilised elementary similarity transforms, then Francis double-shift
// QR (the EISPACK hqr / Numerical Recipes route). Real Schur form without
// vectors is all the copying score needs: O(n^3), in double.
#pragma once
#include <complex>
#include <vector>

namespace glassbox::analysis::detail {

// a: [n, n] row-major, destroyed. Throws Error if QR does not converge.
std::vector<std::complex<double>> eigenvalues(std::vector<double> a, int n);

}  // namespace glassbox::analysis::detail
