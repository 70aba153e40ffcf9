// Finite-difference gradchecks of the sequence ops: rotary, attention
// scores, softmax, z, and the three composed with masks, GQA and a KV cache.
#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

size_t span(int64_t T, int64_t ld, int64_t width) { return size_t((T - 1) * ld + width); }

TEST(Gradcheck, RopePartialRotaryWithPaddedRows) {
  const int64_t T = 4, H = 2, dh = 10, rot = 6, ld = H * dh + 3;
  auto x = randn(size_t(T * ld), 61);
  const std::vector<int32_t> pos = {0, 3, 4, 250};
  auto R = randn(x.size(), 62);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t c = H * dh; c < ld; ++c) R[t * ld + c] = 0.0f;
  auto loss = [&] {
    std::vector<float> out(x.size(), 0.0f);
    rope_forward(out.data(), x.data(), ld, pos.data(), T, H, dh, rot, 10000.0f);
    return dot(out, R);
  };
  const auto dx0 = randn(x.size(), 63);
  auto dx = dx0;
  rope_backward(dx.data(), R.data(), ld, pos.data(), T, H, dh, rot, 10000.0f);
  EXPECT_GRAD_OK(gradcheck("dx", x, delta(dx, dx0), loss));
}

struct AttnCase {
  int64_t Tq, Tk, q_offset, Hq, Hkv, dh, ldq, ldk, ldv, ldz;
  std::vector<uint8_t> key_valid;
  const uint8_t* mask() const { return key_valid.empty() ? nullptr : key_valid.data(); }
};
AttnCase mha() { return {5, 5, 0, 2, 2, 4, 8 + 3, 8, 8 + 1, 8 + 2, {}}; }
AttnCase gqa_cache() { return {2, 6, 4, 4, 2, 3, 12 + 1, 6 + 2, 6, 12, {1, 0, 1, 1, 1, 1}}; }

void gradcheck_scores(const AttnCase& c) {
  auto q = randn(span(c.Tq, c.ldq, c.Hq * c.dh), 71), k = randn(span(c.Tk, c.ldk, c.Hkv * c.dh), 72);
  const float scale = 0.7f;
  const size_t ns = size_t(c.Hq * c.Tq * c.Tk);
  std::vector<float> s(ns);
  attn_scores_forward(s.data(), q.data(), c.ldq, k.data(), c.ldk, c.mask(), c.Tq, c.Tk, c.q_offset,
                      c.Hq, c.Hkv, c.dh, scale);
  auto R = randn(ns, 73);
  for (size_t i = 0; i < ns; ++i)  // masked scores are constant -inf: no loss there
    if (std::isinf(s[i])) R[i] = 0.0f;
  auto loss = [&] {
    std::vector<float> out(ns);
    attn_scores_forward(out.data(), q.data(), c.ldq, k.data(), c.ldk, c.mask(), c.Tq, c.Tk,
                        c.q_offset, c.Hq, c.Hkv, c.dh, scale);
    double l = 0.0;
    for (size_t i = 0; i < ns; ++i)
      if (R[i] != 0.0f) l += double(out[i]) * R[i];
    return l;
  };
  const auto dq0 = randn(q.size(), 74), dk0 = randn(k.size(), 75);
  auto dq = dq0, dk = dk0;
  attn_scores_backward(dq.data(), c.ldq, dk.data(), c.ldk, R.data(), q.data(), c.ldq, k.data(),
                       c.ldk, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh, scale);
  EXPECT_GRAD_OK(gradcheck("dq", q, delta(dq, dq0), loss));
  EXPECT_GRAD_OK(gradcheck("dk", k, delta(dk, dk0), loss));
}

TEST(Gradcheck, AttnScoresCausal) { gradcheck_scores(mha()); }
TEST(Gradcheck, AttnScoresGqaKvCacheKeyMask) { gradcheck_scores(gqa_cache()); }

