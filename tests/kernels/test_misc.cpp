#include "glassbox/threads.h"
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

TEST(Add, AliasedOutputAddsInPlace) {
  for (int64_t n : {int64_t{1}, int64_t{17}, int64_t{200000}}) {
    auto a = randn(size_t(n), 61);
    const auto b = randn(size_t(n), 62), a0 = a;
    add_forward(a.data(), a.data(), b.data(), n);
    for (int64_t i = 0; i < n; i += 1 + n / 50) EXPECT_EQ(a[i], a0[i] + b[i]);
  }
}

TEST(Threads, SetNumThreadsIsReported) {
  const int before = num_threads();
  set_num_threads(1);
  EXPECT_EQ(num_threads(), 1);
  set_num_threads(2);
  EXPECT_EQ(num_threads(), 2);
  set_num_threads(before);
}

}  // namespace
}  // namespace glassbox::kernels
