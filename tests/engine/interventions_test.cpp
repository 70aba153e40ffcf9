#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/interventions.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;
using nlohmann::json;

namespace {

struct Iv : ::testing::Test {
  Model m = Model::load(fixture("gpt2"));
  Engine e{m};
  const int64_t d = m.config().d_model;
  Batch clean = Batch::single(gbtest::some_tokens(6, m.config().d_vocab, 3));
  Batch corrupt = Batch::single(gbtest::some_tokens(6, m.config().d_vocab, 4));

  Tensor run(const Batch& b, const std::vector<Intervention>& xs) {
    HookRegistry reg(m.config());
    auto hs = attach(reg, xs);
    return e.logits(b, &reg);
  }
};

TEST_F(Iv, JsonRoundTrip) {
  const json j = json::parse(R"([
    {"type":"zero_ablate","hook":"blocks.0.attn.hook_z","heads":[1,2],"positions":[3]},
    {"type":"add_vector","hook":"blocks.1.hook_resid_post","vector":[1,2,3],"alpha":2.5},
    {"type":"project_out","hook":"blocks.*.hook_resid_post","vector":[0,1]}])");
  const auto xs = interventions_from_json(j);
  ASSERT_EQ(xs.size(), 3u);
  EXPECT_EQ(xs[0].heads, (std::vector<int>{1, 2}));
  EXPECT_FLOAT_EQ(xs[1].alpha, 2.5f);
  EXPECT_EQ(interventions_to_json(xs), j);
}

TEST_F(Iv, MalformedJsonNamesTheProblem) {
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"explode","hook":"hook_embed"})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"add_vector","hook":"hook_embed"})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"zero_ablate"})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"patch","hook":"hook_embed"})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"zero_ablate","hook":"hook_embed","heads":"x"})")), Error);
}

TEST_F(Iv, PatchingEveryResidPreFromCacheReproducesTheSourceRun) {
  auto src = std::make_shared<ActivationCache>(run_with_cache(e, clean));
  Intervention iv;
  iv.kind = InterventionKind::Patch;
  iv.hook = "blocks.0.hook_resid_pre";
  iv.source_cache = src;
  const Tensor patched = run(corrupt, {iv});
  EXPECT_LT(gbtest::max_abs_diff(patched.f32(), src->logits.f32(), patched.numel()), 1e-5f);
}

TEST_F(Iv, PatchingOnePositionLeavesEarlierPositionsAlone) {
  auto src = std::make_shared<ActivationCache>(run_with_cache(e, clean));
  Intervention iv;
  iv.kind = InterventionKind::Patch;
  iv.hook = "blocks.1.hook_resid_pre";
  iv.positions = {4};
  iv.source_cache = src;
  const Tensor base = e.logits(corrupt);
  const Tensor patched = run(corrupt, {iv});
  const int64_t V = m.config().d_vocab;
  EXPECT_EQ(gbtest::max_abs_diff(patched.f32(), base.f32(), 4 * V), 0.f);           // positions 0..3
  EXPECT_GT(gbtest::max_abs_diff(patched.f32() + 4 * V, base.f32() + 4 * V, V), 1e-4f);  // position 4
}

TEST_F(Iv, ZeroAblatingOneHeadEqualsAHandWrittenHook) {
  Intervention iv;
  iv.kind = InterventionKind::ZeroAblate;
  iv.hook = "blocks.0.attn.hook_z";
  iv.heads = {2};
  const Tensor a = run(clean, {iv});
  HookRegistry reg(m.config());
  const int64_t H = m.config().n_heads, dh = m.config().d_head;
  auto h = reg.add("blocks.0.attn.hook_z", [&](TensorView& z, const HookContext&) {
    for (int64_t t = 0; t < 6; ++t)
      for (int64_t j = 0; j < dh; ++j) z[(t * H + 2) * dh + j] = 0;
  }, HookMode::Replace);
  const Tensor b = e.logits(clean, &reg);
  EXPECT_EQ(gbtest::max_abs_diff(a.f32(), b.f32(), a.numel()), 0.f);
}

