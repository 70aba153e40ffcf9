#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "analysis_test_util.h"
#include "glassbox/analysis/path_patching.h"
#include "glassbox/cache.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/trainable.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

struct Pair {
  Batch clean, corrupt;
};
Pair two_rows_apart(int32_t V) {
  Pair p;
  p.clean = Batch::from_rows({antest::random_tokens(7, V, 1), antest::random_tokens(7, V, 2)});
  p.corrupt = p.clean;
  p.corrupt.tokens[2] = (p.corrupt.tokens[2] + 1) % V;
  p.corrupt.tokens[7 + 4] = (p.corrupt.tokens[7 + 4] + 3) % V;
  return p;
}

PatchMetric raw_logit_diff() {
  PatchMetric m;
  m.answer = {1, 6};
  m.wrong = {2};
  m.normalize = false;
  return m;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

class PathOnFixtures : public ::testing::TestWithParam<const char*> {};

// Nothing lies between a last-layer head and the logits but its own layer's
// MLP, which path patching lets recompute: the path is the whole effect.
TEST_P(PathOnFixtures, LastLayerSenderToLogitsIsActivationPatchingOfItsZ) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const Config& c = m.config();
  const Pair p = two_rows_apart(c.d_vocab);
  for (PatchDirection dir : {PatchDirection::Noise, PatchDirection::Denoise}) {
    PatchingOptions ao;
    ao.metric = raw_logit_diff();
    ao.direction = dir;
    const PatchGrid act = activation_patching(e, p.clean, p.corrupt, Site::z, ao);
    PathPatchingOptions po;
    po.metric = ao.metric;
    po.direction = dir;
    const PatchGrid path = path_patching(e, p.clean, p.corrupt, {PathReceiver::resid_final()}, po);
    ASSERT_EQ(path.values.size(), act.values.size());
    const int L = c.n_layers;
    for (int h = 0; h < c.n_heads; ++h) {
      const double one = path_patch(e, p.clean, p.corrupt, {{L - 1, h}}, {PathReceiver::resid_final()}, po);
      // The same run (path_patch as one full forward; the grids batched, narrowed logits): float rounding apart.
      const float tol = 1e-5f * std::max(1.f, std::fabs(act.at(L - 1, h)));
      EXPECT_NEAR(float(one), act.at(L - 1, h), tol) << GetParam() << " head " << h;
      EXPECT_NEAR(path.at(L - 1, h), act.at(L - 1, h), tol) << GetParam() << " head " << h;
    }
  }
}

// Senders in layer 0, receiver the logits, every later head and every MLP
// frozen: the final residual stream changes by exactly the sender's own
// output change (hook_result corrupt - clean), and nothing else.
TEST_P(PathOnFixtures, FrozenDownstreamLeavesOnlyTheDirectPath) {
  const Model m = Model::load(antest::fixture(GetParam()));
  Engine e(m);
  const Config& c = m.config();
  const Pair p = two_rows_apart(c.d_vocab);
  const int L = c.n_layers;
  CacheOptions co;
  co.names = {"blocks.0.attn.hook_result", "blocks." + std::to_string(L - 1) + ".hook_resid_post"};
  const ActivationCache cl = run_with_cache(e, p.clean, co), cr = run_with_cache(e, p.corrupt, co);
  const Tensor& r_clean = cl["blocks.0.attn.hook_result"];  // [B, T, H, d]
  const Tensor& r_corrupt = cr["blocks.0.attn.hook_result"];
  const PatchMetric metric = raw_logit_diff();
  PathPatchingOptions po;
  po.metric = metric;
  po.freeze_mlps = true;
  PatchingOptions ao;
  ao.metric = metric;
  ao.direction = PatchDirection::Noise;
  const PatchGrid act = activation_patching(e, p.clean, p.corrupt, Site::z, ao);
  double largest_indirect = 0;
  const int64_t H = c.n_heads, d = c.d_model;
  for (int h = 0; h < c.n_heads; ++h) {
    // The direct effect by hand: the clean run with the sender's output change added to its final stream.
    HookRegistry reg(c);
    auto hk = reg.add(HookPoint{Site::resid_post, L - 1}, [&](TensorView& a, const HookContext&) {
      for (int64_t n = 0; n < a.numel() / d; ++n)
        for (int64_t j = 0; j < d; ++j)
          a.data[n * d + j] += r_corrupt.f32()[(n * H + h) * d + j] - r_clean.f32()[(n * H + h) * d + j];
    }, HookMode::Replace);
    const double direct = metric.value(e.logits(p.clean, &reg), p.clean.T);
    const double path = path_patch(e, p.clean, p.corrupt, {{0, h}}, {PathReceiver::resid_final()}, po);
    EXPECT_NEAR(path, direct, 1e-4 * std::max(1.0, std::fabs(direct))) << GetParam() << " head " << h;
    largest_indirect = std::max(largest_indirect, std::fabs(act.at(0, h) - direct));
  }
  // ... which is not what activation patching measures: layer 1 reads layer 0.
  EXPECT_GT(largest_indirect, 1e-3) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Analysis, PathOnFixtures, ::testing::Values("gpt2", "llama", "neox", "attn-only"));

