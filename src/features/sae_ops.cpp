// The SAE's op pairs (llm.c style): encode, activate, decode, each forward
// with its backward. Decode and backward work on the active latents only, so
// a TopK SAE touches k rows of W_dec per token; once a ReLU / JumpReLU SAE is
// dense (early training), the same ops switch to OpenBLAS GEMMs.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

#include "features/sae_detail.h"
#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox::features {

namespace detail {

void decoder_norms(float* norms, const Sae& s) {
  const int64_t S = s.cfg.d_sae, K = s.cfg.n_sources, o = s.cfg.out_dim(), out = s.cfg.out_width();
#pragma omp parallel for schedule(static) if (S * out >= (1 << 15))
  for (int64_t j = 0; j < S; ++j)
    for (int64_t k = 0; k < K; ++k) {
      const float* w = s.W_dec.data() + j * out + k * o;
      double ss = 0;
      for (int64_t i = 0; i < o; ++i) ss += double(w[i]) * w[i];
      norms[j * K + k] = float(std::sqrt(ss));
    }
}

SparseActs sparse_from_dense(const float* f, int64_t rows, int64_t cols) {
  SparseActs a;
  a.row_ptr.assign(size_t(rows + 1), 0);
  for (int64_t n = 0; n < rows; ++n) {
    for (int64_t j = 0; j < cols; ++j)
      if (f[n * cols + j] != 0.f) {
        a.idx.push_back(int32_t(j));
        a.val.push_back(f[n * cols + j]);
      }
    a.row_ptr[n + 1] = a.nnz();
  }
  return a;
}

ByLatent group_by_latent(const SparseActs& f, int64_t cols) {
  ByLatent b;
  b.col_ptr.assign(size_t(cols + 1), 0);
  for (int32_t j : f.idx) ++b.col_ptr[size_t(j) + 1];
  for (int64_t j = 0; j < cols; ++j) b.col_ptr[j + 1] += b.col_ptr[j];
  b.row.resize(f.idx.size());
  b.pos.resize(f.idx.size());
  std::vector<int64_t> fill(b.col_ptr.begin(), b.col_ptr.end() - 1);
  const int64_t rows = int64_t(f.row_ptr.size()) - 1;
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t e = f.row_ptr[n]; e < f.row_ptr[n + 1]; ++e) {
      const int64_t p = fill[size_t(f.idx[e])]++;
      b.row[p] = int32_t(n);
      b.pos[p] = e;
    }
  return b;
}

void add_column_sums(float* out, const float* m, int64_t rows, int64_t cols) {
  constexpr int64_t kBlock = 256;
  const int64_t blocks = (cols + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 15))
  for (int64_t b = 0; b < blocks; ++b) {
    const int64_t j0 = b * kBlock, j1 = std::min(cols, j0 + kBlock);
    float acc[kBlock] = {};
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t j = j0; j < j1; ++j) acc[j - j0] += m[n * cols + j];
    for (int64_t j = j0; j < j1; ++j) out[j] += acc[j - j0];
  }
}

}  // namespace detail

namespace {

std::vector<float> dense_from_sparse(const SparseActs& f, const float* val, int64_t rows, int64_t cols) {
  std::vector<float> d(static_cast<size_t>(rows * cols), 0.f);
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t e = f.row_ptr[n]; e < f.row_ptr[n + 1]; ++e) d[size_t(n * cols + f.idx[e])] = val[e];
  return d;
}

// Per row, the k largest entries of pre among those `allowed` (all when null),
// kept where > 0 (SAELens' TopK applies ReLU after the top-k), ascending ids.
void topk_rows(SparseActs& f, const float* pre, int64_t rows, int64_t S, int64_t k,
               const uint8_t* allowed) {
  std::vector<int32_t> idx(static_cast<size_t>(rows * k));
  std::vector<float> val(static_cast<size_t>(rows * k));
  std::vector<int64_t> cnt(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * S >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    const float* p = pre + n * S;
    int32_t* bi = idx.data() + n * k;
    float* bv = val.data() + n * k;
    int64_t m = 0, argmin = 0;
    for (int64_t j = 0; j < S; ++j) {
      if (p[j] <= 0.f || (allowed && !allowed[j])) continue;
      if (m < k) {
        bi[m] = int32_t(j), bv[m] = p[j];
        if (++m == k)
          argmin = std::min_element(bv, bv + k) - bv;
      } else if (p[j] > bv[argmin]) {
        bi[argmin] = int32_t(j), bv[argmin] = p[j];
        argmin = std::min_element(bv, bv + k) - bv;
      }
    }
    // Ascending latent ids: a fixed summation order in decode.
    std::vector<std::pair<int32_t, float>> sel(static_cast<size_t>(m));
    for (int64_t e = 0; e < m; ++e) sel[size_t(e)] = {bi[e], bv[e]};
    std::sort(sel.begin(), sel.end());
    for (int64_t e = 0; e < m; ++e) bi[e] = sel[size_t(e)].first, bv[e] = sel[size_t(e)].second;
    cnt[size_t(n)] = m;
  }
  f.row_ptr.assign(size_t(rows + 1), 0);
  for (int64_t n = 0; n < rows; ++n) f.row_ptr[n + 1] = f.row_ptr[n] + cnt[size_t(n)];
  f.idx.resize(size_t(f.row_ptr[rows]));
  f.val.resize(f.idx.size());
  for (int64_t n = 0; n < rows; ++n) {
    std::copy_n(idx.data() + n * k, cnt[size_t(n)], f.idx.data() + f.row_ptr[n]);
    std::copy_n(val.data() + n * k, cnt[size_t(n)], f.val.data() + f.row_ptr[n]);
  }
}

