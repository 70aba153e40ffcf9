// "sae" interventions: encode at a hook, edit latents, decode, keep the error.
// The dictionaries here are written out by hand so every expected activation
// follows from arithmetic, not from the code under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/interventions.h"
#include "common/hand_codecs.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;
using nlohmann::json;
using gbtest::HalfCodec;
using gbtest::SplitCodec;

namespace {

struct SaeIv : ::testing::Test {
  Model m = Model::load(fixture("gpt2"));
  Engine e{m};
  const int64_t d = m.config().d_model;
  Batch clean = Batch::single(gbtest::some_tokens(6, m.config().d_vocab, 3));

  Intervention sae(std::shared_ptr<const LatentCodec> c, const char* hook = "blocks.0.hook_resid_post") {
    Intervention iv;
    iv.kind = InterventionKind::Sae;
    iv.hook = hook;
    iv.sae = "hand-written";
    iv.codec = std::move(c);
    return iv;
  }
  // The activation at `hook` after the interventions ran, and the logits.
  std::pair<std::vector<float>, Tensor> run(const std::vector<Intervention>& xs, const char* hook = "blocks.0.hook_resid_post") {
    HookRegistry reg(m.config());
    auto hs = attach(reg, xs);
    std::vector<float> seen;
    auto obs = reg.add(hook, [&](TensorView& a, const HookContext&) { seen.assign(a.data, a.data + a.numel()); });
    Tensor lg = e.logits(clean, &reg);
    return {seen, std::move(lg)};
  }
};

TEST_F(SaeIv, KeepingTheErrorTermLeavesTheForwardUnchanged) {
  const auto [x0, base] = run({});
  const auto [x1, spliced] = run({sae(std::make_shared<HalfCodec>(d))});
  EXPECT_LT(gbtest::max_abs_diff(x1.data(), x0.data(), int64_t(x0.size())), 1e-5f);
  EXPECT_LT(gbtest::max_abs_diff(spliced.f32(), base.f32(), base.numel()), 1e-4f);
}

TEST_F(SaeIv, WithoutTheErrorTermTheActivationIsTheReconstruction) {
  const auto [x0, base] = run({});
  Intervention iv = sae(std::make_shared<HalfCodec>(d));
  iv.keep_error = false;
  const auto [x1, spliced] = run({iv});
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t j = 0; j < d; ++j) {
      const float x = x0[size_t(t * d + j)];
      EXPECT_FLOAT_EQ(x1[size_t(t * d + j)], j < d / 2 ? std::max(x, 0.f) : 0.f);
    }
  EXPECT_GT(gbtest::max_abs_diff(spliced.f32(), base.f32(), base.numel()), 1e-3f);
  // A lossless dictionary spliced in without its error term changes nothing.
  Intervention exact = sae(std::make_shared<SplitCodec>(d));
  exact.keep_error = false;
  EXPECT_LT(gbtest::max_abs_diff(run({exact}).second.f32(), base.f32(), base.numel()), 1e-4f);
}

TEST_F(SaeIv, EditsMoveOnlyWhatTheEditedLatentsWrite) {
  const auto [x0, base] = run({});
  Intervention clamp = sae(std::make_shared<HalfCodec>(d));
  clamp.latents = {1};
  clamp.edit = LatentEdit::Clamp;
  clamp.value = 7.f;
  clamp.positions = {2};
  Intervention zero = clamp;
  zero.edit = LatentEdit::Zero;
  Intervention scale = clamp;
  scale.edit = LatentEdit::Scale;
  scale.value = 3.f;
  const std::vector<float> xc = run({clamp}).first, xz = run({zero}).first, xs = run({scale}).first;
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t j = 0; j < d; ++j) {
      const size_t i = size_t(t * d + j);
      if (t == 2 && j == 1) {  // latent 1 writes +1 to dimension 1 (HalfCodec keeps j < d/2)
        const float f = std::max(x0[i], 0.f);
        EXPECT_NEAR(xc[i], x0[i] - f + 7.f, 1e-5);
        EXPECT_NEAR(xz[i], x0[i] - f, 1e-5);
        EXPECT_NEAR(xs[i], x0[i] + 2.f * f, 1e-5);
      } else {
        EXPECT_NEAR(xc[i], x0[i], 1e-5);
        EXPECT_NEAR(xz[i], x0[i], 1e-5);
        EXPECT_NEAR(xs[i], x0[i], 1e-5);
      }
    }
}

