// Finite-difference gradchecks of the position-wise ops: matmul, norms,
// affine, activations, embedding, cross-entropy. Every gradient buffer starts
// non-zero, so these also check that backward accumulates (+=).
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

void gradcheck_matmul(bool transposed, bool with_bias) {
  const int64_t N = 5, K = 7, M = 6, ldi = K + 2, ldo = M + 1, bstride = 2, pad = 3;
  const int64_t rs = transposed ? 1 : M + pad, cs = transposed ? K + pad : 1;
  auto inp = randn(size_t(N * ldi), 1);
  auto w = randn(size_t(transposed ? M * (K + pad) : K * (M + pad)), 2);
  auto bias = randn(size_t(M * bstride), 3);
  auto R = randn(size_t(N * ldo), 4);
  for (int64_t n = 0; n < N; ++n) R[n * ldo + M] = 0.0f;  // padding column carries no loss
  auto loss = [&] {
    std::vector<float> out(size_t(N * ldo), 0.0f);
    matmul_forward(out.data(), ldo, inp.data(), ldi, MatRef{w.data(), K, M, rs, cs},
                   with_bias ? bias.data() : nullptr, bstride, N);
    return dot(out, R);
  };
  const auto dinp0 = randn(inp.size(), 5), dw0 = randn(w.size(), 6), db0 = randn(bias.size(), 7);
  auto dinp = dinp0, dw = dw0, db = db0;
  matmul_backward(dinp.data(), ldi, MutMatRef{dw.data(), K, M, rs, cs},
                  with_bias ? db.data() : nullptr, bstride, R.data(), ldo, inp.data(), ldi,
                  MatRef{w.data(), K, M, rs, cs}, N);
  EXPECT_GRAD_OK(gradcheck("dinp", inp, delta(dinp, dinp0), loss));
  EXPECT_GRAD_OK(gradcheck("dW", w, delta(dw, dw0), loss));
  if (with_bias) EXPECT_GRAD_OK(gradcheck("dbias", bias, delta(db, db0), loss));
}

TEST(Gradcheck, MatmulRowMajorWeight) { gradcheck_matmul(false, true); }
TEST(Gradcheck, MatmulTransposedWeight) { gradcheck_matmul(true, true); }
TEST(Gradcheck, MatmulWithoutBias) { gradcheck_matmul(true, false); }

TEST(MatmulBackward, NullOutputsAreSkippedAndDbiasSumsRows) {
  const int64_t N = 300, K = 4, M = 200;  // big enough for the threaded dbias path
  const auto inp = randn(size_t(N * K), 1), w = randn(size_t(K * M), 2), dout = randn(size_t(N * M), 3);
  std::vector<float> db(size_t(M), 1.0f);
  matmul_backward(nullptr, K, MutMatRef{}, db.data(), 1, dout.data(), M, inp.data(), K,
                  MatRef{w.data(), K, M, M, 1}, N);
  for (int64_t j = 0; j < M; ++j) {
    double s = 1.0;
    for (int64_t n = 0; n < N; ++n) s += dout[n * M + j];
    ASSERT_NEAR(db[j], s, 1e-4) << j;
  }
}

TEST(MatmulBackward, WeightGradientLayoutFollowsItsOwnStrides) {
  // W read as nn.Linear (rs == 1) while dW is a row-major [K, M] buffer: the
  // two must agree element-wise, whatever their storage.
  const int64_t N = 3, K = 4, M = 5;
  const auto inp = randn(size_t(N * K), 1), wt = randn(size_t(M * K), 2), dout = randn(size_t(N * M), 3);
  std::vector<float> dw_rm(size_t(K * M), 0.0f), dw_t(size_t(M * K), 0.0f);
  matmul_backward(nullptr, K, MutMatRef{dw_rm.data(), K, M, M, 1}, nullptr, 1, dout.data(), M,
                  inp.data(), K, MatRef{wt.data(), K, M, 1, K}, N);
  matmul_backward(nullptr, K, MutMatRef{dw_t.data(), K, M, 1, K}, nullptr, 1, dout.data(), M,
                  inp.data(), K, MatRef{wt.data(), K, M, 1, K}, N);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t m = 0; m < M; ++m) EXPECT_FLOAT_EQ(dw_rm[k * M + m], dw_t[m * K + k]);
}