// Entries where keep(n, j, v) holds, row by row.
template <class Keep>
void select_rows(SparseActs& f, const float* pre, int64_t rows, int64_t S, Keep keep) {
  std::vector<int64_t> cnt(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * S >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    int64_t c = 0;
    for (int64_t j = 0; j < S; ++j) c += keep(n, j, pre[n * S + j]);
    cnt[size_t(n)] = c;
  }
  f.row_ptr.assign(size_t(rows + 1), 0);
  for (int64_t n = 0; n < rows; ++n) f.row_ptr[n + 1] = f.row_ptr[n] + cnt[size_t(n)];
  f.idx.resize(size_t(f.row_ptr[rows]));
  f.val.resize(f.idx.size());
#pragma omp parallel for schedule(static) if (rows * S >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    int64_t e = f.row_ptr[n];
    for (int64_t j = 0; j < S; ++j) {
      const float v = pre[n * S + j];
      if (keep(n, j, v)) f.idx[e] = int32_t(j), f.val[e++] = v;
    }
  }
}

uint32_t bits(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

// BatchTopK (Bussmann et al. 2024): the k*rows largest positive entries of
// the whole batch. A radix select on the top 16 bits of the float pattern
// (monotone for positive floats) finds the cut without sorting rows*S values;
// ties at the cut go to the earliest rows, so the selection is exact.
float batch_topk(SparseActs& f, const float* pre, int64_t rows, int64_t S, int64_t k) {
  const int64_t want = k * rows, total = rows * S;
  // Reused between calls: zeroing fresh pages cost more than the selection.
  static thread_local std::vector<int64_t> hist;
  hist.assign(65536, 0);
  int64_t* const H = hist.data();  // the calling thread's: thread_local names differ per thread
#pragma omp parallel if (total >= (1 << 15))
  {
    static thread_local std::vector<int64_t> h;
    h.assign(65536, 0);
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < total; ++i)
      if (pre[i] > 0.f) ++h[bits(pre[i]) >> 16];
#pragma omp critical
    for (size_t b = 0; b < h.size(); ++b) H[b] += h[b];
  }
  int64_t above = 0, bin = 65536;
  while (bin > 0 && above + hist[size_t(bin - 1)] < want) above += hist[size_t(--bin)];
  if (bin == 0) {  // fewer positive entries than k*rows: all of them
    select_rows(f, pre, rows, S, [](int64_t, int64_t, float v) { return v > 0.f; });
  } else {
    const uint32_t cut_bin = uint32_t(bin - 1);
    std::vector<float> cand;
    for (int64_t i = 0; i < total; ++i)
      if (pre[i] > 0.f && (bits(pre[i]) >> 16) == cut_bin) cand.push_back(pre[i]);
    const int64_t need = want - above;  // from the cut bin, 1 <= need <= cand.size()
    std::nth_element(cand.begin(), cand.begin() + (need - 1), cand.end(), std::greater<float>());
    const float t = cand[size_t(need - 1)];
    int64_t greater = 0;
    for (float v : cand) greater += v > t;
    // Row by row allowance of entries equal to t.
    std::vector<int64_t> eq_allow(static_cast<size_t>(rows), 0);
    int64_t eq_left = need - greater;
    for (int64_t n = 0; n < rows && eq_left > 0; ++n) {
      int64_t c = 0;
      for (int64_t j = 0; j < S; ++j) c += pre[n * S + j] == t;
      eq_allow[size_t(n)] = std::min(c, eq_left);
      eq_left -= eq_allow[size_t(n)];
    }
    std::vector<int64_t> eq_seen(static_cast<size_t>(rows), 0);
    select_rows(f, pre, rows, S, [&](int64_t n, int64_t j, float v) {
      if (j == 0) eq_seen[size_t(n)] = 0;  // select_rows scans every row twice
      if (v > t) return true;
      return v == t && eq_seen[size_t(n)]++ < eq_allow[size_t(n)];
    });
  }
  float mn = 0;
  if (f.nnz() > 0) mn = *std::min_element(f.val.begin(), f.val.end());
  return mn;
}

}  // namespace

