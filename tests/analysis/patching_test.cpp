#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "analysis_test_util.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/trainable.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

// Clean and corrupted prompts that differ in one token only.
struct Pair {
  Batch clean, corrupt;
  int64_t diff_pos;
};
Pair one_token_apart(int32_t V, int T, int64_t pos, unsigned seed) {
  auto toks = antest::random_tokens(T, V, seed);
  Pair p{Batch::single(toks), {}, pos};
  toks[size_t(pos)] = (toks[size_t(pos)] + 1) % V;
  p.corrupt = Batch::single(toks);
  return p;
}

PatchingOptions logit_diff_opts(int32_t a, int32_t b, bool reuse) {
  PatchingOptions o;
  o.metric.answer = {a};
  o.metric.wrong = {b};
  o.reuse_prefix = o.reuse_positions = reuse;
  return o;
}

const std::vector<Site> kAllSites = {Site::resid_pre, Site::attn_out, Site::mlp_out, Site::resid_mid, Site::resid_post,
                                     Site::z, Site::q, Site::k, Site::v, Site::pattern, Site::result};

std::vector<Site> sites_of(const Config& c) {
  std::vector<Site> s;
  for (Site x : kAllSites)
    if (site_exists(x, c)) s.push_back(x);
  return s;
}

TEST(ActivationPatching, RestoringTheOnlyDifferingTokenGivesOneAndTheRestZero) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const Pair p = one_token_apart(m.config().d_vocab, 8, 3, 5);
  const PatchGrid g = activation_patching(e, p.clean, p.corrupt, Site::resid_pre, logit_diff_opts(4, 9, true));
  ASSERT_EQ(g.n_layers, 2);
  ASSERT_EQ(g.n_cols, 8);
  for (int64_t t = 0; t < 8; ++t)
    EXPECT_NEAR(g.at(0, t), t == 3 ? 1.f : 0.f, 1e-5) << t;  // the whole difference lives at (layer 0, pos 3)
  // Patching resid_pre at the last layer and last position carries every earlier effect but attention's.
  EXPECT_NE(g.at(1, 7), 0.f);
  EXPECT_NEAR(g.at(1, 2), 0.f, 1e-6);  // before the difference: patching changes nothing
}

TEST(ActivationPatching, NoisingTheOnlyDifferingTokenGivesZero) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const Pair p = one_token_apart(m.config().d_vocab, 8, 3, 5);
  PatchingOptions o = logit_diff_opts(4, 9, true);
  o.direction = PatchDirection::Noise;
  const PatchGrid g = activation_patching(e, p.clean, p.corrupt, Site::resid_pre, o);
  for (int64_t t = 0; t < 8; ++t) EXPECT_NEAR(g.at(0, t), t == 3 ? 0.f : 1.f, 1e-5) << t;
}

// Partial runs (from layer l, from position p, keys / values of earlier
// positions from the baseline's KV cache) must reproduce full reruns.
class PrefixReuse : public ::testing::TestWithParam<const char*> {};

