// matmul_forward / matmul_backward: thin layer over cblas_sgemm that maps the
// strided MatRef views onto BLAS transposes, so no weight is ever copied.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

struct BlasOperand {
  CBLAS_TRANSPOSE trans;  // as a row-major [rows, cols] operand
  int ld;
};

// A [rows, cols] view with element (i,j) at data[i*rs + j*cs]. cs == 1 is a
// row-major matrix (NoTrans, ld = rs); rs == 1 is the transpose of a
// row-major [cols, rows] matrix (Trans, ld = cs). A stride along an axis of
// length 1 is never used, so it may be anything.
BlasOperand as_blas(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  if (cs == 1 || cols <= 1) {
    if (rows <= 1 || rs >= std::max<int64_t>(cols, 1))
      return {CblasNoTrans, detail::blas_ld(rs, rows, cols, "matmul: weight row stride")};
  }
  if (rs == 1 || rows <= 1) {
    if (cols <= 1 || cs >= std::max<int64_t>(rows, 1))
      return {CblasTrans, detail::blas_ld(cs, cols, rows, "matmul: weight column stride")};
  }
  fail("matmul: weight view [", rows, ", ", cols, "] with strides (", rs, ", ", cs,
       ") does not map onto BLAS: need cs == 1 and rs >= cols, or rs == 1 and cs >= rows");
}

CBLAS_TRANSPOSE flip(CBLAS_TRANSPOSE t) { return t == CblasNoTrans ? CblasTrans : CblasNoTrans; }

}  // namespace

void matmul_forward(float* out, int64_t ldo, const float* inp, int64_t ldi, MatRef W,
                    const float* bias, int64_t bias_stride, int64_t N, bool accumulate) {
  const int64_t K = W.rows, M = W.cols;
  if (N <= 0 || M <= 0) return;
  const int ldo_i = detail::blas_ld(ldo, N, M, "matmul: ldo");
  if (W.q) {
    matmul_quant_forward(out, ldo, inp, ldi, W, N, accumulate);
  } else if (K == 0) {
    for (int64_t n = 0; n < N; ++n)
      for (int64_t j = 0; j < M; ++j) {
        const float bj = bias ? bias[j * bias_stride] : 0.0f;
        out[n * ldo_i + j] = accumulate ? out[n * ldo_i + j] + bj : bj;
      }
    return;
  } else {
    const BlasOperand b = as_blas(K, M, W.rs, W.cs);
    const int ldi_i = detail::blas_ld(ldi, N, K, "matmul: ldi");
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b.trans, detail::blas_int(N, "matmul: N"),
                detail::blas_int(M, "matmul: M"), detail::blas_int(K, "matmul: K"), 1.0f, inp,
                ldi_i, W.data, b.ld, accumulate ? 1.0f : 0.0f, out, ldo_i);
  }
  if (!bias) return;
  // Bias is added after the GEMM rather than pre-filled into out with
  // beta = 1: the traffic is the same, but a pre-fill puts an OpenMP region
  // right before the BLAS call, and libgomp's spinning workers then compete
  // with OpenBLAS's pthreads for the same cores (measured: ~10% slower).
  std::vector<float> gathered;
  const float* bv = bias;
  if (bias_stride != 1) {
    gathered.resize(static_cast<size_t>(M));
    for (int64_t j = 0; j < M; ++j) gathered[j] = bias[j * bias_stride];
    bv = gathered.data();
  }
#pragma omp parallel for if (N * M >= detail::kParallelMin) schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    float* o = out + n * ldo_i;
#pragma omp simd
    for (int64_t j = 0; j < M; ++j) o[j] += bv[j];
  }
}

void matmul_backward(float* dinp, int64_t lddi, MutMatRef dW, float* dbias, int64_t dbias_stride,
                     const float* dout, int64_t lddo, const float* inp, int64_t ldi, MatRef W,
                     int64_t N) {
  const int64_t K = W.rows, M = W.cols;
  if (N <= 0 || M <= 0) return;
  const int n_i = detail::blas_int(N, "matmul: N"), m_i = detail::blas_int(M, "matmul: M");
  const int k_i = detail::blas_int(K, "matmul: K");
  const int lddo_i = detail::blas_ld(lddo, N, M, "matmul: lddo");
  if (W.q && dW.data)
    fail("matmul_backward: this weight is kept quantised (", dtype_name(W.q->dtype),
         "); weights of a quantised model cannot be trained or differentiated (gradients w.r.t. activations work;"
         " load without keep_quantized for weight gradients)");

  if (dinp && K > 0 && W.q) {
    matmul_quant_backward_input(dinp, lddi, dout, lddo, W, N);
  } else if (dinp && K > 0) {
    const BlasOperand b = as_blas(K, M, W.rs, W.cs);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, flip(b.trans), n_i, k_i, m_i, 1.0f, dout, lddo_i,
                W.data, b.ld, 1.0f, dinp, detail::blas_ld(lddi, N, K, "matmul: lddi"));
  }
  if (dW.data && K > 0) {
    const int ldi_i = detail::blas_ld(ldi, N, K, "matmul: ldi");
    const BlasOperand g = as_blas(dW.rows, dW.cols, dW.rs, dW.cs);
    if (dW.rows != K || dW.cols != M)
      fail("matmul_backward: dW is [", dW.rows, ", ", dW.cols, "], expected [", K, ", ", M, "]");
    if (g.trans == CblasNoTrans)  // dW += inp^T . dout
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k_i, m_i, n_i, 1.0f, inp, ldi_i, dout,
                  lddo_i, 1.0f, dW.data, g.ld);
    else  // dW^T (row-major [M, K], ld = cs) += dout^T . inp
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m_i, k_i, n_i, 1.0f, dout, lddo_i,
                  inp, ldi_i, 1.0f, dW.data, g.ld);
  }
  if (dbias) {
    // Column-parallel so each thread owns its bias entries: no atomics, and
    // the summation order (over n) is fixed, so results are reproducible.
    const int64_t kBlock = 256;
    const int64_t blocks = (M + kBlock - 1) / kBlock;
#pragma omp parallel for if (N * M >= detail::kParallelMin) schedule(static)
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int64_t j0 = blk * kBlock, j1 = std::min(M, j0 + kBlock);
      float acc[kBlock] = {};
      for (int64_t n = 0; n < N; ++n) {
        const float* d = dout + n * lddo_i + j0;
#pragma omp simd
        for (int64_t j = 0; j < j1 - j0; ++j) acc[j] += d[j];
      }
      for (int64_t j = j0; j < j1; ++j) dbias[j * dbias_stride] += acc[j - j0];
    }
  }
}

}  // namespace glassbox::kernels
