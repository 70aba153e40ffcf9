#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "analysis/eigen.h"
#include "analysis_test_util.h"
#include "glassbox/analysis/head_circuits.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/engine.h"
#include "glassbox/trainable.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

std::complex<double> sum_of(const std::vector<std::complex<double>>& v) {
  std::complex<double> s = 0;
  for (auto x : v) s += x;
  return s;
}

TEST(Eigenvalues, KnownSpectra) {
  // Upper triangular: the diagonal.
  auto ev = detail::eigenvalues({2, 1, 5, 0, -3, 4, 0, 0, 7}, 3);
  std::vector<double> re;
  for (auto x : ev) {
    re.push_back(x.real());
    EXPECT_NEAR(x.imag(), 0, 1e-12);
  }
  std::sort(re.begin(), re.end());
  EXPECT_NEAR(re[0], -3, 1e-12);
  EXPECT_NEAR(re[1], 2, 1e-12);
  EXPECT_NEAR(re[2], 7, 1e-12);
  // A rotation by 90 degrees: +-i.
  ev = detail::eigenvalues({0, -1, 1, 0}, 2);
  EXPECT_NEAR(ev[0].real(), 0, 1e-12);
  EXPECT_NEAR(std::abs(ev[0].imag()), 1, 1e-12);
  EXPECT_NEAR(ev[0].imag(), -ev[1].imag(), 1e-12);
}

TEST(Eigenvalues, RandomMatrixMatchesTraceInvariants) {
  // sum(lambda) = tr(A), sum(lambda^2) = tr(A^2) for a random nonsymmetric matrix.
  const int n = 24;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> N(0, 1);
  std::vector<double> a(size_t(n * n));
  for (double& x : a) x = N(rng);
  double tr = 0, tr2 = 0;
  for (int i = 0; i < n; ++i) {
    tr += a[size_t(i * n + i)];
    for (int k = 0; k < n; ++k) tr2 += a[size_t(i * n + k)] * a[size_t(k * n + i)];
  }
  const auto ev = detail::eigenvalues(a, n);
  ASSERT_EQ(ev.size(), size_t(n));
  std::complex<double> s2 = 0;
  for (auto x : ev) s2 += x * x;
  EXPECT_NEAR(sum_of(ev).real(), tr, 1e-9);
  EXPECT_NEAR(sum_of(ev).imag(), 0, 1e-9);
  EXPECT_NEAR(s2.real(), tr2, 1e-8);
}

// A 1-layer attention-only model with W_E = W_U = W_V = I (d_model = d_head = d_vocab)
// and W_O = sign * I: its OV circuit is sign * I.
Trainable identity_ov_model(float sign) {
  const int n = 8;
  Trainable tr = Trainable::init({{"model_type", "hooked_transformer"}, {"n_layers", 1}, {"d_model", n}, {"n_heads", 1},
                                  {"d_head", n}, {"d_vocab", n}, {"n_ctx", 8}, {"attn_only", true},
                                  {"normalization_type", nullptr}},
                                 1, /*biases=*/false);
  for (Param& p : tr.params()) {
    const bool eye = p.name == "embed.W_E" || p.name == "unembed.W_U" || p.name == "blocks.0.attn.W_V" ||
                     p.name == "blocks.0.attn.W_O";
    if (!eye) continue;
    float* x = p.value.f32();
    std::fill(x, x + p.value.numel(), 0.f);
    const float v = p.name == "blocks.0.attn.W_O" ? sign : 1.f;
    for (int i = 0; i < n; ++i) x[i * n + i] = v;  // [.., n, n] with a leading head axis of 1
  }
  return tr;
}

TEST(CopyingScore, IdentityOvCircuitCopies) {
  const Trainable tr = identity_ov_model(1.f);
  const CopyingScore s = copying_score(tr.model(), 0, 0);
  EXPECT_NEAR(s.positivity, 1.0, 1e-6);
  EXPECT_NEAR(s.fraction_positive, 1.0, 1e-12);
  const TokenMatrix ov = ov_circuit(tr.model(), 0, 0, {1, 3, 5});
  EXPECT_NEAR(ov.at(0, 0), 1, 1e-6);
  EXPECT_NEAR(ov.at(0, 1), 0, 1e-6);
  EXPECT_NEAR(ov.at(2, 2), 1, 1e-6);
}

TEST(CopyingScore, NegatedIdentityIsAntiCopying) {
  const Trainable tr = identity_ov_model(-1.f);
  const CopyingScore s = copying_score(tr.model(), 0, 0);
  EXPECT_NEAR(s.positivity, -1.0, 1e-6);
  EXPECT_NEAR(s.fraction_positive, 0.0, 1e-12);
  EXPECT_NEAR(copying_scores(tr.model()).at(0, 0), -1.0, 1e-6);
}

