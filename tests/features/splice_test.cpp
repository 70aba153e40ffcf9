#include "glassbox/features/splice.h"

#include <gtest/gtest.h>

#include "common/hand_codecs.h"
#include "engine/test_util.h"
#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "kernels/kernels.h"

using namespace glassbox;
using gbtest::HalfCodec;
using gbtest::SplitCodec;

namespace {

struct Splice : ::testing::Test {
  Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e{m};
  const int64_t d = m.config().d_model, V = m.config().d_vocab;
  const std::string hook = "blocks.0.hook_resid_post";
  std::vector<std::vector<int32_t>> seqs{gbtest::some_tokens(7, m.config().d_vocab, 1),
                                         gbtest::some_tokens(5, m.config().d_vocab, 2),
                                         gbtest::some_tokens(7, m.config().d_vocab, 3)};
  // Mean next-token loss over `seqs` one sequence at a time, by the kernel's cross-entropy.
  double loss(const HookRegistry* reg) {
    double sum = 0;
    int64_t n = 0;
    for (const auto& s : seqs) {
      const Tensor lg = e.logits(Batch::single(s), reg);
      std::vector<int32_t> targets(s.begin() + 1, s.end());
      sum += kernels::cross_entropy_forward(nullptr, lg.f32(), targets.data(), int64_t(targets.size()), V) *
             double(targets.size());
      n += int64_t(targets.size());
    }
    return sum / double(n);
  }
};

TEST_F(Splice, ALosslessDictionaryRecoversEverything) {
  const auto r = features::evaluate_splice(e, std::make_shared<SplitCodec>(d), hook, seqs, 2);
  EXPECT_EQ(r.tokens, 6 + 4 + 6);
  EXPECT_NEAR(r.ce_clean, loss(nullptr), 1e-5);
  EXPECT_NEAR(r.ce_spliced, r.ce_clean, 1e-5);
  EXPECT_NEAR(r.ce_loss_recovered, 1.0, 1e-4);
  EXPECT_NEAR(r.kl_spliced, 0.0, 1e-6);
  EXPECT_GT(r.kl_ablated, 1e-3);
}

TEST_F(Splice, ALossyDictionaryIsScoredAgainstZeroAblation) {
  const auto r = features::evaluate_splice(e, std::make_shared<HalfCodec>(d), hook, seqs, 3);
  HookRegistry zero(m.config());
  auto h = zero.add(hook, [](TensorView& a, const HookContext&) { std::fill(a.data, a.data + a.numel(), 0.f); },
                    HookMode::Replace);
  EXPECT_NEAR(r.ce_ablated, loss(&zero), 1e-5);
  EXPECT_NEAR(r.ce_spliced_with_error, r.ce_clean, 1e-4);  // the error term restores the activation
  EXPECT_NEAR(r.kl_spliced_with_error, 0.0, 1e-5);
  EXPECT_GT(r.kl_spliced, 1e-4);
  EXPECT_NEAR(r.ce_loss_recovered, (r.ce_ablated - r.ce_spliced) / (r.ce_ablated - r.ce_clean), 1e-12);
  EXPECT_NE(r.ce_spliced, r.ce_clean);
}

TEST_F(Splice, NothingToPredictIsAnError) {
  EXPECT_THROW(features::evaluate_splice(e, std::make_shared<SplitCodec>(d), hook, {{1}}), Error);
  EXPECT_THROW(features::evaluate_splice(e, nullptr, hook, seqs), Error);
}

}  // namespace
