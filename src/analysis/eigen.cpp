#include "analysis/eigen.h"

#include <cmath>

#include "glassbox/error.h"

namespace glassbox::analysis::detail {

namespace {

double sign(double a, double b) { return b >= 0 ? std::fabs(a) : -std::fabs(a); }

// 1-based indexing as in the classic formulation keeps the index algebra readable.
struct Mat {
  std::vector<double>& a;
  int n;
  double& operator()(int i, int j) { return a[size_t((i - 1) * n + (j - 1))]; }
};

void to_hessenberg(Mat A) {
  const int n = A.n;
  for (int m = 2; m < n; ++m) {
    double x = 0;
    int i = m;
    for (int j = m; j <= n; ++j)
      if (std::fabs(A(j, m - 1)) > std::fabs(x)) x = A(j, m - 1), i = j;
    if (i != m) {
      for (int j = m - 1; j <= n; ++j) std::swap(A(i, j), A(m, j));
      for (int j = 1; j <= n; ++j) std::swap(A(j, i), A(j, m));
    }
    if (x != 0) {
      for (i = m + 1; i <= n; ++i) {
        double y = A(i, m - 1);
        if (y == 0) continue;
        y /= x;
        A(i, m - 1) = y;
        for (int j = m; j <= n; ++j) A(i, j) -= y * A(m, j);
        for (int j = 1; j <= n; ++j) A(j, m) += y * A(j, i);
      }
    }
  }
  for (int i = 3; i <= n; ++i)
    for (int j = 1; j < i - 1; ++j) A(i, j) = 0;  // the multipliers stored there are not part of H
}

}  // namespace

std::vector<std::complex<double>> eigenvalues(std::vector<double> a, int n) {
  if (int64_t(a.size()) != int64_t(n) * n) fail("eigenvalues: matrix has ", a.size(), " entries, expected ", n, "x", n);
  std::vector<double> wr(size_t(n) + 1, 0.0), wi(size_t(n) + 1, 0.0);
  Mat A{a, n};
  to_hessenberg(A);
  double anorm = 0;
  for (int i = 1; i <= n; ++i)
    for (int j = std::max(i - 1, 1); j <= n; ++j) anorm += std::fabs(A(i, j));
  int nn = n, l = 1;
  double t = 0, p = 0, q = 0, r = 0, s = 0, w = 0, x = 0, y = 0, z = 0;
  while (nn >= 1) {
    int its = 0;
    do {
      for (l = nn; l >= 2; --l) {
        s = std::fabs(A(l - 1, l - 1)) + std::fabs(A(l, l));
        if (s == 0) s = anorm;
        if (std::fabs(A(l, l - 1)) + s == s) {
          A(l, l - 1) = 0;
          break;
        }
      }
      x = A(nn, nn);
      if (l == nn) {  // one root found
        wr[size_t(nn)] = x + t;
        wi[size_t(nn--)] = 0;
      } else {
        y = A(nn - 1, nn - 1);
        w = A(nn, nn - 1) * A(nn - 1, nn);
        if (l == nn - 1) {  // two roots found
          p = 0.5 * (y - x);
          q = p * p + w;
          z = std::sqrt(std::fabs(q));
          x += t;
          if (q >= 0) {
            z = p + sign(z, p);
            wr[size_t(nn - 1)] = wr[size_t(nn)] = x + z;
            if (z != 0) wr[size_t(nn)] = x - w / z;
            wi[size_t(nn - 1)] = wi[size_t(nn)] = 0;
          } else {
            wr[size_t(nn - 1)] = wr[size_t(nn)] = x + p;
            wi[size_t(nn - 1)] = -(wi[size_t(nn)] = z);
          }
          nn -= 2;
        } else {
          if (its == 60) fail("eigenvalues: QR iteration did not converge");
          if (its == 10 || its == 20 || its == 40) {  // exceptional shift
            t += x;
            for (int i = 1; i <= nn; ++i) A(i, i) -= x;
            s = std::fabs(A(nn, nn - 1)) + std::fabs(A(nn - 1, nn - 2));
            y = x = 0.75 * s;
            w = -0.4375 * s * s;
          }
          ++its;
          int m;
          for (m = nn - 2; m >= l; --m) {
            z = A(m, m);
            r = x - z;
            s = y - z;
            p = (r * s - w) / A(m + 1, m) + A(m, m + 1);
            q = A(m + 1, m + 1) - z - r - s;
            r = A(m + 2, m + 1);
            s = std::fabs(p) + std::fabs(q) + std::fabs(r);
            p /= s;
            q /= s;
            r /= s;
            if (m == l) break;
            const double u = std::fabs(A(m, m - 1)) * (std::fabs(q) + std::fabs(r));
            const double v = std::fabs(p) * (std::fabs(A(m - 1, m - 1)) + std::fabs(z) + std::fabs(A(m + 1, m + 1)));
            if (u + v == v) break;
          }
          for (int i = m + 2; i <= nn; ++i) {
            A(i, i - 2) = 0;
            if (i != m + 2) A(i, i - 3) = 0;
          }
          for (int k = m; k <= nn - 1; ++k) {
            if (k != m) {
              p = A(k, k - 1);
              q = A(k + 1, k - 1);
              r = 0;
              if (k != nn - 1) r = A(k + 2, k - 1);
              if ((x = std::fabs(p) + std::fabs(q) + std::fabs(r)) != 0) {
                p /= x;
                q /= x;
                r /= x;
              }
            }
            if ((s = sign(std::sqrt(p * p + q * q + r * r), p)) != 0) {
              if (k == m) {
                if (l != m) A(k, k - 1) = -A(k, k - 1);
              } else {
                A(k, k - 1) = -s * x;
              }
              p += s;
              x = p / s;
              y = q / s;
              z = r / s;
              q /= p;
              r /= p;
              for (int j = k; j <= nn; ++j) {
                p = A(k, j) + q * A(k + 1, j);
                if (k != nn - 1) {
                  p += r * A(k + 2, j);
                  A(k + 2, j) -= p * z;
                }
                A(k + 1, j) -= p * y;
                A(k, j) -= p * x;
              }
              const int mmin = nn < k + 3 ? nn : k + 3;
              for (int i = l; i <= mmin; ++i) {
                p = x * A(i, k) + y * A(i, k + 1);
                if (k != nn - 1) {
                  p += z * A(i, k + 2);
                  A(i, k + 2) -= p * r;
                }
                A(i, k + 1) -= p * q;
                A(i, k) -= p;
              }
            }
          }
        }
      }
    } while (l < nn - 1);
  }
  std::vector<std::complex<double>> out;
  for (int i = 1; i <= n; ++i) out.push_back({wr[size_t(i)], wi[size_t(i)]});
  return out;
}

}  // namespace glassbox::analysis::detail
