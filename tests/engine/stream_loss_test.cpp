#include "glassbox/stream_loss.h"

#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/metrics.h"
#include "test_util.h"

using namespace glassbox;

namespace {

TEST(StreamLoss, OneWindowIsTheNextTokenLossOfOneForward) {
  const Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e(m);
  const auto ids = gbtest::some_tokens(m.config().n_ctx, m.config().d_vocab);
  const StreamLoss r = stream_loss(e, ids);
  EXPECT_EQ(r.windows, 1);
  EXPECT_EQ(r.tokens_evaluated, int64_t(ids.size()) - 1);
  const Batch b = Batch::single(ids);
  EXPECT_NEAR(r.loss, next_token_loss(e.forward(b).logits, b), 1e-5);
  EXPECT_NEAR(r.ppl(), std::exp(r.loss), 1e-9 * r.ppl());
  EXPECT_EQ(r.to_json()["windows"], 1);
}

TEST(StreamLoss, LongStreamsPredictEveryTokenOnceInOverlappingWindows) {
  const Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e(m);
  const int n_ctx = m.config().n_ctx;
  const auto ids = gbtest::some_tokens(3 * n_ctx, m.config().d_vocab);
  size_t calls = 0;
  const StreamLoss r = stream_loss(e, ids, nullptr, [&](size_t w, size_t n) {
    EXPECT_EQ(w, calls++);
    EXPECT_EQ(int64_t(n), (int64_t(ids.size()) - 1 + n_ctx - 2) / (n_ctx - 1));
  });
  EXPECT_EQ(r.tokens, int64_t(ids.size()));
  EXPECT_EQ(r.tokens_evaluated, int64_t(ids.size()) - 1);
  EXPECT_EQ(r.windows, int64_t(calls));
  EXPECT_THROW(stream_loss(e, {1}), Error);
}

}  // namespace
