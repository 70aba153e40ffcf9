#include "glassbox/features/activations.h"

#include <gtest/gtest.h>

namespace glassbox::features {
namespace {

TEST(ActivationRecord, MaxActIsTheLargestActivationAndZeroWhenEmpty) {
  ActivationRecord r{{"a", "b", "c"}, {0.5f, 2.f, -1.f}};
  EXPECT_FLOAT_EQ(r.max_act(), 2.f);
  EXPECT_FLOAT_EQ(ActivationRecord{}.max_act(), 0.f);
}

}  // namespace
}  // namespace glassbox::features
