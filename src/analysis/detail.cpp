#include "analysis/detail.h"

#include <cmath>

#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox::analysis::detail {

void matmul(float* out, const float* x, int64_t ldx, int64_t N, const MatRef& W) {
  kernels::matmul_forward(out, W.cols, x, ldx, W, nullptr, 1, N);
}

void matmul_dW(MutMatRef dW, const float* x, int64_t ldx, const float* dy, int64_t N) {
  // matmul_backward reads only W's sizes when dinp is null.
  const MatRef sizes{nullptr, dW.rows, dW.cols, dW.cols, 1};
  kernels::matmul_backward(nullptr, 0, dW, nullptr, 0, dy, dW.cols, x, ldx, sizes, N);
}

void apply_norm(float* out, const float* x, int64_t N, const Config& c, const float* w, const float* b) {
  const int64_t d = c.d_model;
  if (c.norm == NormKind::None) {
    if (out != x) std::copy(x, x + N * d, out);
    return;
  }
  std::vector<float> scale(static_cast<size_t>(N));
  kernels::norm_forward(out, scale.data(), x, N, d, c.norm_eps, c.norm == NormKind::LayerNorm);
  kernels::affine_forward(out, out, w, b, N, d);
}

void apply_final_norm(float* out, const float* x, int64_t N, const Config& c, const Weights& w) {
  apply_norm(out, x, N, c, w.ln_final_w, w.ln_final_b);
}

void apply_norm_backward(float* dx, const float* dout, const float* normalized, const float* scale, int64_t N,
                         const Config& c, const float* w) {
  const int64_t d = c.d_model;
  if (c.norm == NormKind::None) {
    kernels::add_forward(dx, dx, dout, N * d);
    return;
  }
  std::vector<float> dnorm(static_cast<size_t>(N * d), 0.f);
  kernels::affine_backward(dnorm.data(), nullptr, nullptr, dout, normalized, w, N, d);
  kernels::norm_backward(dx, dnorm.data(), normalized, scale, N, d, c.norm == NormKind::LayerNorm);
}

void lens_logits(float* logits, const float* x, int64_t N, const Config& c, const Weights& w) {
  std::vector<float> normed(static_cast<size_t>(N * c.d_model));
  apply_final_norm(normed.data(), x, N, c, w);
  matmul(logits, normed.data(), c.d_model, N, w.W_U);
  if (w.b_U)
    for (int64_t n = 0; n < N; ++n)
      for (int64_t v = 0; v < c.d_vocab; ++v) logits[n * c.d_vocab + v] += w.b_U[v];
  if (c.final_softcap > 0) kernels::softcap_forward(logits, N * c.d_vocab, c.final_softcap);  // as the model's own
}

void log_softmax(const float* z, int64_t V, std::vector<double>& out) {
  out.resize(static_cast<size_t>(V));
  kernels::log_softmax_f64(out.data(), z, V);
}

double kl(const std::vector<double>& log_p, const std::vector<double>& log_q) {
  double s = 0;
  for (size_t j = 0; j < log_p.size(); ++j) s += std::exp(log_p[j]) * (log_p[j] - log_q[j]);
  return std::max(s, 0.0);
}

std::vector<float> cached_f32(const ActivationCache& cache, const HookPoint& p) {
  return cache[p.name()].to_f32_vector();
}

int64_t resolve_pos(int64_t pos, int64_t T, const char* what) {
  const int64_t q = pos < 0 ? T + pos : pos;
  if (q < 0 || q >= T) fail(what, ": position ", pos, " is out of range for ", T, " tokens");
  return q;
}

void check_pair(const Batch& clean, const Batch& corrupt, const char* what) {
  if (clean.B != corrupt.B || clean.T != corrupt.T)
    fail(what, ": clean batch is ", clean.B, "x", clean.T, " but corrupted batch is ", corrupt.B, "x", corrupt.T,
         " (they must have the same shape)");
  if (clean.mask != corrupt.mask) fail(what, ": clean and corrupted batches are padded differently");
}

void check_patch_sites(const Config& c, const std::vector<Site>& sites, const char* what) {
  for (Site s : sites) {
    if (site_info(s).patch == PatchAxis::None)
      fail(what, ": site '", site_suffix(s), "' cannot be patched (by position: hook_resid_pre, hook_resid_mid, ",
           "hook_resid_post, hook_attn_out, hook_mlp_out; by head: attn.hook_q/k/v/z/result/pattern)");
    if (!site_exists(s, c)) fail(what, ": this model has no '", site_suffix(s), "' site");
  }
}

std::vector<int32_t> per_row(const std::vector<int32_t>& v, int64_t B, const char* what, int32_t V) {
  if (v.size() != 1 && int64_t(v.size()) != B)
    fail(what, ": expected one token for every row or one per row (", B, " rows), got ", v.size());
  std::vector<int32_t> out(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    out[size_t(b)] = v.size() == 1 ? v[0] : v[size_t(b)];
    if (out[size_t(b)] < 0 || out[size_t(b)] >= V)
      fail(what, ": token id ", out[size_t(b)], " is out of range [0, ", V, ")");
  }
  return out;
}

float quant_at(const MatRef& m, int64_t i, int64_t j) {
  float block[256];  // the largest ggml block
  const QuantMat& q = *m.q;
  const int64_t bs = dtype_block_size(q.dtype), col = m.q_col0 + i, row = m.q_row0 + j;
  const int64_t stored = q.row_map ? q.row_map[row] : row;
  const uint8_t* src = q.base + size_t(stored) * q.row_bytes + dtype_nbytes(q.dtype, (col / bs) * bs);
  to_f32(block, src, q.dtype, bs);
  return block[col % bs];
}

}  // namespace glassbox::analysis::detail
