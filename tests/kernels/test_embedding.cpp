#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

TEST(Embedding, GathersRows) {
  const int64_t V = 11, C = 7;
  const auto W = randn(size_t(V * C), 1);
  const std::vector<int32_t> ids = {3, 0, 10, 3};
  std::vector<float> out(ids.size() * C);
  embedding_forward(out.data(), ids.data(), W.data(), 4, C);
  for (int t = 0; t < 4; ++t)
    for (int c = 0; c < C; ++c) EXPECT_EQ(out[t * C + c], W[ids[t] * C + c]);
}

TEST(Embedding, AccumulateAddsPositionalOntoToken) {
  const int64_t C = 5;
  const auto W = randn(size_t(8 * C), 1);
  const auto prior = randn(size_t(3 * C), 2);
  const std::vector<int32_t> ids = {7, 1, 1};
  auto out = prior;
  embedding_forward(out.data(), ids.data(), W.data(), 3, C, true);
  for (int t = 0; t < 3; ++t)
    for (int c = 0; c < C; ++c) EXPECT_EQ(out[t * C + c], prior[t * C + c] + W[ids[t] * C + c]);
}

TEST(Embedding, LargeThreadedGatherMatches) {
  const int64_t V = 50, C = 1000, T = 300;
  const auto W = randn(size_t(V * C), 3);
  std::vector<int32_t> ids(T);
  for (int64_t t = 0; t < T; ++t) ids[t] = int32_t((t * 7) % V);
  std::vector<float> out(size_t(T * C));
  embedding_forward(out.data(), ids.data(), W.data(), T, C);
  for (int64_t t = 0; t < T; t += 37) EXPECT_EQ(out[t * C + 999], W[ids[t] * C + 999]);
}

}  // namespace
}  // namespace glassbox::kernels
