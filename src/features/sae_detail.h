// Internal helpers shared by the SAE ops, trainer and evaluation.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/features/sae.h"

namespace glassbox::features::detail {

// ||W_dec[j, source s]|| into norms[j * n_sources + s].
void decoder_norms(float* norms, const Sae& s);

// Active (non-zero) entries of a dense [rows, cols] matrix.
SparseActs sparse_from_dense(const float* f, int64_t rows, int64_t cols);

// The same entries grouped by latent (CSC): col_ptr [cols + 1], row ids and
// positions into the CSR arrays, so per-latent work (dW_dec rows, dW_enc
// columns) runs in parallel without write conflicts and in a fixed order.
struct ByLatent {
  std::vector<int64_t> col_ptr;
  std::vector<int32_t> row;
  std::vector<int64_t> pos;  // index into the CSR idx / val
};
ByLatent group_by_latent(const SparseActs& f, int64_t cols);

// A dense GEMM beats gathering rows once more than ~1/16 of the entries are active.
inline bool use_dense(const SparseActs& f, int64_t rows, int64_t cols) {
  return f.nnz() * 16 > rows * cols;
}

// out[j] += sum_n m[n, j] (column-parallel: fixed summation order).
void add_column_sums(float* out, const float* m, int64_t rows, int64_t cols);

}  // namespace glassbox::features::detail

namespace glassbox::features::detail {

// Which stream sites a dictionary reads (in: its input sources, in order) and
// predicts (out). Error naming `what` and the site when one is missing or has
// the wrong width.
struct DictionarySites {
  std::vector<int> in, out;
};
DictionarySites resolve_sites(const ActivationStream& stream, const SaeConfig& c, const std::string& what);

// x = concatenation of the batch's `sites` row by row, times `scale`.
void gather_rows(std::vector<float>& x, const ActivationBatch& b, const std::vector<int>& sites,
                 const std::vector<int64_t>& dims, float scale);

}  // namespace glassbox::features::detail
