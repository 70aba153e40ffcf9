// Op pairs of the engine, llm.c style: outputs first, then inputs, then sizes.
// Plain float buffers, row-major, contiguous unless a leading dimension (ld*)
// or a MatRef says otherwise. Every forward has a backward that ACCUMULATES
// (+=) into its gradient outputs, so gradients from several uses of a tensor
// (residual stream, tied embeddings) sum without extra buffers; callers zero
// gradient buffers once per step. Every pair is tested against an independent
// reference and a finite-difference gradcheck (tests/kernels).
#pragma once
#include <cstdint>

#include "glassbox/config.h"
#include "glassbox/matref.h"

namespace glassbox::kernels {

// ---------------------------------------------------------------- matmul
// MatRef / MutMatRef: strided weight views, see glassbox/matref.h.
using glassbox::MatRef;
using glassbox::MutMatRef;

// out[n, :M] (= or +=) inp[n, :K] . W[K, M] + bias[M]  for n < N.
// ldo / ldi are row strides of out / inp (unused, so free, when N == 1). bias may
// be null; bias element j is at bias[j * bias_stride]. A MatRef whose strides
// BLAS cannot express (neither rs nor cs 1, or overlapping rows) throws Error.
void matmul_forward(float* out, int64_t ldo, const float* inp, int64_t ldi,
                    MatRef W, const float* bias, int64_t bias_stride, int64_t N,
                    bool accumulate = false);
// dinp[N,K] += dout . W^T;  dW[K,M] += inp^T . dout;  dbias[M] += sum_n dout.
// Any of dinp / dW.data / dbias may be null (not needed). dW has its own
// strides (either layout), independent of W's.
void matmul_backward(float* dinp, int64_t lddi, MutMatRef dW, float* dbias, int64_t dbias_stride,
                     const float* dout, int64_t lddo, const float* inp, int64_t ldi, MatRef W,
                     int64_t N);

// Weights kept block-quantised (W.q set, W.data null; matmul_quant.cpp):
// matmul_forward and matmul_backward dispatch to these. The weight is
// dequantised in panels of output rows exactly as to_f32 dequantises it, so
// results equal those of the same weight dequantised to F32 up to the GEMM's
// summation order. Weight gradients of a quantised weight are an Error.
void matmul_quant_forward(float* out, int64_t ldo, const float* inp, int64_t ldi, const MatRef& W, int64_t N,
                          bool accumulate);
void matmul_quant_backward_input(float* dinp, int64_t lddi, const float* dout, int64_t lddo, const MatRef& W,
                                 int64_t N);
// dst[j, :K] = column j0 + j of the quantised view W (its logical row of the
// stored matrix), for j < n; dst is [n, W.rows] row-major.
void dequantize_weight_rows(float* dst, const MatRef& W, int64_t j0, int64_t n);
// out[t, :] (= or +=) row ids[t] of a quantised [V, C] table.
void embedding_forward_quant(float* out, const int32_t* ids, const QuantMat& W, int64_t T, int64_t C,
                             bool accumulate = false);

// ---------------------------------------------------------------- norms
// TransformerLens semantics: scale = sqrt(mean((x-mu)^2) + eps) (LayerNorm) or
// sqrt(mean(x^2) + eps) (RMSNorm), normalized = (x - mu) / scale (mu = 0 for
// RMS). Both are hook sites and are exactly what backward needs.
void norm_forward(float* normalized, float* scale, const float* x, int64_t N, int64_t C,
                  float eps, bool center);
// Recomputes normalized from x and a (possibly user-replaced) scale.
void norm_apply(float* normalized, const float* x, const float* scale, int64_t N, int64_t C,
                bool center);
// dx += (d normalized / d x)^T dnormalized, treating scale as a function of x.
void norm_backward(float* dx, const float* dnormalized, const float* normalized,
                   const float* scale, int64_t N, int64_t C, bool center);
// out = normalized * w + b (w, b may be null: identity / zero).
void affine_forward(float* out, const float* normalized, const float* w, const float* b,
                    int64_t N, int64_t C);
void affine_backward(float* dnormalized, float* dw, float* db, const float* dout,
                     const float* normalized, const float* w, int64_t N, int64_t C);

// ---------------------------------------------------------------- activations
using Act = glassbox::ActKind;  // GeluNew, GeluExact, Silu, Relu
// post = act(pre)                      (gate == null)
// post = act(pre) * gate               (gated MLP: pre = gate_proj x, gate = up_proj x)
void act_forward(float* post, const float* pre, const float* gate, int64_t n, Act act);
// dpre / dgate may be null (not needed).
void act_backward(float* dpre, float* dgate, const float* dpost, const float* pre,
                  const float* gate, int64_t n, Act act);

// ---------------------------------------------------------------- embeddings
// out[t,:] = W[ids[t], :] (W row-major [V, C]); accumulate adds instead.
void embedding_forward(float* out, const int32_t* ids, const float* W, int64_t T, int64_t C,
                       bool accumulate = false);
void embedding_backward(float* dW, const float* dout, const int32_t* ids, int64_t T, int64_t C);

// ---------------------------------------------------------------- rotary
// Rotary embedding, rotate_half ("NeoX") layout as Hugging Face applies it:
// within each head, dims [0, rot_dim) are rotated, pair (i, i + rot_dim/2)
// at angle pos * theta^(-2i/rot_dim); dims >= rot_dim pass through.
// x: [T, H, dh] with row stride ld (>= H*dh), shared by out / dx and dout;
// out may alias x. rot_dim must be even (else Error). Angles are rounded to
// float as HF's float32 code rounds them, so long positions match HF.
// freq_factors (rot_dim / 2 entries, or null): pair i's frequency is divided
// by freq_factors[i] (llama.cpp's rope_freqs, Llama-3.1's rope scaling).
void rope_forward(float* out, const float* x, int64_t ld, const int32_t* pos, int64_t T,
                  int64_t H, int64_t dh, int64_t rot_dim, float theta, const float* freq_factors = nullptr);
void rope_backward(float* dx, const float* dout, int64_t ld, const int32_t* pos, int64_t T,
                   int64_t H, int64_t dh, int64_t rot_dim, float theta, const float* freq_factors = nullptr);

// ---------------------------------------------------------------- attention
// One sequence. q: [Tq, Hq, dh] (row stride ldq), k, v: [Tk, Hkv, dh] (ldk, ldv).
// Query i sits at absolute position q_offset + i (q_offset = Tk - Tq with a KV
// cache). Head h reads kv head h / (Hq / Hkv) (GQA).
// scores: [Hq, Tq, Tk] = q.k * scale; causal (key j > q_offset + i) and
// key_valid[j] == 0 entries are -inf, as TransformerLens shows them.
// ScoreMods (Gemma-2; all off by default): the scaled scores soft-capped,
// softcap * tanh(s / softcap), before the mask; and a sliding window, query i
// also not seeing keys j <= q_offset + i - window.
struct ScoreMods {
  float softcap = 0.f;  // 0: none
  int64_t window = 0;   // 0: none
};
void attn_scores_forward(float* scores, const float* q, int64_t ldq, const float* k, int64_t ldk,
                         const uint8_t* key_valid, int64_t Tq, int64_t Tk, int64_t q_offset,
                         int64_t Hq, int64_t Hkv, int64_t dh, float scale,
                         ScoreMods mods = {});
// Row-wise softmax over the last axis; a row that is all -inf becomes all 0.
// out may alias in.
void softmax_forward(float* out, const float* in, int64_t rows, int64_t cols);
void softmax_backward(float* din, const float* dout, const float* out, int64_t rows, int64_t cols);
// out[j] = z[j] - log(sum_k exp(z[k])) for one row of V logits, in double:
// the metrics, lenses and KLs compare such rows across runs, where float
// rounding of the log-sum-exp would show as spurious differences.
void log_softmax_f64(double* out, const float* z, int64_t V);
// log(sum_k exp(z[k])) of one row of V > 0 logits, in double (max-shifted):
// what log_softmax_f64 subtracts, for callers that need one entry or a few.
double logsumexp_f64(const float* z, int64_t V);
// z[i, h, :] = sum_j pattern[h, i, j] v[j, h_kv, :]. z row stride ldz.
void attn_z_forward(float* z, int64_t ldz, const float* pattern, const float* v, int64_t ldv,
                    int64_t Tq, int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh);
// The same attention in tiles (attention_fused.cpp), for prompts (Tq > 1):
// attn_fused_forward computes z in one pass, without the scores or pattern in
// memory and without computing scores the causal mask hides; the three steps
// attn_tiled_scores -> attn_tiled_softmax -> attn_tiled_z compute the same
// scores / pattern / z as the three kernels above (same arguments and
// layouts), and the same z as attn_fused_forward BIT FOR BIT, so a pass that
// hooks or keeps scores / pattern computes exactly what a plain pass does.
// Only keys the causal mask shows are read by the fused kernel and scored by
// attn_tiled_scores. No backward: passes that need one keep the pattern.
void attn_fused_forward(float* z, int64_t ldz, const float* q, int64_t ldq, const float* k, int64_t ldk,
                        const float* v, int64_t ldv, const uint8_t* key_valid, int64_t Tq, int64_t Tk,
                        int64_t q_offset, int64_t Hq, int64_t Hkv, int64_t dh, float scale, ScoreMods mods = {});
void attn_tiled_scores(float* scores, const float* q, int64_t ldq, const float* k, int64_t ldk,
                       const uint8_t* key_valid, int64_t Tq, int64_t Tk, int64_t q_offset, int64_t Hq, int64_t Hkv,
                       int64_t dh, float scale, ScoreMods mods = {});
void attn_tiled_softmax(float* pattern, const float* scores, int64_t rows, int64_t cols);  // pattern may alias scores
void attn_tiled_z(float* z, int64_t ldz, const float* pattern, const float* v, int64_t ldv, int64_t Tq, int64_t Tk,
                  int64_t Hq, int64_t Hkv, int64_t dh);
// Backward of the two products: dq, dk (via dscores) and dpattern, dv. Any
// gradient output may be null. Heads sharing a kv head (GQA) sum into dk / dv.
// dscores must be 0 at masked entries (softmax_backward guarantees it: the
// pattern is 0 there); attn_scores_backward does not re-apply the mask.
void attn_z_backward(float* dpattern, float* dv, int64_t lddv, const float* dz, int64_t lddz,
                     const float* pattern, const float* v, int64_t ldv, int64_t Tq, int64_t Tk,
                     int64_t Hq, int64_t Hkv, int64_t dh);
void attn_scores_backward(float* dq, int64_t lddq, float* dk, int64_t lddk, const float* dscores,
                          const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t Tq,
                          int64_t Tk, int64_t Hq, int64_t Hkv, int64_t dh, float scale);

// Soft-capping (Gemma-2's attention scores and final logits): x -> c * tanh(x / c)
// in place, c > 0. Scores are capped before the mask: -inf would become -c.
void softcap_forward(float* x, int64_t n, float c);
// dx *= d(capped)/d(x) = 1 - (y / c)^2, given the capped values y; entries
// where y is -inf (masked) get 0.
void softcap_backward(float* dx, const float* y, int64_t n, float c);

// ---------------------------------------------------------------- loss
// losses[t] = -log softmax(logits[t])[targets[t]]; targets < 0 are ignored (loss 0).
// Returns the mean over non-ignored rows (0 if there are none). losses may be
// null. A target >= V throws Error.
double cross_entropy_forward(float* losses, const float* logits, const int32_t* targets,
                             int64_t N, int64_t V);
// dlogits[t] += (softmax(logits[t]) - onehot(target)) * dloss[t]; ignored rows
// get nothing. dloss may be null: 1 for every row (the gradient of the SUM of
// losses; pass 1/count per row for the mean).
void cross_entropy_backward(float* dlogits, const float* logits, const int32_t* targets,
                            const float* dloss, int64_t N, int64_t V);

// ---------------------------------------------------------------- misc
void add_forward(float* out, const float* a, const float* b, int64_t n);  // out may alias a or b

}  // namespace glassbox::kernels
