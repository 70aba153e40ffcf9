#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

struct Gpt2 : ::testing::Test {
  Model m = Model::load(fixture("gpt2"));
  Engine e{m};
  Batch b = Batch::single(gbtest::some_tokens(6, m.config().d_vocab));
};

TEST(HookNames, MatchTransformerLensNames) {
  EXPECT_EQ((HookPoint{Site::pattern, 3}).name(), "blocks.3.attn.hook_pattern");
  EXPECT_EQ((HookPoint{Site::resid_pre, 0}).name(), "blocks.0.hook_resid_pre");
  EXPECT_EQ((HookPoint{Site::ln1_scale, 1}).name(), "blocks.1.ln1.hook_scale");
  EXPECT_EQ((HookPoint{Site::embed, -1}).name(), "hook_embed");
  EXPECT_EQ((HookPoint{Site::ln_final_normalized, -1}).name(), "ln_final.hook_normalized");
}

TEST(HookNames, ArchitectureDecidesWhichSitesExist) {
  const Model neox = Model::load(fixture("neox"));  // parallel residual, rotary
  const Model llama = Model::load(fixture("llama"));  // gated, rotary
  const Model attn = Model::load(fixture("attn-only"));
  EXPECT_FALSE(site_exists(Site::resid_mid, neox.config()));
  EXPECT_TRUE(site_exists(Site::rot_q, neox.config()));
  EXPECT_FALSE(site_exists(Site::pos_embed, neox.config()));
  EXPECT_TRUE(site_exists(Site::mlp_pre_linear, llama.config()));
  EXPECT_FALSE(site_exists(Site::mlp_out, attn.config()));
  EXPECT_FALSE(site_exists(Site::ln2_scale, attn.config()));
}

TEST_F(Gpt2, EveryHookPointRoundTripsThroughItsName) {
  for (const HookPoint& p : all_hook_points(m.config())) EXPECT_EQ(parse_hook_name(p.name(), m.config()), p);
}

TEST_F(Gpt2, GlobSelectsEveryLayer) {
  const auto pts = match_hooks("blocks.*.attn.hook_pattern", m.config());
  ASSERT_EQ(int(pts.size()), m.config().n_layers);
  for (int l = 0; l < m.config().n_layers; ++l) EXPECT_EQ(pts[size_t(l)], (HookPoint{Site::pattern, l}));
  EXPECT_EQ(match_hooks("blocks.0.*", m.config()).size(), 18u);  // gpt2 per-layer sites incl. hook_result
}

TEST_F(Gpt2, UnknownNameListsClosestValidNames) {
  try {
    parse_hook_name("blocks.0.attn.hook_patern", m.config());
    FAIL() << "expected an Error";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("closest"), std::string::npos);
    EXPECT_NE(std::string(err.what()).find("blocks.0.attn.hook_pattern"), std::string::npos) << err.what();
  }
  EXPECT_THROW(match_hooks("blocks.*.nothing", m.config()), Error);
}

TEST_F(Gpt2, LayerOutOfRangeIsAnError) {
  EXPECT_THROW(parse_hook_name("blocks.7.hook_resid_post", m.config()), Error);
  HookRegistry reg(m.config());
  EXPECT_THROW((void)reg.add(HookPoint{Site::z, 9}, [](TensorView&, const HookContext&) {}), Error);
}

TEST_F(Gpt2, ObserveHookSeesTheCachedActivation) {
  HookRegistry reg(m.config());
  std::vector<float> seen;
  Shape shape;
  auto h = reg.add("blocks.1.hook_resid_mid", [&](TensorView& a, const HookContext&) {
    seen.assign(a.data, a.data + a.numel());
    shape = a.shape;
  });
  ForwardOptions fo;
  fo.keep.insert({Site::resid_mid, 1});
  const ForwardResult r = e.forward(b, &reg, nullptr, fo);
  ASSERT_EQ(r.kept.size(), 1u);
  EXPECT_EQ(shape, (Shape{1, 6, m.config().d_model}));
  EXPECT_EQ(gbtest::max_abs_diff(seen.data(), r.kept[0].second.f32(), int64_t(seen.size())), 0.f);
}

TEST_F(Gpt2, ReplaceHookChangesTheOutputAndScopeEndRemovesIt) {
  const Tensor clean = e.logits(b);
  HookRegistry reg(m.config());
  {
    auto h = reg.add("blocks.0.hook_mlp_out", [](TensorView& a, const HookContext&) {
      for (int64_t i = 0; i < a.numel(); ++i) a[i] = 0;
    }, HookMode::Replace);
    const Tensor ablated = e.logits(b, &reg);
    EXPECT_GT(gbtest::max_abs_diff(clean.f32(), ablated.f32(), clean.numel()), 1e-4f);
  }
  EXPECT_TRUE(reg.empty());
  const Tensor again = e.logits(b, &reg);
  EXPECT_EQ(gbtest::max_abs_diff(clean.f32(), again.f32(), clean.numel()), 0.f);
}

TEST_F(Gpt2, ExceptionInsideScopeDetachesHook) {
  HookRegistry reg(m.config());
  try {
    auto h = reg.add("hook_embed", [](TensorView&, const HookContext&) {}, HookMode::Replace);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(reg.empty());
}

TEST_F(Gpt2, ReplacingScaleRenormalises) {
  // TransformerLens divides by hook_scale after the hook: doubling the scale halves normalized.
  HookRegistry reg(m.config());
  std::vector<float> before, after;
  ForwardOptions fo;
  fo.keep.insert({Site::ln1_normalized, 0});
  {
    const ForwardResult clean = e.forward(b, nullptr, nullptr, fo);
    const float* x = clean.kept[0].second.f32();
    before.assign(x, x + 6 * m.config().d_model);
  }
  auto h = reg.add("blocks.0.ln1.hook_scale", [](TensorView& a, const HookContext&) {
    for (int64_t i = 0; i < a.numel(); ++i) a[i] *= 2;
  }, HookMode::Replace);
  const ForwardResult r = e.forward(b, &reg, nullptr, fo);
  const float* x = r.kept[0].second.f32();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_NEAR(x[i], before[i] / 2, 1e-5f);
}

TEST_F(Gpt2, HookResultSumsToAttnOut) {
  ForwardOptions fo;
  fo.keep = {{Site::result, 0}, {Site::attn_out, 0}};
  const ForwardResult r = e.forward(b, nullptr, nullptr, fo);
  const Tensor& res = r.get({Site::result, 0});
  const Tensor& out = r.get({Site::attn_out, 0});
  const int64_t H = m.config().n_heads, d = m.config().d_model;
  const float* bO = m.weights().layers[0].b_O;
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t j = 0; j < d; ++j) {
      double s = bO[j];
      for (int64_t h = 0; h < H; ++h) s += res.f32()[(t * H + h) * d + j];
      EXPECT_NEAR(out.f32()[t * d + j], s, 1e-5);
    }
}

}  // namespace
