// Internals shared by the kernel files: parallel thresholds, BLAS argument
// checks and a vectorisable exp.
#pragma once
#include <bit>
#include <climits>
#include <cmath>
#include <cstdint>

#include <glassbox/error.h>

namespace glassbox::kernels::detail {

// Below this many elements an OpenMP fork/join (~1-5 us) costs more than the
// loop itself; decode steps (N = 1) stay single-threaded.
inline constexpr int64_t kParallelMin = int64_t{1} << 15;

// While one lives, OpenBLAS runs each GEMM on its caller's thread (count 1):
// the pthreads build sizes every sgemm to its one global count, and GEMMs
// issued from inside our own OpenMP loops must not fork again. Reference-counted across
// threads: the first in sets 1, the last out restores the count that
// set_num_threads() last asked for (kernels/threads.cpp owns that count, so a
// set_num_threads() meanwhile is applied on the way out, not overwritten).
class BlasOnCallerThread {
 public:
  BlasOnCallerThread();
  ~BlasOnCallerThread();
  BlasOnCallerThread(const BlasOnCallerThread&) = delete;
  BlasOnCallerThread& operator=(const BlasOnCallerThread&) = delete;
};

// CBLAS (non-ILP64 OpenBLAS) takes int sizes.
inline int blas_int(int64_t v, const char* what) {
  if (v < 0 || v > INT_MAX) fail("kernels: ", what, " = ", v, " does not fit a BLAS int");
  return static_cast<int>(v);
}

// BLAS insists on ld >= max(1, cols) even where a single row makes ld unused;
// callers pass anything for a one-row operand, so widen it there.
inline int blas_ld(int64_t ld, int64_t rows, int64_t cols, const char* what) {
  int64_t need = cols > 1 ? cols : 1;
  if (rows <= 1 && ld < need) ld = need;
  if (ld < need) fail("kernels: ", what, " = ", ld, " is smaller than the row length ", cols);
  return blas_int(ld, what);
}

// Cephes expf: exp(x) = 2^n * P(r), |r| <= ln2/2, about 1 ulp. Branch-free and
// inline so `omp simd` loops (softmax, SiLU, GELU, cross-entropy) vectorise;
// glibc's libmvec would need -ffast-math, which we do not want for the rest
// of the arithmetic. Results below FLT_MIN flush to 0 (-inf -> 0 exactly,
// which masked softmax entries rely on); 2^n is applied in two halves so
// n = 128 (x near ln FLT_MAX) does not overflow the exponent field early.
inline float exp_f(float x) {
  constexpr float kHi = 88.72283f, kLo = -87.33654f;
  const bool nan = !(x == x);
  float xc = x > kHi ? kHi : x;
  xc = xc < kLo ? kLo : xc;
  xc = nan ? 0.0f : xc;
  const float n = std::floor(xc * 1.44269504088896341f + 0.5f);
  float r = xc - n * 0.693359375f;  // ln2 split in two so n*ln2 is exact
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t h = ni >> 1;
  y = y * std::bit_cast<float>((h + 127) << 23) * std::bit_cast<float>((ni - h + 127) << 23);
  y = x < kLo ? 0.0f : y;
  y = x > kHi ? INFINITY : y;
  return nan ? x : y;
}

// 1 / (1 + e^-x); saturates cleanly to 0 / 1 at the ends (exp_f -> inf / 0).
inline float sigmoid_f(float x) { return 1.0f / (1.0f + exp_f(-x)); }

}  // namespace glassbox::kernels::detail