TEST_F(SaeIv, AHookZDictionaryReadsEveryHeadOfAPosition) {
  const int64_t H = m.config().n_heads, dh = m.config().d_head;
  const auto [z0, base] = run({}, "blocks.0.attn.hook_z");
  Intervention iv = sae(std::make_shared<HalfCodec>(H * dh), "blocks.0.attn.hook_z");
  iv.keep_error = false;
  const std::vector<float> z1 = run({iv}, "blocks.0.attn.hook_z").first;
  for (int64_t t = 0; t < 6; ++t)
    for (int64_t j = 0; j < H * dh; ++j)
      EXPECT_FLOAT_EQ(z1[size_t(t * H * dh + j)], j < H * dh / 2 ? std::max(z0[size_t(t * H * dh + j)], 0.f) : 0.f);
  Intervention wrong = sae(std::make_shared<HalfCodec>(d + 1));
  try {
    run({wrong});
    FAIL() << "a dictionary of the wrong width must be refused";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("reads " + std::to_string(d + 1)), std::string::npos) << err.what();
  }
}

TEST_F(SaeIv, JsonNeedsALoaderAndRoundTrips) {
  const json j = json::parse(R"({"type":"sae","hook":"blocks.0.hook_resid_post","sae":"dict","latents":[1,4],
                                 "edit":"clamp","value":2.5,"keep_error":false,"positions":[-1]})");
  EXPECT_THROW(interventions_from_json(j), Error);
  std::vector<std::string> asked;
  const auto xs = interventions_from_json(json::array({j, j}), "base", [&](const std::string& p) {
    asked.push_back(p);
    return std::make_shared<SplitCodec>(d);
  });
  ASSERT_EQ(xs.size(), 2u);
  EXPECT_EQ(asked, (std::vector<std::string>{"base/dict"}));  // loaded once, relative to the file
  EXPECT_EQ(xs[0].codec, xs[1].codec);
  EXPECT_EQ(xs[0].edit, LatentEdit::Clamp);
  EXPECT_FALSE(xs[0].keep_error);
  EXPECT_EQ(xs[0].to_json(), j);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"sae","hook":"hook_embed"})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"sae","hook":"hook_embed","sae":"x","latents":[1]})")), Error);
  EXPECT_THROW(Intervention::from_json(json::parse(R"({"type":"sae","hook":"hook_embed","sae":"x","edit":"boost"})")), Error);
  Intervention out_of_range = sae(std::make_shared<SplitCodec>(d));
  out_of_range.latents = {2 * d};
  out_of_range.edit = LatentEdit::Zero;
  EXPECT_THROW(run({out_of_range}), Error);
}

TEST_F(SaeIv, ClampingALatentStaysActiveDuringGeneration) {
  SamplingOptions o;
  o.temperature = 0;
  o.max_new_tokens = 4;
  Intervention clamp = sae(std::make_shared<SplitCodec>(d), "blocks.1.hook_resid_post");
  clamp.latents = {0};
  clamp.edit = LatentEdit::Clamp;
  clamp.value = 40.f;
  HookRegistry reg(m.config());
  auto hs = attach(reg, {clamp});
  const Generation g = generate(e, {clean.tokens}, o, &reg);
  // Same tokens as recomputing the whole sequence with the clamp each step.
  std::vector<int32_t> seq = clean.tokens;
  for (int32_t t : g.tokens[0]) {
    const Tensor lg = e.logits(Batch::single(seq), &reg);
    const float* last = lg.f32() + (int64_t(seq.size()) - 1) * m.config().d_vocab;
    EXPECT_EQ(int32_t(std::max_element(last, last + m.config().d_vocab) - last), t);
    seq.push_back(t);
  }
  const Generation plain = generate(e, {clean.tokens}, o, nullptr);
  EXPECT_NE(g.tokens[0], plain.tokens[0]) << "a clamp of 40 on resid_post[0] should change greedy tokens";
}

}  // namespace
