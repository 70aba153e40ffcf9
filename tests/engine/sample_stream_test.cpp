#include <gtest/gtest.h>

#include "glassbox/generate.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

TEST(SampleTokenStream, WindowsOfTheContextEachStartAtBosAndRepeatForASeed) {
  const Model m = Model::load(fixture("gpt2"));  // n_ctx 32, no tokenizer: BOS is token 0
  Engine e(m);
  const int64_t n = 100, window = m.config().n_ctx;
  const std::vector<int32_t> a = sample_token_stream(e, n, 3);
  ASSERT_EQ(int64_t(a.size()), n);
  for (int64_t i = 0; i < n; i += window) EXPECT_EQ(a[size_t(i)], 0) << "window at " << i;
  for (int32_t t : a) EXPECT_TRUE(t >= 0 && t < m.config().d_vocab);
  EXPECT_EQ(sample_token_stream(e, n, 3), a);
  EXPECT_NE(sample_token_stream(e, n, 4), a);
}

}  // namespace
