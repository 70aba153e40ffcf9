// Matrix products with weights kept block-quantised (GGUF files loaded with
// keep_quantized): the weight is dequantised a tile of output rows at a time
// into a thread-local F32 buffer, bit for bit as to_f32 would, and each tile
// goes through the same cblas_sgemm as a dense weight. The tiles are the only
// F32 copies of any weight, so memory stays at the file's size.
// The forward shares out column tiles of ~256 KiB over the OpenMP threads;
// each thread dequantises its tile and multiplies it at once with a
// single-threaded sgemm while the tile is still in its core's L2, so
// dequantisation and GEMM overlap across threads with no barrier between them
// (for prompts this beat one shared 2 MiB panel dequantised by all threads and
// then a threaded sgemm; for decode steps, N = 1, dequantisation is the work
// and it is spread over the threads either way). The backward to the input
// accumulates every tile into the same rows, so it keeps the shared panel.
#include <cblas.h>
#include <omp.h>

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

// Per-thread tiles of the forward: 64 Ki floats (256 KiB) leave room in a 1-2
// MiB L2 for OpenBLAS's packed blocks. Each sgemm call repacks the whole
// input, so smaller tiles cost packing; on llama-small (2 threads, CPU time
// per pass) 64 Ki beat 128 Ki and 256 Ki on Q4_K_M and tied on Q8_0.
constexpr int64_t kThreadTileFloats = int64_t{1} << 16;

// Rows per tile: about kThreadTileFloats each, as many tiles as a multiple of
// the thread count so that no thread is left with one more tile than the
// others (a 768 x 768 matrix in 5 tiles on 2 threads would idle one for a
// fifth of the product), in multiples of 16 rows.
int64_t tile_rows(int64_t K, int64_t M, int threads) {
  int64_t n_tiles = std::max<int64_t>(1, (M * K + kThreadTileFloats - 1) / kThreadTileFloats);
  n_tiles = (n_tiles + threads - 1) / threads * threads;
  const int64_t rows = ((M + n_tiles - 1) / n_tiles + 15) / 16 * 16;
  return std::clamp<int64_t>(rows, 16, M);
}

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

namespace {

// Row j0 + j of the view into dst + j * K; `row` is scratch of q.row_len
// floats, used only when the view takes part of each stored row.
void dequantize_one_row(float* dst, const MatRef& W, int64_t j, float* row) {
  const QuantMat& q = *W.q;
  const int64_t K = W.rows, nblk = q.row_len / dtype_block_size(q.dtype);
  const int64_t logical = W.q_row0 + j;
  const int64_t stored = q.row_map ? q.row_map[logical] : logical;
  const uint8_t* src = q.base + size_t(stored) * q.row_bytes;
  if (W.q_col0 == 0 && K == q.row_len) {
    glassbox::detail::dequantize_blocks(dst, src, q.dtype, nblk);
  } else {
    glassbox::detail::dequantize_blocks(row, src, q.dtype, nblk);
    std::copy_n(row + W.q_col0, K, dst);
  }
}

}  // namespace

void dequantize_weight_rows(float* dst, const MatRef& W, int64_t j0, int64_t n) {
  const QuantMat& q = *W.q;
#pragma omp parallel if (n * q.row_len >= detail::kParallelMin)
  {
    std::vector<float> row(size_t(q.row_len));
#pragma omp for schedule(static)
    for (int64_t j = 0; j < n; ++j) dequantize_one_row(dst + j * W.rows, W, j0 + j, row.data());
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
  const int N_i = detail::blas_int(N, "matmul: N"), K_i = detail::blas_int(K, "matmul: K");
  const float beta = accumulate ? 1.0f : 0.0f;
  // out[:, j0:j0+p] (+)= inp . tile^T   (tile is [p, K] row-major)
  const auto tile_gemm = [&](const float* tile, int64_t j0, int64_t p) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N_i, int(p), K_i, 1.0f, inp, ldi_i, tile, K_i, beta,
                out + j0, ldo_i);
  };
  const int64_t P = tile_rows(K, M, omp_get_max_threads()), n_tiles = (M + P - 1) / P;
  const detail::BlasOnCallerThread single;
#pragma omp parallel if (n_tiles > 1 && N * K * M >= detail::kParallelMin)
  {
    std::vector<float>& tile = tile_buffer(size_t(P * K));
    std::vector<float> row(size_t(W.q->row_len));
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < n_tiles; ++t) {
      const int64_t j0 = t * P, p = std::min(P, M - j0);
      for (int64_t j = 0; j < p; ++j) dequantize_one_row(tile.data() + j * K, W, j0 + j, row.data());
      tile_gemm(tile.data(), j0, p);
    }
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
