// The engine reuses the memory of the last pass's kept activations and
// logits once the caller has released them, and never memory still in use.
#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

ForwardResult kept_pass(Engine& e, const Batch& b) {
  ForwardOptions fo;
  fo.for_backward = true;
  return e.forward(b, nullptr, nullptr, fo);
}

std::vector<float> values(const Tensor& t) { return std::vector<float>(t.f32(), t.f32() + t.numel()); }

TEST(Recycle, ReleasedActivationsAreReusedAndHeldOnesAreNot) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  const Batch a = Batch::single(gbtest::some_tokens(8, m.config().d_vocab, 1));
  const Batch b = Batch::single(gbtest::some_tokens(8, m.config().d_vocab, 2));

  ForwardResult first = kept_pass(e, a);
  const void* first_logits = first.logits.data;
  const std::vector<float> first_values = values(first.logits);
  ForwardResult held = kept_pass(e, b);  // `first` is still held: fresh memory
  EXPECT_NE(held.logits.data, first_logits);
  EXPECT_EQ(values(first.logits), first_values) << "a held result was overwritten";

  const void* held_logits = held.logits.data;
  const std::vector<float> held_values = values(held.logits);
  held = ForwardResult{};  // released: the next pass may reuse it
  const ForwardResult again = kept_pass(e, b);
  EXPECT_EQ(again.logits.data, held_logits);
  EXPECT_EQ(values(again.logits), held_values);  // same input, same numbers in recycled memory
  ASSERT_FALSE(again.kept.empty());
}

}  // namespace