TEST_F(Iv, MeanAblationUsesTheSourceMean) {
  auto src = std::make_shared<ActivationCache>(run_with_cache(e, Batch::from_rows({clean.tokens, corrupt.tokens})));
  Intervention iv;
  iv.kind = InterventionKind::MeanAblate;
  iv.hook = "blocks.0.hook_mlp_out";
  iv.source_cache = src;
  HookRegistry reg(m.config());
  auto hs = attach(reg, {iv});
  std::vector<float> seen;
  auto obs = reg.add("blocks.0.hook_mlp_out", [&](TensorView& a, const HookContext&) { seen.assign(a.data, a.data + a.numel()); });
  e.logits(clean, &reg);
  const Tensor& s = (*src)["blocks.0.hook_mlp_out"];
  for (int64_t j = 0; j < d; ++j) {
    double mean = 0;
    for (int64_t r = 0; r < 12; ++r) mean += s.f32()[r * d + j];
    mean /= 12;
    for (int64_t t = 0; t < 6; ++t) EXPECT_NEAR(seen[size_t(t * d + j)], mean, 1e-5);
  }
}

TEST_F(Iv, AddVectorThenProjectOutLeavesNoComponentAlongDirection) {
  std::vector<float> dir(static_cast<size_t>(d));
  for (int64_t j = 0; j < d; ++j) dir[size_t(j)] = std::sin(float(j));
  Intervention add;
  add.kind = InterventionKind::AddVector;
  add.hook = "blocks.1.hook_resid_mid";
  add.vector = dir;
  add.alpha = 10;
  Intervention proj = add;
  proj.kind = InterventionKind::ProjectOut;
  HookRegistry reg(m.config());
  auto hs = attach(reg, {add, proj});
  std::vector<float> seen;
  auto obs = reg.add("blocks.1.hook_resid_mid", [&](TensorView& a, const HookContext&) { seen.assign(a.data, a.data + a.numel()); });
  e.logits(clean, &reg);
  for (int64_t t = 0; t < 6; ++t) {
    double dot = 0;
    for (int64_t j = 0; j < d; ++j) dot += seen[size_t(t * d + j)] * dir[size_t(j)];
    EXPECT_NEAR(dot, 0.0, 1e-3);
  }
}

TEST_F(Iv, WrongVectorLengthIsAnError) {
  Intervention add;
  add.kind = InterventionKind::AddVector;
  add.hook = "blocks.0.hook_resid_post";
  add.vector = {1, 2, 3};
  EXPECT_THROW(run(clean, {add}), Error);
  Intervention heads;
  heads.kind = InterventionKind::ZeroAblate;
  heads.hook = "blocks.0.hook_resid_post";
  heads.heads = {0};
  HookRegistry reg(m.config());
  EXPECT_THROW(attach(reg, {heads}), Error);
}

TEST_F(Iv, SteeringStaysActiveDuringGeneration) {
  SamplingOptions o;
  o.temperature = 0;
  o.max_new_tokens = 5;
  std::vector<float> dir(static_cast<size_t>(d), 0.f);
  dir[0] = 1;
  Intervention add;
  add.kind = InterventionKind::AddVector;
  add.hook = "blocks.1.hook_resid_post";
  add.vector = dir;
  add.alpha = 50;
  HookRegistry reg(m.config());
  auto hs = attach(reg, {add});
  int calls = 0;
  auto counter = reg.add("blocks.1.hook_resid_post", [&](TensorView&, const HookContext&) { ++calls; });
  const Generation steered = generate(e, {clean.tokens}, o, &reg);
  EXPECT_EQ(calls, 5);  // one pass for the prompt + one per new token after the first
  // Same result as recomputing the whole sequence with the steering hook each step.
  std::vector<int32_t> seq = clean.tokens;
  for (int32_t t : steered.tokens[0]) {
    const Tensor lg = e.logits(Batch::single(seq), &reg);
    const float* last = lg.f32() + (int64_t(seq.size()) - 1) * m.config().d_vocab;
    EXPECT_EQ(int32_t(std::max_element(last, last + m.config().d_vocab) - last), t);
    seq.push_back(t);
  }
}

}  // namespace
