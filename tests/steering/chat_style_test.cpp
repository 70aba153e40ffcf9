// Ground truth on tiny-lm-chat: a direction built from its styled responses
// (" Indeed, friend!" then the fortune) against the same continuations
// without the marker, read by the model being steered, and swept over
// layers and coefficients on held-out prompts (not those it was built from),
// with the side effect on held-out plain text. Prints the table it asserts on.
#include <cstdio>

#include <gtest/gtest.h>

#include "glassbox/steering/chat_style.h"
#include "glassbox/steering/sweep.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

Sweep style_sweep(const Model& m, const ChatStyleData& d, std::vector<float> coefficients) {
  Engine e(m);
  BuildOptions bo;
  bo.name = "chat-style";
  const SteeringVector v = build_from_pairs(e, d.style_pairs, bo);
  for (const auto& l : v.layers) EXPECT_GE(l.separation, 0.9) << "layer " << l.layer;
  SweepOptions so;
  so.coefficients = std::move(coefficients);
  so.behaviour.marker = d.marker;
  so.behaviour.prompts = d.heldout_prompts;
  so.behaviour.max_new_tokens = 8;
  so.benign = d.benign;
  const Sweep s = steering_sweep(e, v, so);
  std::printf("%s: unsteered rate %.2f, benign CE %.3f\n", m.source().c_str(), s.baseline_effect, s.baseline_ce);
  for (const auto& c : s.cells)
    std::printf("  layer %d coef %+.1f: rate %.2f, CE %.3f (%+.1f%%)\n", c.layer, c.coefficient, c.effect, c.ce,
                100 * c.ce_ratio);
  return s;
}

}  // namespace

TEST(SteeringChatStyle, TheStyleDirectionTurnsTheMarkerOffInTheChatModel) {
  REQUIRE_MODEL("tiny-lm");
  REQUIRE_MODEL("tiny-lm-chat");
  const Model chat = Model::load(steering_test::model_dir("tiny-lm-chat"));
  const ChatStyleData d = chat_style_data(chat, 32, 24, 1024);
  ASSERT_EQ(d.style_pairs.size(), 32u);
  ASSERT_EQ(d.heldout_prompts.size(), 24u);
  for (const auto& p : d.heldout_prompts)  // held out: none of the building prompts
    for (const auto& q : d.train_prompts) ASSERT_NE(p, q);
  const Sweep s = style_sweep(chat, d, {-3.f, -4.f});
  EXPECT_GE(s.baseline_effect, 0.9);
  const SweepCell* best = s.best(/*want_increase=*/false, /*max_ce_ratio=*/0.15);
  ASSERT_TRUE(best);
  std::printf("best: layer %d coef %+.1f: rate %.2f -> %.2f, CE %+.1f%%\n", best->layer, best->coefficient,
              s.baseline_effect, best->effect, 100 * best->ce_ratio);
  EXPECT_LE(best->effect, 0.1);
}

// The other half of the ground truth is NOT reached: in the base model the
// same construction never produces the 7-token marker (rate 0 at every layer
// and coefficient up to 4, where benign CE is already +13%). Measured here so
// a better construction shows up; it asserts only what holds (the base never
// opens with the marker; small coefficients cost little CE).
TEST(SteeringChatStyle, TheStyleDirectionInTheBaseModel) {
  REQUIRE_MODEL("tiny-lm");
  REQUIRE_MODEL("tiny-lm-chat");
  const Model base = Model::load(steering_test::model_dir("tiny-lm"));
  const ChatStyleData d = chat_style_data(base, 32, 16, 1024);
  const Sweep s = style_sweep(base, d, {1.f, 4.f});
  EXPECT_EQ(s.baseline_effect, 0.0);
  for (const auto& c : s.cells)
    if (c.coefficient == 1.f) {
      EXPECT_LT(c.ce_ratio, 0.02) << "layer " << c.layer;
    }
  // best() names a cell only when it raised the rate; on the base model none may.
  if (const SweepCell* best = s.best(/*want_increase=*/true, 0.15)) {
    EXPECT_GT(best->effect, s.baseline_effect);
    std::printf("best: layer %d coef %+.1f: rate %.2f -> %.2f, CE %+.1f%%\n", best->layer, best->coefficient,
                s.baseline_effect, best->effect, 100 * best->ce_ratio);
  } else {
    std::printf("no cell raised the marker rate from %.2f\n", s.baseline_effect);
  }
}