void sae_encode_forward(float* sae_in, float* pre, const Sae& s, const float* x, int64_t rows) {
  const int64_t in = s.cfg.in_width(), S = s.cfg.d_sae;
  const bool center = s.cfg.b_dec_on_input();
#pragma omp parallel for schedule(static) if (rows * in >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t i = 0; i < in; ++i) sae_in[n * in + i] = x[n * in + i] - (center ? s.b_dec[size_t(i)] : 0.f);
  kernels::matmul_forward(pre, S, sae_in, in, MatRef{s.W_enc.data(), in, S, S, 1}, s.b_enc.data(), 1, rows);
}

void sae_encode_backward(SaeGrads& g, const float* dpre_dense, const SparseActs* dpre_sparse,
                         const float* sae_in, const Sae& s, int64_t rows) {
  const int64_t in = s.cfg.in_width(), S = s.cfg.d_sae;
  std::vector<float> col(static_cast<size_t>(S), 0.f);  // sum_n dpre[n, :]
  std::vector<float> densebuf;
  if (!dpre_dense && detail::use_dense(*dpre_sparse, rows, S)) {
    densebuf = dense_from_sparse(*dpre_sparse, dpre_sparse->val.data(), rows, S);
    dpre_dense = densebuf.data();
  }
  if (dpre_dense) {
    kernels::matmul_backward(nullptr, 0, MutMatRef{g.W_enc.data(), in, S, S, 1}, nullptr, 0, dpre_dense, S,
                             sae_in, in, MatRef{s.W_enc.data(), in, S, S, 1}, rows);
    detail::add_column_sums(col.data(), dpre_dense, rows, S);
  } else {
    const detail::ByLatent by = detail::group_by_latent(*dpre_sparse, S);
    constexpr int64_t kBlock = 16;  // latents per task: dW_enc rows are written 16 floats at a time
    const int64_t blocks = (S + kBlock - 1) / kBlock;
#pragma omp parallel if (rows * in * 16 >= (1 << 15))
    {
      std::vector<float> G(static_cast<size_t>(kBlock * in));
#pragma omp for schedule(dynamic, 4)
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t j0 = b * kBlock, j1 = std::min(S, j0 + kBlock);
        if (by.col_ptr[j1] == by.col_ptr[j0]) continue;
        std::fill(G.begin(), G.end(), 0.f);
        for (int64_t j = j0; j < j1; ++j) {
          float* gj = G.data() + (j - j0) * in;
          float cs = 0;
          for (int64_t p = by.col_ptr[j]; p < by.col_ptr[j + 1]; ++p) {
            const float d = dpre_sparse->val[size_t(by.pos[p])];
            const float* xi = sae_in + int64_t(by.row[p]) * in;
            cs += d;
#pragma omp simd
            for (int64_t i = 0; i < in; ++i) gj[i] += d * xi[i];
          }
          col[size_t(j)] = cs;
        }
        for (int64_t i = 0; i < in; ++i) {
          float* w = g.W_enc.data() + i * S;
          for (int64_t j = j0; j < j1; ++j) w[j] += G[size_t((j - j0) * in + i)];
        }
      }
    }
  }
  for (int64_t j = 0; j < S; ++j) g.b_enc[size_t(j)] += col[size_t(j)];
  if (s.cfg.b_dec_on_input()) {  // sae_in = x - b_dec: db_dec -= W_enc . sum_n dpre[n]
#pragma omp parallel for schedule(static) if (in * S >= (1 << 15))
    for (int64_t i = 0; i < in; ++i) {
      const float* w = s.W_enc.data() + i * S;
      double acc = 0;
      for (int64_t j = 0; j < S; ++j) acc += double(w[j]) * col[size_t(j)];
      g.b_dec[size_t(i)] -= float(acc);
    }
  }
}

