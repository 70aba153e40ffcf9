// Matrix products with weights kept block-quantised (GGUF files loaded with
// keep_quantized): the weight is dequantised a panel of output rows at a time
// into a thread-local F32 tile, bit for bit as to_f32 would, and each tile goes
// through the same cblas_sgemm as a dense weight. The tile is the only F32
// copy of any weight, so memory stays at the file's size; the GEMM's
// O(N*K*P) work hides the tile's O(K*P) dequantisation for prompts, and the
// dequantisation runs over the OpenMP threads for decode steps (N = 1).
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "core/quant_blocks.h"
#include "kernels/detail.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {

// About 2 MiB of F32 per tile: large enough that sgemm runs at full speed,
// small enough to stay in the last-level cache next to the activations.
constexpr int64_t kTileFloats = int64_t{1} << 19;

int64_t panel_rows(int64_t K, int64_t M) { return std::clamp<int64_t>(kTileFloats / std::max<int64_t>(K, 1), 16, M); }

void check_view(const MatRef& W, const char* fn) {
  const QuantMat& q = *W.q;
  if (!dtype_is_quantized(q.dtype)) fail(fn, ": quantised weight has non-block dtype ", dtype_name(q.dtype));
  if (W.q_row0 < 0 || W.cols < 0 || W.q_row0 + W.cols > q.n_rows || W.q_col0 < 0 || W.rows < 0 ||
      W.q_col0 + W.rows > q.row_len)
    fail(fn, ": view [", W.rows, ", ", W.cols, "] at (row ", W.q_row0, ", col ", W.q_col0,
         ") lies outside the quantised matrix [", q.n_rows, ", ", q.row_len, "]");
}

std::vector<float>& tile_buffer(size_t n) {
  thread_local std::vector<float> tile;
  if (tile.size() < n) tile.resize(n);
  return tile;
}

}  // namespace

void dequantize_weight_rows(float* dst, const MatRef& W, int64_t j0, int64_t n) {
  const QuantMat& q = *W.q;
  const int64_t K = W.rows, nblk = q.row_len / dtype_block_size(q.dtype);
  const bool whole = W.q_col0 == 0 && K == q.row_len;
#pragma omp parallel if (n * q.row_len >= detail::kParallelMin)
  {
    std::vector<float> row(whole ? 0 : size_t(q.row_len));
#pragma omp for schedule(static)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t logical = W.q_row0 + j0 + j;
      const int64_t stored = q.row_map ? q.row_map[logical] : logical;
      const uint8_t* src = q.base + size_t(stored) * q.row_bytes;
      if (whole) {
        glassbox::detail::dequantize_blocks(dst + j * K, src, q.dtype, nblk);
      } else {
        glassbox::detail::dequantize_blocks(row.data(), src, q.dtype, nblk);
        std::copy_n(row.data() + W.q_col0, K, dst + j * K);
      }
    }
  }
}

void matmul_quant_forward(float* out, int64_t ldo, const float* inp, int64_t ldi, const MatRef& W, int64_t N,
                          bool accumulate) {
  check_view(W, "matmul_forward");
  const int64_t K = W.rows, M = W.cols;
  if (N <= 0 || M <= 0) return;
  const int ldo_i = detail::blas_ld(ldo, N, M, "matmul: ldo");
  if (K == 0) {
    if (!accumulate)
      for (int64_t n = 0; n < N; ++n) std::fill_n(out + n * ldo_i, M, 0.0f);
    return;
  }
  const int ldi_i = detail::blas_ld(ldi, N, K, "matmul: ldi");
  const int64_t P = panel_rows(K, M);
  std::vector<float>& tile = tile_buffer(size_t(P * K));
  for (int64_t j0 = 0; j0 < M; j0 += P) {
    const int64_t p = std::min(P, M - j0);
    dequantize_weight_rows(tile.data(), W, j0, p);
    // out[:, j0:j0+p] (+)= inp . tile^T   (tile is [p, K] row-major)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, detail::blas_int(N, "matmul: N"), int(p),
                detail::blas_int(K, "matmul: K"), 1.0f, inp, ldi_i, tile.data(), int(K), accumulate ? 1.0f : 0.0f,
                out + j0, ldo_i);
  }
}

void matmul_quant_backward_input(float* dinp, int64_t lddi, const float* dout, int64_t lddo, const MatRef& W,
                                 int64_t N) {
  check_view(W, "matmul_backward");
  const int64_t K = W.rows, M = W.cols;
  if (N <= 0 || M <= 0 || K <= 0) return;
  const int lddo_i = detail::blas_ld(lddo, N, M, "matmul: lddo");
  const int lddi_i = detail::blas_ld(lddi, N, K, "matmul: lddi");
  const int64_t P = panel_rows(K, M);
  std::vector<float>& tile = tile_buffer(size_t(P * K));
  for (int64_t j0 = 0; j0 < M; j0 += P) {
    const int64_t p = std::min(P, M - j0);
    dequantize_weight_rows(tile.data(), W, j0, p);
    // dinp += dout[:, j0:j0+p] . tile
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, detail::blas_int(N, "matmul: N"), int(K), int(p), 1.0f,
                dout + j0, lddo_i, tile.data(), int(K), 1.0f, dinp, lddi_i);
  }
}

void embedding_forward_quant(float* out, const int32_t* ids, const QuantMat& W, int64_t T, int64_t C,
                             bool accumulate) {
  if (W.row_len != C) fail("embedding_forward: quantised table rows hold ", W.row_len, " values, expected ", C);
  const MatRef view{nullptr, C, W.n_rows, 1, C, &W, 0, 0};
  std::vector<float> row(static_cast<size_t>(C));
  for (int64_t t = 0; t < T; ++t) {
    if (ids[t] < 0 || ids[t] >= W.n_rows)
      fail("embedding_forward: token id ", ids[t], " at position ", t, " is outside the vocabulary of ", W.n_rows);
    float* o = out + t * C;
    dequantize_weight_rows(accumulate ? row.data() : o, view, ids[t], 1);
    if (accumulate)
      for (int64_t c = 0; c < C; ++c) o[c] += row[size_t(c)];
  }
}

}  // namespace glassbox::kernels
