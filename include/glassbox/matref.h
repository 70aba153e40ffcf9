// A weight matrix as a strided view (ggml-style): element (i,j) lives at
// data[i*rs + j*cs]; exactly one of rs, cs is 1 so it maps onto BLAS
// (cs == 1: row-major / NoTrans, rs == 1: column-major / Trans). This lets a
// GPT-2 Conv1D [in,out] block, an nn.Linear [out,in] matrix read transposed,
// or one head's columns of a fused QKV matrix all be used without copies.
//
// A matrix of a quantised GGUF file loaded with keep_quantized instead has
// data == nullptr and q set: it stays in the file's blocks and the matmul
// kernels dequantise it tile by tile (kernels/matmul_quant.cpp).
#pragma once
#include <cstddef>
#include <cstdint>

#include "glassbox/dtype.h"

namespace glassbox {

// A block-quantised nn.Linear-style matrix [n_rows, row_len] (rows are output
// features, blocks run along the input): stored row r is row_bytes bytes at
// base + r * row_bytes. row_map (n_rows entries, or null for the identity)
// gives the stored row of logical row r; it un-permutes llama.cpp's Q/K rows
// without copying them.
struct QuantMat {
  const uint8_t* base = nullptr;
  DType dtype = DType::Q8_0;
  int64_t n_rows = 0, row_len = 0;
  size_t row_bytes = 0;
  const int32_t* row_map = nullptr;

  // dst[0, row_len) = logical row r, dequantised (bit for bit as llama.cpp does).
  void dequantize_row(int64_t r, float* dst) const {
    to_f32(dst, base + size_t(row_map ? row_map[r] : r) * row_bytes, dtype, row_len);
  }
};

struct MatRef {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0;  // logical [K, M]: maps a K-vector to an M-vector
  int64_t rs = 0, cs = 1;
  // Quantised storage (data == nullptr): element (i, j) is value q_col0 + i of
  // logical row q_row0 + j of *q, i.e. the view reads q transposed.
  const QuantMat* q = nullptr;
  int64_t q_row0 = 0, q_col0 = 0;

  // Rows [r0, r0 + n) of the view (e.g. one head's block of W_O), either storage.
  MatRef row_block(int64_t r0, int64_t n) const {
    MatRef v = *this;
    v.rows = n;
    if (q) v.q_col0 += r0;
    else v.data = data + r0 * rs;
    return v;
  }
};
struct MutMatRef {  // same, writable (weight gradients)
  float* data = nullptr;
  int64_t rows = 0, cols = 0;
  int64_t rs = 0, cs = 1;
};

}  // namespace glassbox