// Hand-built induction: the previous-token head (L0H0) matters only through
// the induction head's keys. Corrupting the first "4" breaks the match that
// lets the final "4" find "5".
TEST(PathPatching, PreviousTokenHeadActsThroughInductionKeysOnly) {
  const std::vector<int32_t> prompt = {1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4};
  std::vector<int32_t> broken = prompt;
  broken[3] = 12;  // "5" no longer follows a "4"
  const Batch clean = Batch::single(prompt), corrupt = Batch::single(broken);
  const Trainable tr = antest::induction_by_hand();
  Engine e(tr.model());
  PathPatchingOptions o;
  o.metric.answer = {5};
  o.metric.wrong = {7};
  auto path = [&](std::vector<PathReceiver> to) { return path_patch(e, clean, corrupt, {{0, 0}}, to, o); };
  const PathReceiver keys = PathReceiver::head_input(1, 0, Site::k);
  EXPECT_NEAR(path({keys}), 0.0, 1e-3);                                  // the whole effect
  EXPECT_NEAR(path({PathReceiver::head_input(1, 0, Site::q)}), 1.0, 1e-3);  // no effect
  EXPECT_NEAR(path({PathReceiver::head_input(1, 0, Site::v)}), 1.0, 1e-3);
  EXPECT_NEAR(path({PathReceiver::resid_final()}), 1.0, 1e-6);           // it writes nothing W_U reads
  EXPECT_NEAR(path({keys, PathReceiver::resid_final()}), 0.0, 1e-3);

  // Activation patching sees the same total effect, but cannot say where it flows.
  PatchingOptions ao;
  ao.metric = o.metric;
  ao.direction = PatchDirection::Noise;
  EXPECT_NEAR(activation_patching(e, clean, corrupt, Site::z, ao).at(0, 0), 0.0, 1e-3);

  const PatchGrid g = path_patching(e, clean, corrupt, {keys}, o);
  EXPECT_EQ(g.method, "path_patching");
  EXPECT_NEAR(g.at(0, 0), 0.0, 1e-3);
  EXPECT_NEAR(g.at(0, 1), 1.0, 1e-6);  // the zero head
  EXPECT_EQ(g.at(1, 0), 1.f);          // downstream of the receiver: not run, unpatched
  EXPECT_EQ(g.forward_runs, 2);        // the two heads of layer 0 batched, steps b and c
  EXPECT_EQ(g.to_json()["receivers"][0], "blocks.1.attn.hook_k[0]");
}

TEST(PathPatching, RejectsReceiversUpstreamAndHeadsOutOfRange) {
  const Model m = Model::load(antest::fixture("llama"));  // 4 query heads, 2 kv heads
  Engine e(m);
  const Pair p = two_rows_apart(m.config().d_vocab);
  PathPatchingOptions o;
  o.metric = raw_logit_diff();
  const PathReceiver final_stream = PathReceiver::resid_final();
  auto err = [&](std::vector<HeadRef> s, std::vector<PathReceiver> r) {
    return error_of([&] { path_patch(e, p.clean, p.corrupt, s, r, o); });
  };
  const std::string same_layer = err({{1, 0}}, {PathReceiver::head_input(1, 2, Site::q)});
  EXPECT_NE(same_layer.find("receivers[0] (blocks.1.attn.hook_q[2]) is not downstream of senders[0]"),
            std::string::npos) << same_layer;
  EXPECT_NE(err({{0, 1}, {1, 0}}, {PathReceiver::head_input(1, 0, Site::v)}).find("senders[1]"), std::string::npos);
  EXPECT_NE(err({{0, 4}}, {final_stream}).find("senders[0]: head 4 is out of range for 4 heads"), std::string::npos);
  EXPECT_NE(err({{2, 0}}, {final_stream}).find("senders[0]: layer 2"), std::string::npos);
  const std::string kv = err({{0, 0}}, {final_stream, PathReceiver::head_input(1, 2, Site::k)});
  EXPECT_NE(kv.find("receivers[1]: head 2 is out of range for the 2 heads of blocks.1.attn.hook_k"), std::string::npos)
      << kv;
  EXPECT_NE(err({{0, 0}}, {PathReceiver::head_input(1, 0, Site::z)}).find("receivers[0]: input"), std::string::npos);
  EXPECT_NE(err({}, {final_stream}).find("no senders"), std::string::npos);
  EXPECT_NE(err({{0, 0}}, {}).find("no receivers"), std::string::npos);
  const Batch shorter = Batch::single({1, 2, 3});
  EXPECT_THROW(path_patch(e, p.clean, shorter, {{0, 0}}, {final_stream}, o), Error);
  EXPECT_NO_THROW(path_patch(e, p.clean, p.corrupt, {{0, 0}}, {PathReceiver::head_input(1, 1, Site::k)}, o));
}

}  // namespace