TEST(CopyingScore, LowRankRouteEqualsEigenvaluesOfFullCircuit) {
  // Random weights, a token subset: the d_head x d_head route must give the
  // nonzero eigenvalues of the |S| x |S| OV circuit itself.
  const Model m = Model::load(antest::fixture("attn-only"));
  const std::vector<int32_t> S = {0, 3, 4, 9, 17, 21, 30, 42, 55, 56, 61, 77, 80, 91};
  const TokenMatrix ov = ov_circuit(m, 1, 2, S);
  const int n = int(S.size());
  const auto full = detail::eigenvalues(std::vector<double>(ov.values.begin(), ov.values.end()), n);
  const CopyingScore s = copying_score(m, 1, 2, S);
  double sum_full = 0, abs_full = 0, sum_small = 0, abs_small = 0;
  for (auto x : full) sum_full += x.real(), abs_full += std::abs(x);
  for (auto x : s.eigenvalues) sum_small += x.real(), abs_small += std::abs(x);
  EXPECT_NEAR(sum_small, sum_full, 1e-4 * abs_full);
  EXPECT_NEAR(abs_small, abs_full, 1e-3 * abs_full);
  EXPECT_NEAR(s.positivity, sum_full / abs_full, 1e-3);
}

TEST(QkCircuit, MatchesPerTokenDotProducts) {
  const Model m = Model::load(antest::fixture("gpt2"));
  const Config& c = m.config();
  const TokenMatrix qk = qk_circuit(m, 1, 3, {5, 7, 100});
  const LayerWeights& lw = m.weights().layers[1];
  auto proj = [&](const HeadProj& P, int h, int32_t tok, int j) {
    double s = 0;
    const MatRef W = P.head(h);
    for (int i = 0; i < c.d_model; ++i) s += double(m.weights().W_E[tok * c.d_model + i]) * W.data[i * W.rs + j * W.cs];
    return s;
  };
  double want = 0;
  for (int j = 0; j < c.d_head; ++j) want += proj(lw.W_Q, 3, 7, j) * proj(lw.W_K, 3, 100, j);
  EXPECT_NEAR(qk.at(1, 2), want, 1e-4 * std::max(1.0, std::fabs(want)));
  EXPECT_EQ(qk_circuit_positional(m, 0, 0, 6).size(), 36u);
}

TEST(HeadDetectors, DetectionPatternsFollowTransformerLens) {
  const std::vector<int32_t> t = {7, 1, 2, 7, 1};
  const auto prev = detection_pattern(HeadPattern::PreviousToken, t.data(), 5);
  const auto dup = detection_pattern(HeadPattern::DuplicateToken, t.data(), 5);
  const auto ind = detection_pattern(HeadPattern::Induction, t.data(), 5);
  EXPECT_EQ(prev[1 * 5 + 0], 1);
  EXPECT_EQ(prev[0], 0);
  EXPECT_EQ(dup[3 * 5 + 0], 1);  // the second 7 looks at the first
  EXPECT_EQ(dup[4 * 5 + 1], 1);
  EXPECT_EQ(ind[3 * 5 + 1], 1);  // ... induction: at the token after the first 7
  EXPECT_EQ(ind[4 * 5 + 2], 1);
  float total = 0;
  for (float x : ind) total += x;
  EXPECT_EQ(total, 2);
}

// The detectors must rank the hand-built previous-token head (L0H0) and
// induction head (L1H0) first, on repeated random tokens.
TEST(HeadDetectors, FindPreviousTokenAndInductionHeads) {
  const Trainable tr = antest::induction_by_hand();
  Engine e(tr.model());
  const Batch b = repeated_random_tokens(antest::kV, 7, 4, 11, /*bos=*/0);  // [bos r r], 15 tokens
  const auto s = head_detection_scores(e, b, {HeadPattern::PreviousToken, HeadPattern::Induction,
                                              HeadPattern::DuplicateToken});
  EXPECT_EQ(s[0].ranked().front(), std::make_pair(0, 0)) << s[0].to_json();
  EXPECT_EQ(s[1].ranked().front(), std::make_pair(1, 0)) << s[1].to_json();
  // TransformerLens' ratio: row 0 can only attend to itself, so 14/15 at best.
  EXPECT_NEAR(s[0].at(0, 0), 14.0 / 15.0, 1e-3);
  EXPECT_LT(s[0].at(0, 1), 0.3);
  EXPECT_NEAR(s[1].at(1, 0), 7.0 / 15.0, 1e-3);  // the second repeat (7 of 15 rows) attends perfectly
  HeadDetectorOptions o;
  o.matched_rows_only = true;
  const auto m = head_detection_scores(e, b, {HeadPattern::Induction}, o);
  EXPECT_NEAR(m[0].at(1, 0), 1.0, 1e-3);  // Olsson et al.'s induction score
  EXPECT_LT(m[0].at(0, 0), 0.1);
  // Only the induction head's OV circuit reaches the unembedding, as the identity.
  EXPECT_NEAR(copying_score(tr.model(), 1, 0).positivity, 1.0, 1e-6);
  EXPECT_NEAR(copying_score(tr.model(), 0, 0).positivity, 0.0, 1e-6);
  const HeadScores cs = copying_scores(tr.model());
  EXPECT_EQ(cs.ranked().front(), std::make_pair(1, 0));
}

TEST(QkCircuit, PositionalCircuitShowsThePreviousTokenHead) {
  const Trainable tr = antest::induction_by_hand();
  const auto qk = qk_circuit_positional(tr.model(), 0, 0, 8);
  for (int q = 1; q < 8; ++q)
    for (int k = 0; k < 8; ++k) EXPECT_EQ(qk[size_t(q * 8 + k)], k == q - 1 ? 40.f : 0.f) << q << "," << k;
}

}  // namespace
