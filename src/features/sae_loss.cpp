// The training loss of a sparse dictionary and its gradient: reconstruction
// MSE, the architecture's sparsity term, and the auxiliary-k loss on dead
// latents (Gao et al. 2024, with the residual detached as in their code).
#include <algorithm>
#include <cmath>

#include <omp.h>

#include "features/sae_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

namespace {

// Top aux_k latents among the dead ones (pre > 0), per row.
void aux_select(SparseActs& f, const float* pre, const Sae& s, int64_t rows, int64_t aux_k, const uint8_t* dead) {
  Sae view;
  view.cfg = s.cfg;
  view.cfg.arch = SaeArch::TopK;
  view.cfg.k = std::min(aux_k, s.cfg.d_sae);
  // TopK over pre with the live latents zeroed.
  const int64_t S = s.cfg.d_sae;
  std::vector<float> masked(pre, pre + rows * S);
#pragma omp parallel for schedule(static) if (rows * S >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t j = 0; j < S; ++j)
      if (!dead[j]) masked[size_t(n * S + j)] = 0.f;
  float t = 0;
  sae_activate(f, &t, masked.data(), view, rows, false);
}

bool any_dead(const uint8_t* dead, int64_t S) {
  if (!dead) return false;
  for (int64_t j = 0; j < S; ++j)
    if (dead[j]) return true;
  return false;
}

}  // namespace

SaeLossParts sae_loss_forward(SaeForward& fw, const Sae& s, const SaeLossOptions& o, const float* x,
                              const float* y, int64_t rows) {
  const int64_t in = s.cfg.in_width(), out = s.cfg.out_width(), S = s.cfg.d_sae, K = s.cfg.n_sources;
  fw.rows = rows;
  fw.sae_in.resize(size_t(rows * in));
  fw.pre.resize(size_t(rows * S));
  fw.x_hat.resize(size_t(rows * out));
  sae_encode_forward(fw.sae_in.data(), fw.pre.data(), s, x, rows);
  sae_activate(fw.f, &fw.batch_threshold, fw.pre.data(), s, rows, o.train_batchtopk);
  sae_decode_forward(fw.x_hat.data(), fw.f, s, rows, true);

  SaeLossParts L;
  // Per-row sums, added in row order: the logged loss is reproducible (an
  // OpenMP reduction combines threads in arrival order).
  std::vector<double> per_row(static_cast<size_t>(rows));
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
  for (int64_t n = 0; n < rows; ++n) {
    double a = 0;
    for (int64_t i = n * out; i < (n + 1) * out; ++i) a += double(fw.x_hat[size_t(i)] - y[i]) * (fw.x_hat[size_t(i)] - y[i]);
    per_row[size_t(n)] = a;
  }
  double se = 0;
  for (double v : per_row) se += v;
  L.mse = se / double(rows);
  L.l0 = double(fw.f.nnz()) / double(rows);
  if (s.cfg.arch == SaeArch::Relu) {
    fw.dec_norm.resize(size_t(S * K));
    detail::decoder_norms(fw.dec_norm.data(), s);
    double l1 = 0;
    for (int64_t e = 0; e < fw.f.nnz(); ++e) {
      const int64_t j = fw.f.idx[size_t(e)];
      double w = 0;
      for (int64_t k = 0; k < K; ++k) w += fw.dec_norm[size_t(j * K + k)];
      l1 += double(fw.f.val[size_t(e)]) * w;
    }
    L.sparsity = o.l1_coefficient * l1 / double(rows);
  } else if (s.cfg.arch == SaeArch::JumpRelu) {
    L.sparsity = o.l0_coefficient * L.l0;
  }
  fw.aux_f = SparseActs{};
  fw.aux_hat.clear();
  if (o.aux_k > 0 && any_dead(o.dead, S)) {
    aux_select(fw.aux_f, fw.pre.data(), s, rows, o.aux_k, o.dead);
    fw.aux_hat.resize(size_t(rows * out));
    sae_decode_forward(fw.aux_hat.data(), fw.aux_f, s, rows, false);
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
    for (int64_t n = 0; n < rows; ++n) {
      double a = 0;
      for (int64_t i = n * out; i < (n + 1) * out; ++i) {
        const double r = double(y[i]) - fw.x_hat[size_t(i)];  // the residual the dead latents should explain
        a += (fw.aux_hat[size_t(i)] - r) * (fw.aux_hat[size_t(i)] - r);
      }
      per_row[size_t(n)] = a;
    }
    double ae = 0;
    for (double v : per_row) ae += v;
    L.aux = o.aux_coefficient * ae / double(rows);
  }
  return L;
}