void gradcheck_norm(bool center) {
  const int64_t N = 3, C = 17;
  auto x = randn(size_t(N * C), 11);
  if (!center)
    for (auto& v : x) v += 0.3f;
  const auto R = randn(x.size(), 12);
  auto loss = [&] {
    std::vector<float> y(x.size()), s(static_cast<size_t>(N));
    norm_forward(y.data(), s.data(), x.data(), N, C, 1e-5f, center);
    return dot(y, R);
  };
  std::vector<float> y(x.size()), s(static_cast<size_t>(N));
  norm_forward(y.data(), s.data(), x.data(), N, C, 1e-5f, center);
  const auto dx0 = randn(x.size(), 13);
  auto dx = dx0;
  norm_backward(dx.data(), R.data(), y.data(), s.data(), N, C, center);
  EXPECT_GRAD_OK(gradcheck("dx", x, delta(dx, dx0), loss));
}

TEST(Gradcheck, LayerNorm) { gradcheck_norm(true); }
TEST(Gradcheck, RmsNorm) { gradcheck_norm(false); }

TEST(Gradcheck, NormWithLargeEpsilon) {
  // eps comparable to the variance: the gradient must still be exact.
  const int64_t N = 2, C = 9;
  auto x = randn(size_t(N * C), 14, 0.3f);
  const auto R = randn(x.size(), 15);
  auto loss = [&] {
    std::vector<float> y(x.size()), s(static_cast<size_t>(N));
    norm_forward(y.data(), s.data(), x.data(), N, C, 0.1f, true);
    return dot(y, R);
  };
  std::vector<float> y(x.size()), s(static_cast<size_t>(N)), dx(x.size(), 0.0f);
  norm_forward(y.data(), s.data(), x.data(), N, C, 0.1f, true);
  norm_backward(dx.data(), R.data(), y.data(), s.data(), N, C, true);
  EXPECT_GRAD_OK(gradcheck("dx", x, dx, loss));
}

TEST(Gradcheck, Affine) {
  const int64_t N = 4, C = 11;
  auto x = randn(size_t(N * C), 21), w = randn(size_t(C), 22), b = randn(size_t(C), 23);
  const auto R = randn(x.size(), 24);
  for (bool with_w : {true, false}) {
    auto loss = [&] {
      std::vector<float> out(x.size());
      affine_forward(out.data(), x.data(), with_w ? w.data() : nullptr, b.data(), N, C);
      return dot(out, R);
    };
    const auto dx0 = randn(x.size(), 25), dw0 = randn(w.size(), 26), db0 = randn(b.size(), 27);
    auto dx = dx0, dw = dw0, db = db0;
    affine_backward(dx.data(), with_w ? dw.data() : nullptr, db.data(), R.data(), x.data(),
                    with_w ? w.data() : nullptr, N, C);
    EXPECT_GRAD_OK(gradcheck("dnormalized", x, delta(dx, dx0), loss));
    if (with_w) EXPECT_GRAD_OK(gradcheck("dw", w, delta(dw, dw0), loss));
    EXPECT_GRAD_OK(gradcheck("db", b, delta(db, db0), loss));
  }
}

TEST(Gradcheck, AffineThreadedColumnBlocks) {
  const int64_t N = 64, C = 700;  // several column blocks, threaded
  auto x = randn(size_t(N * C), 28), w = randn(size_t(C), 29);
  const auto R = randn(x.size(), 30);
  std::vector<float> dw(size_t(C), 0.0f), db(size_t(C), 0.0f);
  affine_backward(nullptr, dw.data(), db.data(), R.data(), x.data(), w.data(), N, C);
  for (int64_t c = 0; c < C; c += 13) {
    double sw = 0.0, sb = 0.0;
    for (int64_t n = 0; n < N; ++n) {
      sw += double(R[n * C + c]) * x[n * C + c];
      sb += R[n * C + c];
    }
    EXPECT_NEAR(dw[c], sw, 1e-4) << c;
    EXPECT_NEAR(db[c], sb, 1e-4) << c;
  }
}

