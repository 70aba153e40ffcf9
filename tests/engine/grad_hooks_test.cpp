// Gradient hooks: d(metric)/d(activation) at hook sites, checked against
// finite differences taken by nudging the activation with a replace hook —
// for several metrics, families, and with interventions active.
#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/interventions.h"
#include "glassbox/metrics.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

using Metric = std::function<double(const Tensor& logits, const Batch& b, Tensor* dlogits)>;

struct Case {
  std::string model, hook;
  int metric;  // 0 loss, 1 logit diff, 2 KL to a fixed reference
};

class GradHooks : public ::testing::TestWithParam<Case> {};

TEST_P(GradHooks, MatchFiniteDifferencesWithAnInterventionActive) {
  const Case cs = GetParam();
  const Model m = Model::load(fixture(cs.model) + (cs.model.rfind("gguf", 0) == 0 ? "/model.gguf" : ""));
  Engine e(m);
  const Batch b = Batch::from_rows({gbtest::some_tokens(6, m.config().d_vocab, 21), gbtest::some_tokens(6, m.config().d_vocab, 22)});
  const Tensor ref = e.logits(Batch::from_rows({gbtest::some_tokens(6, m.config().d_vocab, 23), gbtest::some_tokens(6, m.config().d_vocab, 24)}));
  const Metric metric = [&](const Tensor& lg, const Batch& bb, Tensor* d) -> double {
    if (cs.metric == 0) return next_token_loss(lg, bb, d);
    if (cs.metric == 1) return logit_diff(lg, -1, 3, 7, d);
    return kl_divergence(lg, ref, bb, d);
  };
  // A steering vector stays active for the whole check.
  HookRegistry reg(m.config());
  Intervention steer;
  steer.kind = InterventionKind::AddVector;
  steer.hook = "blocks.0.hook_resid_mid";
  if (!site_exists(Site::resid_mid, m.config())) steer.hook = "blocks.0.hook_attn_out";
  steer.vector.assign(size_t(m.config().d_model), 0.3f);
  auto hs = attach(reg, {steer});

  std::vector<float> grad;
  auto gh = reg.add(cs.hook, [&](TensorView& g, const HookContext&) { grad.assign(g.data, g.data + g.numel()); },
                    HookMode::Grad);
  ForwardOptions fo;
  fo.for_backward = true;
  const ForwardResult fwd = e.forward(b, &reg, nullptr, fo);
  Tensor dl;
  metric(fwd.logits, b, &dl);
  e.backward(b, fwd, dl.f32(), &reg);
  ASSERT_FALSE(grad.empty());

  std::mt19937 rng(5);
  int64_t idx = 0;
  double eps = 1e-2;
  auto nudge = reg.add(cs.hook, [&](TensorView& a, const HookContext&) { a[idx] += float(eps); }, HookMode::Replace);
  for (int k = 0; k < 6; ++k) {
    // Pick entries with a non-negligible gradient (a causal pattern has zeros above the diagonal).
    do idx = int64_t(rng() % grad.size()); while (std::fabs(grad[size_t(idx)]) < 1e-4 && rng() % 8);
    eps = 1e-2;
    const double up = metric(e.logits(b, &reg), b, nullptr);
    eps = -1e-2;
    const double down = metric(e.logits(b, &reg), b, nullptr);
    const double fd = (up - down) / 2e-2;
    EXPECT_NEAR(grad[size_t(idx)], fd, 1e-2 * std::max(1.0, std::fabs(fd)) + 2e-3) << cs.hook << "[" << idx << "]";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Sites, GradHooks,
    ::testing::Values(Case{"gpt2", "blocks.0.hook_resid_pre", 0}, Case{"gpt2", "blocks.1.attn.hook_z", 1},
                      Case{"gpt2", "blocks.0.ln1.hook_scale", 2}, Case{"neox", "blocks.0.attn.hook_rot_k", 0},
                      Case{"neox", "blocks.1.hook_mlp_out", 1}, Case{"llama", "blocks.0.attn.hook_v", 2},
                      Case{"llama", "blocks.1.mlp.hook_pre_linear", 1}, Case{"qwen2", "blocks.0.attn.hook_pattern", 0},
                      Case{"attn-only", "blocks.1.attn.hook_attn_scores", 1}, Case{"attn-only", "hook_pos_embed", 0},
                      // Gemma-2: through the score cap and window, the post-norms, the embedding scale, the logit cap
                      Case{"gemma2", "blocks.0.attn.hook_rot_q", 0}, Case{"gemma2", "blocks.1.ln1_post.hook_scale", 1},
                      Case{"gemma2", "blocks.2.ln2_post.hook_normalized", 2}, Case{"gemma2", "hook_embed", 0},
                      Case{"gguf-gemma2", "blocks.2.attn.hook_attn_scores", 1}),
    [](const auto& i) {
      std::string s = i.param.model + "_" + std::to_string(i.index);
      for (char& c : s)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
      return s;
    });

// A metric of the last position's logits: backward from LogitsMode::Last
// gives the same weight and activation gradients as from all logits with
// zeros elsewhere (without the T x V unembedding gradient).
TEST(GradHooks, BackwardFromTheLastLogitsOnlyEqualsBackwardFromAllLogits) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  const int64_t V = m.config().d_vocab;
  const Batch b = Batch::from_rows({gbtest::some_tokens(6, int(V), 31), gbtest::some_tokens(6, int(V), 32)});
  auto grad_at_resid = [&](LogitsMode mode) {
    HookRegistry reg(m.config());
    std::vector<float> g;
    auto h = reg.add("blocks.0.hook_resid_pre", [&g](TensorView& t, const HookContext&) { g.assign(t.data, t.data + t.numel()); },
                     HookMode::Grad);
    ForwardOptions fo;
    fo.for_backward = true;
    fo.logits = mode;
    const ForwardResult fwd = e.forward(b, &reg, nullptr, fo);
    Tensor d;
    logit_diff(fwd.logits, -1, 3, 7, &d);
    e.backward(b, fwd, d.f32(), &reg);
    return g;
  };
  const auto all = grad_at_resid(LogitsMode::All), last = grad_at_resid(LogitsMode::Last);
  ASSERT_EQ(all.size(), last.size());
  double norm = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_NEAR(all[i], last[i], 1e-6) << i;
    norm += std::abs(all[i]);
  }
  EXPECT_GT(norm, 0.0);
}

}  // namespace

