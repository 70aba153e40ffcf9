// The SAE op pairs: every forward against the straightforward reference in
// sae_test_util.h, every backward against finite differences.
#include "glassbox/features/sae.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "features/sae_detail.h"
#include "features/sae_test_util.h"
#include "glassbox/error.h"

namespace glassbox::features {
namespace {

using testing::randn;
using testing::random_sae;
using testing::reference_forward;

SaeConfig cfg(SaeArch a, int64_t d_in = 6, int64_t d_sae = 12, int64_t k = 3) {
  SaeConfig c;
  c.arch = a;
  c.d_in = d_in;
  c.d_sae = d_sae;
  c.k = k;
  c.hook_name = "blocks.0.hook_resid_post";
  return c;
}

// The two variants past the plain SAE: a TopK transcoder 5 -> 7 and a ReLU crosscoder over two models' sites.
SaeConfig transcoder_cfg() {
  SaeConfig t = cfg(SaeArch::TopK, 5, 10, 3);
  t.d_out = 7;
  t.hook_name_out = "blocks.0.hook_mlp_out";
  return t;
}
SaeConfig crosscoder_cfg() {
  SaeConfig x = cfg(SaeArch::Relu, 4, 10);
  x.n_sources = 2;
  x.source_names = {"a/blocks.0.hook_resid_post", "b/blocks.0.hook_resid_post"};
  return x;
}

void expect_forward_matches(const Sae& s, const SaeLossOptions& o, int64_t rows, uint64_t seed, int dense = -1) {
  const auto x = randn(size_t(rows * s.cfg.in_width()), seed);
  const auto y = s.cfg.autoencoder() ? x : randn(size_t(rows * s.cfg.out_width()), seed + 7);
  SaeForward fw;
  const SaeLossParts L = sae_loss_forward(fw, s, o, x.data(), y.data(), rows);
  const auto r = reference_forward(s, o, x, y, rows);
  if (dense >= 0) {
    EXPECT_EQ(detail::use_dense(fw.f, rows, s.cfg.d_sae), dense == 1);
  }
  for (size_t i = 0; i < r.x_hat.size(); ++i) ASSERT_NEAR(fw.x_hat[i], r.x_hat[i], 1e-4) << i;
  std::vector<double> f(r.f.size(), 0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t e = fw.f.row_ptr[size_t(n)]; e < fw.f.row_ptr[size_t(n + 1)]; ++e)
      f[size_t(n * s.cfg.d_sae + fw.f.idx[size_t(e)])] = fw.f.val[size_t(e)];
  for (size_t i = 0; i < r.f.size(); ++i) ASSERT_NEAR(f[i], r.f[i], 1e-4) << i;
  EXPECT_NEAR(L.mse, r.mse, 1e-4 * (1 + r.mse));
  EXPECT_NEAR(L.sparsity, r.sparsity, 1e-4 * (1 + r.sparsity));
  EXPECT_NEAR(L.aux, r.aux, 1e-4 * (1 + r.aux));
  EXPECT_NEAR(L.l0, r.l0, 1e-9);
}

TEST(SaeForward, EveryArchitectureMatchesTheReference) {
  SaeLossOptions o;
  o.l1_coefficient = 0.7f;
  o.l0_coefficient = 0.3f;
  for (SaeArch a : {SaeArch::Relu, SaeArch::TopK, SaeArch::BatchTopK, SaeArch::JumpRelu}) {
    SCOPED_TRACE(to_string(a));
    expect_forward_matches(random_sae(cfg(a), 11), o, 9, 100, true);  // > 1/16 active: the GEMM path
    expect_forward_matches(random_sae(cfg(a, 6, 64, 3), 12, -2.2f), o, 9, 101, false);  // the gather path
  }
}

TEST(SaeForward, TranscoderAndCrosscoderMatchTheReference) {
  SaeLossOptions o;
  o.l1_coefficient = 0.5f;
  expect_forward_matches(random_sae(transcoder_cfg(), 21), o, 6, 200);
  expect_forward_matches(random_sae(crosscoder_cfg(), 22), o, 6, 201);
}

TEST(SaeForward, BatchTopKKeepsExactlyKTimesRowsAndBreaksTiesByRow) {
  Sae s = random_sae(cfg(SaeArch::BatchTopK, 4, 6, 2), 3);
  std::vector<float> pre(3 * 6, 0.f);
  // 7 positive values, 2 of them tied at the cut (0.5): k*rows = 6.
  pre = {0.9f, 0.5f, 0, 0, 0, 0, /**/ 0.8f, 0.5f, 0.1f, 0, 0, 0, /**/ 0.7f, 0.6f, 0.55f, 0, 0, 0};
  SparseActs f;
  float t = 0;
  sae_activate(f, &t, pre.data(), s, 3, true);
  EXPECT_EQ(f.nnz(), 6);
  EXPECT_FLOAT_EQ(t, 0.5f);
  EXPECT_EQ(f.row_ptr, (std::vector<int64_t>{0, 2, 3, 6}));  // the tie at row 0 wins, row 1's loses
  // Inference: the global threshold, row by row.
  s.threshold.assign(6, 0.58f);
  sae_activate(f, &t, pre.data(), s, 3, false);
  EXPECT_EQ(f.row_ptr, (std::vector<int64_t>{0, 1, 2, 4}));
}

// ---------------------------------------------------------------- gradients

struct Named {
  const char* name;
  std::vector<float> Sae::*w;
  std::vector<float> SaeGrads::*g;
};
const Named kParams[] = {{"W_enc", &Sae::W_enc, &SaeGrads::W_enc},
                         {"b_enc", &Sae::b_enc, &SaeGrads::b_enc},
                         {"W_dec", &Sae::W_dec, &SaeGrads::W_dec},
                         {"b_dec", &Sae::b_dec, &SaeGrads::b_dec}};

// Central differences of the total loss against sae_loss_backward, for every
// entry `use(param, index)` accepts. Entries whose step changes the active set
// (a kink) are skipped; at most a few may be.
void gradcheck(Sae s, const SaeLossOptions& o, int64_t rows, uint64_t seed,
               const std::function<bool(const char*, size_t)>& use = {}) {
  const auto x = randn(size_t(rows * s.cfg.in_width()), seed);
  const auto y = s.cfg.autoencoder() ? x : randn(size_t(rows * s.cfg.out_width()), seed + 9);
  SaeForward fw;
  sae_loss_forward(fw, s, o, x.data(), y.data(), rows);
  SaeGrads g;
  g.zero_like(s);
  sae_loss_backward(g, fw, s, o, x.data(), y.data());
  const float eps = 1e-3f;
  int checked = 0, skipped = 0;
  for (const Named& p : kParams) {
    for (size_t i = 0; i < (s.*p.w).size(); ++i) {
      if (use && !use(p.name, i)) continue;
      const float keep = (s.*p.w)[i];
      SaeForward a, b;
      (s.*p.w)[i] = keep + eps;
      const double lp = sae_loss_forward(a, s, o, x.data(), y.data(), rows).total();
      (s.*p.w)[i] = keep - eps;
      const double lm = sae_loss_forward(b, s, o, x.data(), y.data(), rows).total();
      (s.*p.w)[i] = keep;
      if (a.f.idx != b.f.idx || a.f.row_ptr != b.f.row_ptr || a.aux_f.idx != b.aux_f.idx || a.aux_f.row_ptr != b.aux_f.row_ptr ||
          a.f.idx != fw.f.idx) {
        ++skipped;
        continue;
      }
      const double num = (lp - lm) / (2.0 * eps);
      const double ana = (g.*p.g)[i];
      EXPECT_NEAR(ana, num, 3e-3 + 3e-2 * std::fabs(num)) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
  EXPECT_LE(skipped, checked / 5 + 2);
}

TEST(SaeBackward, ReluWithDecoderNormWeightedL1Gradchecks) {
  SaeLossOptions o;
  o.l1_coefficient = 0.4f;
  gradcheck(random_sae(cfg(SaeArch::Relu), 31), o, 7, 300);                   // dense path (GEMMs)
  gradcheck(random_sae(cfg(SaeArch::Relu, 6, 64), 32, -2.2f), o, 9, 301);     // sparse path
}

TEST(SaeBackward, TopKAndBatchTopKGradcheck) {
  SaeLossOptions o;
  gradcheck(random_sae(cfg(SaeArch::TopK), 41), o, 7, 400);
  gradcheck(random_sae(cfg(SaeArch::TopK, 6, 64, 3), 43), o, 7, 402);
  gradcheck(random_sae(cfg(SaeArch::BatchTopK), 42), o, 7, 401);
}

TEST(SaeBackward, JumpReluGradchecksAndThresholdGetsTheStraightThroughEstimate) {
  SaeLossOptions o;
  o.l0_coefficient = 0.2f;
  o.jumprelu_bandwidth = 0.5f;  // wide, so several pre-activations fall in the kernel
  const Sae s = random_sae(cfg(SaeArch::JumpRelu), 51);
  gradcheck(s, o, 7, 500);
  // The threshold's pseudo-derivative, from the paper's formula in double.
  const int64_t rows = 7, S = s.cfg.d_sae, out = s.cfg.out_width();
  const auto x = randn(size_t(rows * 6), 500);
  SaeForward fw;
  sae_loss_forward(fw, s, o, x.data(), x.data(), rows);
  SaeGrads g;
  g.zero_like(s);
  sae_loss_backward(g, fw, s, o, x.data(), x.data());
  const auto r = reference_forward(s, o, x, x, rows);
  int in_kernel = 0;
  for (int64_t j = 0; j < S; ++j) {
    double want = 0;
    const double th = s.threshold[size_t(j)], eps = o.jumprelu_bandwidth;
    for (int64_t n = 0; n < rows; ++n) {
      const double p = r.pre[size_t(n * S + j)];
      if (std::fabs(p - th) >= eps / 2) continue;
      ++in_kernel;
      double dfx = 0;  // d mse / d f[n, j]
      for (int64_t i = 0; i < out; ++i)
        dfx += 2.0 * (r.x_hat[size_t(n * out + i)] - x[size_t(n * out + i)]) / rows * s.W_dec[size_t(j * out + i)];
      want += dfx * (-th / eps) + o.l0_coefficient / rows * (-1.0 / eps);
    }
    EXPECT_NEAR(g.threshold[size_t(j)], want, 1e-4 * (1 + std::fabs(want))) << j;
  }
  EXPECT_GT(in_kernel, 3);
}

TEST(SaeBackward, TranscoderAndCrosscoderGradcheck) {
  SaeLossOptions o;
  o.l1_coefficient = 0.3f;
  gradcheck(random_sae(transcoder_cfg(), 61), o, 6, 600);
  gradcheck(random_sae(crosscoder_cfg(), 62), o, 6, 601);
}

TEST(SaeBackward, AuxiliaryKLossGradchecksOnDeadLatents) {
  // Dead = latents no row of this batch activates, so perturbing their weights
  // moves only the auxiliary term (whose residual target is detached).
  Sae s = random_sae(cfg(SaeArch::TopK, 6, 16, 2), 71);
  const int64_t rows = 6;
  const auto x = randn(size_t(rows * 6), 700);
  SaeForward fw;
  SaeLossOptions o;
  sae_loss_forward(fw, s, o, x.data(), x.data(), rows);
  std::vector<uint8_t> dead(16, 1);
  for (int32_t j : fw.f.idx) dead[size_t(j)] = 0;
  o.aux_k = 3;
  o.aux_coefficient = 0.5f;
  o.dead = dead.data();
  expect_forward_matches(s, o, rows, 700);
  SaeForward fw2;
  EXPECT_GT(sae_loss_forward(fw2, s, o, x.data(), x.data(), rows).aux, 0);
  const int64_t S = 16, out = 6;
  gradcheck(s, o, rows, 700, [&](const char* name, size_t i) {
    const std::string n = name;
    if (n == "W_enc") return dead[i % S] != 0;
    if (n == "b_enc") return dead[i] != 0;
    if (n == "W_dec") return dead[i / size_t(out)] != 0;
    return false;
  });
}

// ---------------------------------------------------------------- inference API

TEST(Sae, EncodeDecodeMatchTheReferenceAndOutputDirectionIsTheDecoderRow) {
  for (SaeArch a : {SaeArch::Relu, SaeArch::TopK, SaeArch::BatchTopK, SaeArch::JumpRelu}) {
    Sae s = random_sae(cfg(a), 81);
    const auto x = randn(5 * 6, 800);
    std::vector<float> f(5 * 12), xh(5 * 6);
    s.encode(x.data(), 5, f.data());
    s.decode(f.data(), 5, xh.data());
    SaeLossOptions o;
    o.train_batchtopk = false;
    const auto r = reference_forward(s, o, x, x, 5);
    for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], r.f[i], 1e-4);
    for (size_t i = 0; i < xh.size(); ++i) EXPECT_NEAR(xh[i], r.x_hat[i], 1e-4);
    const auto d = s.output_direction(3);
    EXPECT_EQ(d, std::vector<float>(s.W_dec.begin() + 18, s.W_dec.begin() + 24));
  }
  EXPECT_THROW(random_sae(cfg(SaeArch::Relu), 1).output_direction(12), Error);
}

TEST(Sae, InitHasUnitDecoderRowsTiedEncoderAndRejectsBadConfigs) {
  const Sae s = Sae::init(cfg(SaeArch::TopK, 8, 16, 4), 1);
  for (float n : s.decoder_norms_per_source()) EXPECT_NEAR(n, 1.f, 1e-5);
  EXPECT_EQ(s.W_enc[size_t(3 * 16 + 5)], s.W_dec[size_t(5 * 8 + 3)]);
  EXPECT_THROW(Sae::init(cfg(SaeArch::TopK, 8, 16, 17), 1), Error);
  EXPECT_THROW(Sae::init(cfg(SaeArch::Relu, 0, 16), 1), Error);
}

TEST(Sae, RuntimeNormalisationRoundTripsThroughReconstruct) {
  for (ActNorm n : {ActNorm::ConstantNormRescale, ActNorm::LayerNorm}) {
    SaeConfig c = cfg(SaeArch::Relu);
    c.normalize_activations = n;
    Sae s = random_sae(c, 91);
    const auto x = randn(3 * 6, 900, 5.f);
    std::vector<float> xh(3 * 6), f(3 * 12);
    s.reconstruct(x.data(), 3, xh.data());
    EXPECT_THROW(s.decode(f.data(), 3, xh.data()), Error);
    // Reference: normalise, run the plain SAE, undo.
    Sae plain = s;
    plain.cfg.normalize_activations = ActNorm::None;
    for (int r = 0; r < 3; ++r) {
      std::vector<float> row(x.begin() + r * 6, x.begin() + r * 6 + 6), out(6);
      double mu = 0, ss = 0;
      for (float v : row) mu += v, ss += double(v) * v;
      mu /= 6;
      double var = 0;
      for (float v : row) var += (v - mu) * (v - mu);
      const double sd = std::sqrt(var / 5);
      for (float& v : row) v = n == ActNorm::LayerNorm ? float((v - mu) / (sd + 1e-5)) : float(v * std::sqrt(6.0 / ss));
      plain.reconstruct(row.data(), 1, out.data());
      for (int i = 0; i < 6; ++i) {
        const double want = n == ActNorm::LayerNorm ? out[size_t(i)] * sd + mu : out[size_t(i)] / std::sqrt(6.0 / ss);
        EXPECT_NEAR(xh[size_t(r * 6 + i)], want, 1e-3);
      }
    }
  }
}

}  // namespace
}  // namespace glassbox::features