void gradcheck_z(const AttnCase& c) {
  auto p = randu(size_t(c.Hq * c.Tq * c.Tk), 81, 0.0f, 1.0f);
  auto v = randn(span(c.Tk, c.ldv, c.Hkv * c.dh), 82);
  const size_t nz = span(c.Tq, c.ldz, c.Hq * c.dh);
  auto R = randn(nz, 83);
  for (int64_t i = 0; i < c.Tq; ++i)
    for (int64_t d = c.Hq * c.dh; d < c.ldz && size_t(i * c.ldz + d) < nz; ++d) R[i * c.ldz + d] = 0.0f;
  auto loss = [&] {
    std::vector<float> z(nz, 0.0f);
    attn_z_forward(z.data(), c.ldz, p.data(), v.data(), c.ldv, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
    return dot(z, R);
  };
  const auto dp0 = randn(p.size(), 84), dv0 = randn(v.size(), 85);
  auto dp = dp0, dv = dv0;
  attn_z_backward(dp.data(), dv.data(), c.ldv, R.data(), c.ldz, p.data(), v.data(), c.ldv, c.Tq,
                  c.Tk, c.Hq, c.Hkv, c.dh);
  EXPECT_GRAD_OK(gradcheck("dpattern", p, delta(dp, dp0), loss));
  EXPECT_GRAD_OK(gradcheck("dv", v, delta(dv, dv0), loss));
}

TEST(Gradcheck, AttnZ) { gradcheck_z(mha()); }
TEST(Gradcheck, AttnZGqaKvCache) { gradcheck_z(gqa_cache()); }

TEST(Gradcheck, SoftmaxWithMaskedEntriesAndMaskedRow) {
  const int64_t rows = 4, cols = 7;
  auto x = randn(size_t(rows * cols), 91, 2.0f);
  x[2] = x[5] = -INFINITY;                         // masked keys
  for (int64_t c = 0; c < cols; ++c) x[3 * cols + c] = -INFINITY;  // fully masked row
  const auto R = randn(x.size(), 92);
  auto loss = [&] {
    std::vector<float> y(x.size());
    softmax_forward(y.data(), x.data(), rows, cols);
    return dot(y, R);
  };
  std::vector<float> y(x.size());
  softmax_forward(y.data(), x.data(), rows, cols);
  const auto d0 = randn(x.size(), 93);
  auto d = d0;
  softmax_backward(d.data(), R.data(), y.data(), rows, cols);
  const auto g = delta(d, d0);
  EXPECT_GRAD_OK(gradcheck("din", x, g, loss));
  EXPECT_EQ(g[2], 0.0f);
  for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(g[3 * cols + c], 0.0f);
}

// q, k, v -> scores -> softmax -> z, as the engine chains them.
void gradcheck_attention(const AttnCase& c) {
  auto q = randn(span(c.Tq, c.ldq, c.Hq * c.dh), 101), k = randn(span(c.Tk, c.ldk, c.Hkv * c.dh), 102);
  auto v = randn(span(c.Tk, c.ldv, c.Hkv * c.dh), 103);
  const size_t ns = size_t(c.Hq * c.Tq * c.Tk), nz = size_t(c.Tq * c.ldz);
  const float scale = 1.0f / std::sqrt(float(c.dh));
  const auto R = randn(nz, 104);
  std::vector<float> s(ns), p(ns), z(nz);
  auto forward = [&] {
    attn_scores_forward(s.data(), q.data(), c.ldq, k.data(), c.ldk, c.mask(), c.Tq, c.Tk,
                        c.q_offset, c.Hq, c.Hkv, c.dh, scale);
    softmax_forward(p.data(), s.data(), c.Hq * c.Tq, c.Tk);
    std::fill(z.begin(), z.end(), 0.0f);
    attn_z_forward(z.data(), c.ldz, p.data(), v.data(), c.ldv, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
    return dot(z, R);
  };
  forward();
  std::vector<float> dp(ns, 0.0f), ds(ns, 0.0f), dq(q.size(), 0.0f), dk(k.size(), 0.0f),
      dv(v.size(), 0.0f);
  attn_z_backward(dp.data(), dv.data(), c.ldv, R.data(), c.ldz, p.data(), v.data(), c.ldv, c.Tq,
                  c.Tk, c.Hq, c.Hkv, c.dh);
  softmax_backward(ds.data(), dp.data(), p.data(), c.Hq * c.Tq, c.Tk);
  attn_scores_backward(dq.data(), c.ldq, dk.data(), c.ldk, ds.data(), q.data(), c.ldq, k.data(),
                       c.ldk, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh, scale);
  EXPECT_GRAD_OK(gradcheck("dq", q, dq, forward));
  EXPECT_GRAD_OK(gradcheck("dk", k, dk, forward));
  EXPECT_GRAD_OK(gradcheck("dv", v, dv, forward));
}

TEST(Gradcheck, AttentionPipelineCausal) { gradcheck_attention(mha()); }
TEST(Gradcheck, AttentionPipelineGqaKvCacheKeyMask) { gradcheck_attention(gqa_cache()); }
TEST(Gradcheck, AttentionPipelineLeftPaddedRowsGetNoGradient) {
  AttnCase c = mha();
  c.key_valid = {0, 0, 1, 1, 1};  // queries 0 and 1 see no key at all
  gradcheck_attention(c);
}

}  // namespace
}  // namespace glassbox::kernels
