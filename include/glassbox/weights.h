// Canonical weights: the engine's view of any checkpoint. Every matrix is a
// strided view into a memory-mapped file (zero-copy for F32) or into a buffer
// converted once at load time (F16/BF16/quantised), or, for a quantised GGUF
// loaded with keep_quantized, a QuantMat view of the file's blocks. Names follow TransformerLens
// (W_Q, W_O, W_in, W_U ...) so analysis code reads like the papers.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "glassbox/config.h"
#include "glassbox/matref.h"

namespace glassbox {

// Per-head projection d_model -> d_head, TransformerLens W_Q[h] ([n_heads, d_model, d_head]).
// Element (h, i, j) is at w[h*head_stride + i*rs + j*cs]; one of rs, cs is 1.
// Bias element (h, j) is at b[h*b_head_stride + j] (b may be null).
struct HeadProj {
  const float* w = nullptr;
  int64_t head_stride = 0, rs = 0, cs = 1;
  const float* b = nullptr;
  int64_t b_head_stride = 0;
  int n_heads = 0, d_model = 0, d_head = 0;
  // Kept quantised (w == nullptr): head h is logical rows [q_row0 + h*head_stride/cs, + d_head)
  // of *q, with rs == 1 and cs == d_model as for a float nn.Linear matrix.
  const QuantMat* q = nullptr;
  int64_t q_row0 = 0;

  MatRef head(int h) const {
    if (q) return {nullptr, d_model, d_head, rs, cs, q, q_row0 + h * head_stride / cs, 0};
    return {w + h * head_stride, d_model, d_head, rs, cs};
  }
  // True when all heads form one [d_model, n_heads*d_head] matrix (one GEMM).
  bool fused() const {
    return (cs == 1 && head_stride == int64_t(d_head)) || (rs == 1 && head_stride == d_head * cs);
  }
  MatRef all() const { return {w, d_model, int64_t(n_heads) * d_head, rs, cs, q, q_row0, 0}; }
  bool bias_fused() const { return b == nullptr || b_head_stride == d_head; }
};

struct LayerWeights {
  const float *ln1_w = nullptr, *ln1_b = nullptr;
  const float *ln2_w = nullptr, *ln2_b = nullptr;
  const float *ln1_post_w = nullptr, *ln2_post_w = nullptr;  // post-norms (Config::post_norms)
  HeadProj W_Q, W_K, W_V;
  MatRef W_O;                  // [n_heads*d_head, d_model]
  const float* b_O = nullptr;
  MatRef W_in, W_gate, W_out;  // [d_model, d_mlp], [d_model, d_mlp], [d_mlp, d_model]
  const float *b_in = nullptr, *b_gate = nullptr, *b_out = nullptr;
};

struct Weights {
  const float* W_E = nullptr;    // [d_vocab, d_model] row-major (null when W_E_q is set)
  const QuantMat* W_E_q = nullptr;  // the embedding kept quantised (keep_quantized loads)
  const float* W_pos = nullptr;  // [n_ctx, d_model] (learned positions only)
  std::vector<LayerWeights> layers;
  const float *ln_final_w = nullptr, *ln_final_b = nullptr;
  MatRef W_U;                    // [d_model, d_vocab]
  const float* b_U = nullptr;
};

}  // namespace glassbox
