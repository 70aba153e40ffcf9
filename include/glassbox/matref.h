// A weight matrix as a strided view (ggml-style): element (i,j) lives at
// data[i*rs + j*cs]; exactly one of rs, cs is 1 so it maps onto BLAS
// (cs == 1: row-major / NoTrans, rs == 1: column-major / Trans). This lets a
// GPT-2 Conv1D [in,out] block, an nn.Linear [out,in] matrix read transposed,
// or one head's columns of a fused QKV matrix all be used without copies.
#pragma once
#include <cstdint>

namespace glassbox {

struct MatRef {
  const float* data = nullptr;
  int64_t rows = 0, cols = 0;  // logical [K, M]: maps a K-vector to an M-vector
  int64_t rs = 0, cs = 1;
};
struct MutMatRef {  // same, writable (weight gradients)
  float* data = nullptr;
  int64_t rows = 0, cols = 0;
  int64_t rs = 0, cs = 1;
};

}  // namespace glassbox