void gradcheck_act(Act act, bool gated) {
  const int64_t n = 64;
  auto pre = randn(size_t(n), 31, 2.0f), gate = randn(size_t(n), 32);
  if (act == Act::Relu)  // keep clear of the kink at 0
    for (auto& v : pre) v += v >= 0 ? 0.05f : -0.05f;
  const auto R = randn(size_t(n), 33);
  auto loss = [&] {
    std::vector<float> post(static_cast<size_t>(n));
    act_forward(post.data(), pre.data(), gated ? gate.data() : nullptr, n, act);
    return dot(post, R);
  };
  const auto dpre0 = randn(size_t(n), 34), dgate0 = randn(size_t(n), 35);
  auto dpre = dpre0, dgate = dgate0;
  act_backward(dpre.data(), gated ? dgate.data() : nullptr, R.data(), pre.data(),
               gated ? gate.data() : nullptr, n, act);
  SCOPED_TRACE(testing::Message() << "act " << int(act) << " gated " << gated);
  EXPECT_GRAD_OK(gradcheck("dpre", pre, delta(dpre, dpre0), loss));
  if (gated) EXPECT_GRAD_OK(gradcheck("dgate", gate, delta(dgate, dgate0), loss));
}

TEST(Gradcheck, GeluNew) { gradcheck_act(Act::GeluNew, false); }
TEST(Gradcheck, GeluExact) { gradcheck_act(Act::GeluExact, false); }
TEST(Gradcheck, Silu) { gradcheck_act(Act::Silu, false); }
TEST(Gradcheck, Relu) { gradcheck_act(Act::Relu, false); }
TEST(Gradcheck, GatedSilu) { gradcheck_act(Act::Silu, true); }
TEST(Gradcheck, GatedGeluNew) { gradcheck_act(Act::GeluNew, true); }
TEST(Gradcheck, GatedGeluExactAndRelu) {
  gradcheck_act(Act::GeluExact, true);
  gradcheck_act(Act::Relu, true);
}

TEST(Gradcheck, EmbeddingWithRepeatedIds) {
  const int64_t V = 6, C = 5;
  auto W = randn(size_t(V * C), 41);
  const std::vector<int32_t> ids = {2, 5, 2, 0, 2};
  const int64_t T = int64_t(ids.size());
  const auto R = randn(size_t(T * C), 42);
  auto loss = [&] {
    std::vector<float> out(size_t(T * C));
    embedding_forward(out.data(), ids.data(), W.data(), T, C);
    return dot(out, R);
  };
  const auto dW0 = randn(W.size(), 43);
  auto dW = dW0;
  embedding_backward(dW.data(), R.data(), ids.data(), T, C);
  EXPECT_GRAD_OK(gradcheck("dW", W, delta(dW, dW0), loss));
}

TEST(EmbeddingBackward, ThreadedColumnBlocksSumRepeatedIds) {
  const int64_t V = 3, C = 1500, T = 40;
  std::vector<int32_t> ids(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t) ids[t] = int32_t(t % V);
  const auto dout = randn(size_t(T * C), 44);
  std::vector<float> dW(size_t(V * C), 0.0f);
  embedding_backward(dW.data(), dout.data(), ids.data(), T, C);
  for (int64_t c = 0; c < C; c += 101) {
    double s = 0.0;
    for (int64_t t = 0; t < T; t += V) s += dout[t * C + c];
    EXPECT_NEAR(dW[c], s, 1e-5);
  }
}

TEST(Gradcheck, CrossEntropy) {
  const int64_t N = 4, V = 37;
  auto logits = randn(size_t(N * V), 51, 2.0f);
  const std::vector<int32_t> targets = {3, -100, 36, 0};
  const auto dloss = randn(size_t(N), 52);
  auto loss = [&] {
    std::vector<float> l(static_cast<size_t>(N));
    cross_entropy_forward(l.data(), logits.data(), targets.data(), N, V);
    return dot(l, dloss);
  };
  const auto d0 = randn(logits.size(), 53);
  auto d = d0;
  cross_entropy_backward(d.data(), logits.data(), targets.data(), dloss.data(), N, V);
  EXPECT_GRAD_OK(gradcheck("dlogits", logits, delta(d, d0), loss));
  for (int64_t c = 0; c < V; ++c) EXPECT_EQ(d[V + c], d0[V + c]) << "ignored row got gradient";
}

TEST(CrossEntropyBackward, NullDlossMeansUnitWeight) {
  const auto logits = randn(2 * 5, 54);
  const std::vector<int32_t> targets = {1, 4};
  const std::vector<float> ones = {1.0f, 1.0f};
  std::vector<float> a(10, 0.0f), b(10, 0.0f);
  cross_entropy_backward(a.data(), logits.data(), targets.data(), nullptr, 2, 5);
  cross_entropy_backward(b.data(), logits.data(), targets.data(), ones.data(), 2, 5);
  EXPECT_EQ(a, b);
}

}  // namespace
}  // namespace glassbox::kernels
