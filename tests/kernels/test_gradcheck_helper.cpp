// Negative controls: the gradcheck helper must be able to fail.
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

struct GeluSetup {
  std::vector<float> x = randn(32, 1, 2.0f), R = randn(32, 2), grad = std::vector<float>(32, 0.0f);
  double loss() {
    std::vector<float> y(x.size());
    act_forward(y.data(), x.data(), nullptr, int64_t(x.size()), Act::GeluNew);
    return dot(y, R);
  }
  GeluSetup() { act_backward(grad.data(), nullptr, R.data(), x.data(), nullptr, 32, Act::GeluNew); }
};

TEST(Gradcheck, HelperAcceptsCorrectGradient) {
  GeluSetup g;
  EXPECT_GRAD_OK(gradcheck("dx", g.x, g.grad, [&] { return g.loss(); }));
}

TEST(Gradcheck, HelperDetectsOneWrongEntry) {
  GeluSetup g;
  g.grad[17] *= 1.05f;
  g.grad[17] += 0.01f;
  const auto rep = gradcheck("dx", g.x, g.grad, [&] { return g.loss(); });
  EXPECT_FALSE(rep.ok) << rep;
  EXPECT_EQ(rep.worst_index, 17u);
}

TEST(Gradcheck, HelperDetectsWrongActivationDerivative) {
  GeluSetup g;
  std::vector<float> silu_grad(32, 0.0f);
  act_backward(silu_grad.data(), nullptr, g.R.data(), g.x.data(), nullptr, 32, Act::Silu);
  EXPECT_FALSE(gradcheck("dx", g.x, silu_grad, [&] { return g.loss(); }).ok);
}

TEST(Gradcheck, HelperDetectsNaNGradient) {
  GeluSetup g;
  g.grad[3] = NAN;
  EXPECT_FALSE(gradcheck("dx", g.x, g.grad, [&] { return g.loss(); }).ok);
}

TEST(Gradcheck, HelperDetectsTransposedWeightGradient) {
  // A classic layout bug: dW computed for the wrong storage order.
  const int64_t N = 3, K = 4, M = 4;
  auto w = randn(size_t(K * M), 3);
  const auto inp = randn(size_t(N * K), 4), R = randn(size_t(N * M), 5);
  std::vector<float> dw(size_t(K * M), 0.0f);
  matmul_backward(nullptr, K, MutMatRef{dw.data(), K, M, 1, K}, nullptr, 1, R.data(), M,
                  inp.data(), K, MatRef{w.data(), K, M, M, 1}, N);  // dW stored transposed
  auto loss = [&] {
    std::vector<float> out(size_t(N * M));
    matmul_forward(out.data(), M, inp.data(), K, MatRef{w.data(), K, M, M, 1}, nullptr, 1, N);
    return dot(out, R);
  };
  EXPECT_FALSE(gradcheck("dW", w, dw, loss).ok);
}

}  // namespace
}  // namespace glassbox::kernels