TEST_P(PrefixReuse, EqualsNaiveRerunsOnEverySite) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const int32_t V = m.config().d_vocab;
  const Batch clean = Batch::from_rows({antest::random_tokens(7, V, 1), antest::random_tokens(7, V, 2)});
  Batch corrupt = clean;
  corrupt.tokens[2] = (corrupt.tokens[2] + 1) % V;
  corrupt.tokens[7 + 4] = (corrupt.tokens[7 + 4] + 3) % V;
  const auto sites = sites_of(m.config());
  for (int64_t pos : {int64_t(-1), int64_t(4)}) {
    PatchingOptions full = logit_diff_opts(1, 2, false), layers = full, both = full;
    full.metric.answer = {1, 6};
    full.metric.pos = pos;
    layers = both = full;
    layers.reuse_prefix = true;
    both.reuse_prefix = both.reuse_positions = true;
    const auto ref = activation_patching(e, clean, corrupt, sites, full);
    const auto a = activation_patching(e, clean, corrupt, sites, layers);
    const auto b = activation_patching(e, clean, corrupt, sites, both);
    ASSERT_EQ(a.size(), ref.size());
    for (size_t i = 0; i < ref.size(); ++i) {
      ASSERT_EQ(a[i].values.size(), ref[i].values.size());
      float worst_a = 0, worst = 0;
      for (size_t j = 0; j < ref[i].values.size(); ++j) {
        worst_a = std::max(worst_a, std::fabs(a[i].values[j] - ref[i].values[j]));
        worst = std::max(worst, std::fabs(b[i].values[j] - ref[i].values[j]));
      }
      // Batched rows and narrowed logits: float rounding only, of logits of
      // size |clean| + |corrupt|, then divided by clean - corrupt (normalised).
      const double scale = (std::fabs(ref[i].clean) + std::fabs(ref[i].corrupt)) / std::fabs(ref[i].clean - ref[i].corrupt);
      const float tol = float(5e-5 * std::max(1.0, scale));
      EXPECT_LE(worst_a, tol) << a[i].hook << " pos " << pos;
      EXPECT_LE(worst, tol) << b[i].hook << " pos " << pos;
      EXPECT_LE(b[i].forward_runs, ref[i].forward_runs);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Analysis, PrefixReuse, ::testing::Values("gpt2", "llama", "neox", "attn-only"));

TEST(ActivationPatching, InductionHeadOutputRestoresTheAnswer) {
  const Trainable tr = antest::induction_by_hand();
  Engine e(tr.model());
  // ... 3 4 5 ... 3 4 -> 5; corrupted: the earlier 5 replaced by 9 -> predicts 9.
  const Batch clean = Batch::single({1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4});
  const Batch corrupt = Batch::single({1, 2, 3, 4, 9, 6, 7, 8, 1, 2, 3, 4});
  PatchingOptions o = logit_diff_opts(5, 9, true);
  const auto g = activation_patching(e, clean, corrupt, {Site::z, Site::resid_pre}, o);
  EXPECT_NEAR(g[0].at(1, 0), 1.0, 1e-3) << g[0].to_json();  // L1H0's z carries all of it
  EXPECT_NEAR(g[0].at(0, 0), 0.0, 1e-3);
  EXPECT_NEAR(g[0].at(1, 1), 0.0, 1e-3);
  EXPECT_NEAR(g[1].at(0, 4), 1.0, 1e-3);
  EXPECT_NEAR(g[1].at(1, 4), 1.0, 1e-3);  // layer 1 reads the token at 4 directly (V of the induction head)
}

TEST(ActivationPatching, RejectsMismatchedPromptsAndUnpatchableSites) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const Batch a = Batch::single({1, 2, 3}), b = Batch::single({1, 2});
  EXPECT_THROW(activation_patching(e, a, b, Site::resid_pre, logit_diff_opts(1, 2, true)), Error);
  EXPECT_THROW(activation_patching(e, a, a, Site::ln1_scale, logit_diff_opts(1, 2, true)), Error);
  // Identical prompts: the normalised metric is undefined.
  EXPECT_THROW(activation_patching(e, a, a, Site::resid_pre, logit_diff_opts(1, 2, true)), Error);
  PatchingOptions raw = logit_diff_opts(1, 2, true);
  raw.metric.normalize = false;
  EXPECT_NO_THROW(activation_patching(e, a, a, Site::resid_pre, raw));
}

TEST(PatchMetric, KindsAndGradients) {
  Tensor logits = Tensor::zeros({1, 2, 3});
  const float v[6] = {0, 0, 0, 1, 2, 3};
  std::copy(v, v + 6, logits.f32());
  PatchMetric m;
  m.answer = {2};
  m.wrong = {0};
  EXPECT_DOUBLE_EQ(m.value(logits, 2), 2.0);
  m.kind = MetricKind::Prob;
  Tensor g;
  const double p = m.value(logits, 2, &g);
  EXPECT_NEAR(p, std::exp(3.0) / (std::exp(1.0) + std::exp(2.0) + std::exp(3.0)), 1e-6);
  EXPECT_NEAR(g.f32()[5], p * (1 - p), 1e-6);
  EXPECT_EQ(g.f32()[0], 0.f);
  EXPECT_EQ(PatchMetric::from_json(m.to_json()).to_json(), m.to_json());
}

// The performance point: a 4-layer model, sweeps of resid_pre / attn_out /
// mlp_out by position and z by head, with prefix reuse vs. full reruns.
TEST(PrefixReuse, FasterThanFullRerunsOnAFourLayerModel) {
  const Trainable tr = Trainable::init({{"model_type", "gpt2"}, {"n_embd", 64}, {"n_layer", 4}, {"n_head", 4},
                                        {"n_positions", 32}, {"vocab_size", 256}},
                                       2);
  Engine e(tr.model());
  const Pair p = one_token_apart(256, 24, 5, 9);
  const std::vector<Site> sites = {Site::resid_pre, Site::attn_out, Site::mlp_out, Site::z};
  auto time = [&](bool layers, bool positions) {
    PatchingOptions o = logit_diff_opts(3, 4, false);
    o.reuse_prefix = layers;
    o.reuse_positions = positions;
    const auto t0 = std::chrono::steady_clock::now();
    activation_patching(e, p.clean, p.corrupt, sites, o);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  time(true, true);  // warm-up
  // Best of 3 interleaved runs: CI machines are shared and noisy.
  double naive = 1e9, layers = 1e9, both = 1e9;
  for (int rep = 0; rep < 3; ++rep) {
    naive = std::min(naive, time(false, false));
    layers = std::min(layers, time(true, false));
    both = std::min(both, time(true, true));
  }
  std::cout << "[ analysis ] patching sweeps on 4 layers x 24 positions (resid_pre, attn_out, mlp_out by position; z by "
            << "head): full reruns " << naive * 1e3 << " ms; from layer l " << layers * 1e3 << " ms ("
            << naive / layers << "x); from layer l and position p " << both * 1e3 << " ms (" << naive / both << "x)\n";
  EXPECT_GT(naive / both, 1.2);  // measured 2.6-3.9x
}

}  // namespace