void sae_loss_backward(SaeGrads& g, const SaeForward& fw, const Sae& s, const SaeLossOptions& o,
                       const float* x, const float* y) {
  (void)x;
  const int64_t rows = fw.rows, out = s.cfg.out_width(), S = s.cfg.d_sae, K = s.cfg.n_sources;
  const int64_t od = s.cfg.out_dim();
  const float inv_rows = 1.f / float(rows);
  std::vector<float> dx_hat(static_cast<size_t>(rows * out));
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
  for (int64_t i = 0; i < rows * out; ++i) dx_hat[size_t(i)] = 2.f * (fw.x_hat[size_t(i)] - y[i]) * inv_rows;

  std::vector<float> df;
  sae_decode_backward(g, df, dx_hat.data(), fw.f, s, rows, true);

  if (s.cfg.arch == SaeArch::Relu) {
    // d/d f_j of l1 * f_j * sum_s ||W_dec[j,s]||, and d/d W_dec[j,s] of the same.
    std::vector<double> fsum(static_cast<size_t>(S), 0.0);
    for (int64_t e = 0; e < fw.f.nnz(); ++e) {
      const int64_t j = fw.f.idx[size_t(e)];
      double w = 0;
      for (int64_t k = 0; k < K; ++k) w += fw.dec_norm[size_t(j * K + k)];
      df[size_t(e)] += float(o.l1_coefficient * w * inv_rows);
      fsum[size_t(j)] += fw.f.val[size_t(e)];
    }
#pragma omp parallel for schedule(static) if (S * out >= (1 << 15))
    for (int64_t j = 0; j < S; ++j) {
      if (fsum[size_t(j)] == 0) continue;
      for (int64_t k = 0; k < K; ++k) {
        const float nrm = fw.dec_norm[size_t(j * K + k)];
        if (nrm <= 0) continue;
        const float c = float(o.l1_coefficient * fsum[size_t(j)] * inv_rows / nrm);
        const float* w = s.W_dec.data() + j * out + k * od;
        float* gw = g.W_dec.data() + j * out + k * od;
        for (int64_t i = 0; i < od; ++i) gw[i] += c * w[i];
      }
    }
  }

  if (s.cfg.arch == SaeArch::JumpRelu) {
    // Straight-through estimator (Rajamanoharan et al. 2024, eqs. 11-12):
    //   d f / d theta   = -(theta / eps) K((pre - theta) / eps)
    //   d H / d theta   = -(1 / eps) K((pre - theta) / eps),  K = 1 on |u| < 1/2
    // d f / d pre = H(pre - theta), so pre gets df only where active.
    const float eps = o.jumprelu_bandwidth;
    const float* th = s.threshold.data();
    const int nt = omp_get_max_threads();
    std::vector<double> acc(static_cast<size_t>(nt) * size_t(S), 0.0);
#pragma omp parallel num_threads(nt) if (rows * S >= (1 << 15))
    {
      double* a = acc.data() + size_t(omp_get_thread_num()) * size_t(S);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < rows; ++n) {
        const float* p = fw.pre.data() + n * S;
        const float* d = dx_hat.data() + n * out;
        for (int64_t j = 0; j < S; ++j) {
          if (std::fabs(p[j] - th[j]) >= 0.5f * eps) continue;
          const float* w = s.W_dec.data() + j * out;
          double dfj = 0;
          for (int64_t i = 0; i < out; ++i) dfj += double(d[i]) * w[i];
          a[j] += -(double(th[j]) / eps) * dfj - double(o.l0_coefficient) * inv_rows / eps;
        }
      }
    }
    for (int t = 0; t < nt; ++t)
      for (int64_t j = 0; j < S; ++j) g.threshold[size_t(j)] += float(acc[size_t(t) * size_t(S) + size_t(j)]);
  }

  SparseActs dpre = fw.f;  // relu / topk / jumprelu all pass df through at active entries
  dpre.val = df;
  sae_encode_backward(g, nullptr, &dpre, fw.sae_in.data(), s, rows);

  if (!fw.aux_hat.empty()) {
    std::vector<float> daux(static_cast<size_t>(rows * out));
    const float c = 2.f * o.aux_coefficient * inv_rows;
#pragma omp parallel for schedule(static) if (rows * out >= (1 << 15))
    for (int64_t i = 0; i < rows * out; ++i)
      daux[size_t(i)] = c * (fw.aux_hat[size_t(i)] - (y[i] - fw.x_hat[size_t(i)]));
    std::vector<float> dfa;
    sae_decode_backward(g, dfa, daux.data(), fw.aux_f, s, rows, false);
    SparseActs dp = fw.aux_f;
    dp.val = dfa;
    sae_encode_backward(g, nullptr, &dp, fw.sae_in.data(), s, rows);
  }
}

}  // namespace glassbox::features
