// Internals shared by the analysis techniques: small dense linear algebra on
// weight views, the final norm + unembedding applied outside the engine, and
// row access into cached activations.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/matref.h"

namespace glassbox::analysis::detail {

// Element (i, j) of a weight view; a quantised view dequantises its block.
float quant_at(const MatRef& m, int64_t i, int64_t j);
inline float at(const MatRef& m, int64_t i, int64_t j) { return m.q ? quant_at(m, i, j) : m.data[i * m.rs + j * m.cs]; }

// The analysis side's only GEMMs, both kernels' checked matmul (sizes and
// strides validated, never a raw cblas call):
// out [N, M] = x [N, K] (row stride ldx) . W [K, M] (W may be strided either way);
void matmul(float* out, const float* x, int64_t ldx, int64_t N, const MatRef& W);
// dW [K, M] += x^T . dy for x [N, K] (row stride ldx), dy [N, M] contiguous;
// dW either layout (a transposed view accumulates dy^T . x into its storage).
void matmul_dW(MutMatRef dW, const float* x, int64_t ldx, const float* dy, int64_t N);

// A norm of the model (ln1 / ln2 / ln_final weights w, b; either may be null)
// applied to x [N, d_model] with the engine's own kernels, so the result is
// bitwise what the engine computes from the same x: LayerNorm
// (x - mean) / sqrt(var + eps) * w + b, RMSNorm x / sqrt(mean(x^2) + eps) * w,
// or the identity. out may alias x.
void apply_norm(float* out, const float* x, int64_t N, const Config& c, const float* w, const float* b);
void apply_final_norm(float* out, const float* x, int64_t N, const Config& c, const Weights& w);
// Its backward: dx [N, d] += d/dx of apply_norm given dout, from the forward's
// saved hook_normalized / hook_scale (both ignored without a norm).
void apply_norm_backward(float* dx, const float* dout, const float* normalized, const float* scale, int64_t N,
                         const Config& c, const float* w);

// logits [N, V] = final_norm(x [N, d_model]) . W_U + b_U: the logit lens.
void lens_logits(float* logits, const float* x, int64_t N, const Config& c, const Weights& w);

// log-softmax of one row, in double (kernels::log_softmax_f64 into a sized vector).
void log_softmax(const float* z, int64_t V, std::vector<double>& out);

// KL(p || q) in nats from two log-distributions, clamped at 0 (rounding).
double kl(const std::vector<double>& log_p, const std::vector<double>& log_q);

// The cached activation as F32 (converted when stored as F16/BF16).
std::vector<float> cached_f32(const ActivationCache& cache, const HookPoint& p);

// Resolves a position (negative: from the end) against T; Error naming `what` when out of range.
int64_t resolve_pos(int64_t pos, int64_t T, const char* what);

// Error unless a clean / corrupted prompt pair has the same shape and padding.
void check_pair(const Batch& clean, const Batch& corrupt, const char* what);
// Error unless every site is patchable (glassbox/sites.h: PatchAxis) and exists in the model.
void check_patch_sites(const Config& c, const std::vector<Site>& sites, const char* what);

// Tokens [B] for a per-row option: one value for every row, or one per row.
std::vector<int32_t> per_row(const std::vector<int32_t>& v, int64_t B, const char* what, int32_t V);

}  // namespace glassbox::analysis::detail