void sae_activate(SparseActs& f, float* batch_threshold, const float* pre, const Sae& s, int64_t rows,
                  bool train_batchtopk) {
  const int64_t S = s.cfg.d_sae;
  switch (s.cfg.arch) {
    case SaeArch::Relu:
      select_rows(f, pre, rows, S, [](int64_t, int64_t, float v) { return v > 0.f; });
      break;
    case SaeArch::TopK:
      topk_rows(f, pre, rows, S, s.cfg.k, nullptr);
      break;
    case SaeArch::BatchTopK:
      if (train_batchtopk) {
        *batch_threshold = batch_topk(f, pre, rows, S, s.cfg.k);
        break;
      }
      [[fallthrough]];  // inference: JumpReLU with the global threshold
    case SaeArch::JumpRelu: {
      const float* th = s.threshold.data();
      if (int64_t(s.threshold.size()) != S) fail("Sae: threshold has ", s.threshold.size(), " entries, expected ", S);
      select_rows(f, pre, rows, S, [th](int64_t, int64_t j, float v) { return v > th[j] && v > 0.f; });
      break;
    }
  }
}

void sae_decode_forward(float* x_hat, const SparseActs& f, const Sae& s, int64_t rows, bool bias) {
  const int64_t S = s.cfg.d_sae, out = s.cfg.out_width();
  const float* b = bias ? s.b_dec.data() : nullptr;
  if (detail::use_dense(f, rows, S)) {
    const std::vector<float> d = dense_from_sparse(f, f.val.data(), rows, S);
    kernels::matmul_forward(x_hat, out, d.data(), S, MatRef{s.W_dec.data(), S, out, out, 1}, b, 1, rows);
    return;
  }
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    float* o = x_hat + n * out;
    for (int64_t i = 0; i < out; ++i) o[i] = b ? b[i] : 0.f;
    for (int64_t e = f.row_ptr[n]; e < f.row_ptr[n + 1]; ++e) {
      const float v = f.val[e];
      const float* w = s.W_dec.data() + int64_t(f.idx[e]) * out;
#pragma omp simd
      for (int64_t i = 0; i < out; ++i) o[i] += v * w[i];
    }
  }
}

void sae_decode_backward(SaeGrads& g, std::vector<float>& df, const float* dx_hat, const SparseActs& f,
                         const Sae& s, int64_t rows, bool bias) {
  const int64_t S = s.cfg.d_sae, out = s.cfg.out_width();
  if (bias) detail::add_column_sums(g.b_dec.data(), dx_hat, rows, out);
  df.assign(f.idx.size(), 0.f);
  if (detail::use_dense(f, rows, S)) {
    const std::vector<float> d = dense_from_sparse(f, f.val.data(), rows, S);
    kernels::matmul_backward(nullptr, 0, MutMatRef{g.W_dec.data(), S, out, out, 1}, nullptr, 0, dx_hat, out,
                             d.data(), S, MatRef{s.W_dec.data(), S, out, out, 1}, rows);
    std::vector<float> dfd(static_cast<size_t>(rows * S));
    // dfd = dx_hat . W_dec^T: W_dec read as an [out, S] view.
    kernels::matmul_forward(dfd.data(), S, dx_hat, out, MatRef{s.W_dec.data(), out, S, 1, out}, nullptr, 1, rows);
#pragma omp parallel for schedule(static) if (rows * S >= (1 << 15))
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t e = f.row_ptr[n]; e < f.row_ptr[n + 1]; ++e) df[size_t(e)] = dfd[size_t(n * S + f.idx[e])];
    return;
  }
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    const float* d = dx_hat + n * out;
    for (int64_t e = f.row_ptr[n]; e < f.row_ptr[n + 1]; ++e) {
      const float* w = s.W_dec.data() + int64_t(f.idx[e]) * out;
      float acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < out; ++i) acc += d[i] * w[i];
      df[size_t(e)] = acc;
    }
  }
  const detail::ByLatent by = detail::group_by_latent(f, S);
#pragma omp parallel for schedule(dynamic, 64) if (rows * out >= (1 << 15))
  for (int64_t j = 0; j < S; ++j) {
    float* gw = g.W_dec.data() + j * out;
    for (int64_t p = by.col_ptr[j]; p < by.col_ptr[j + 1]; ++p) {
      const float v = f.val[size_t(by.pos[p])];
      const float* d = dx_hat + int64_t(by.row[p]) * out;
#pragma omp simd
      for (int64_t i = 0; i < out; ++i) gw[i] += v * d[i];
    }
  }
}

void SaeGrads::zero_like(const Sae& s) {
  W_enc.assign(s.W_enc.size(), 0.f);
  b_enc.assign(s.b_enc.size(), 0.f);
  W_dec.assign(s.W_dec.size(), 0.f);
  b_dec.assign(s.b_dec.size(), 0.f);
  threshold.assign(s.threshold.size(), 0.f);
}

}  // namespace glassbox::features
