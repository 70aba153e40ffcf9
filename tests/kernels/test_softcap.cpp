// Gemma-2's score modifiers: softcap_forward / softcap_backward against the
// formula in double and a finite-difference gradcheck; and ScoreMods (cap +
// sliding window) in the three score kernels against a naive reference, with
// the fused kernel's z still equal BIT FOR BIT to the step-wise kernels'.
#include <glassbox/error.h>

#include <cstring>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

TEST(Softcap, ForwardIsCTanhXOverC) {
  std::vector<float> x = randn(300, 3, 20.0f);
  const std::vector<float> x0 = x;
  softcap_forward(x.data(), int64_t(x.size()), 7.5f);
  for (size_t i = 0; i < x.size(); ++i) {
    const double want = 7.5 * std::tanh(double(x0[i]) / 7.5);
    EXPECT_NEAR(x[i], want, 2e-6 * 7.5) << i;
    EXPECT_LE(std::fabs(x[i]), 7.5f);
  }
  EXPECT_THROW(softcap_forward(x.data(), 1, 0.f), Error);
  EXPECT_THROW(softcap_backward(x.data(), x.data(), 1, -1.f), Error);
}

TEST(Softcap, BackwardMatchesFiniteDifferencesAndZeroesMaskedEntries) {
  const float cap = 3.0f;
  std::vector<float> x = randn(200, 4, 4.0f);
  const std::vector<float> r = randn(200, 5);
  auto capped = [&] {
    std::vector<float> y = x;
    softcap_forward(y.data(), int64_t(y.size()), cap);
    return y;
  };
  std::vector<float> g = r;  // d(sum(y * r))/dx = r * (1 - (y / c)^2)
  softcap_backward(g.data(), capped().data(), int64_t(g.size()), cap);
  const GradReport rep = gradcheck("softcap", x, g, [&] { return dot(capped(), r); });
  EXPECT_TRUE(rep.ok) << rep;
  std::vector<float> d = {1.f, 2.f}, y = {-INFINITY, 0.f};
  softcap_backward(d.data(), y.data(), 2, cap);
  EXPECT_EQ(d[0], 0.f);  // a masked score has no gradient (and no NaN)
  EXPECT_EQ(d[1], 2.f);
}

struct Mods {
  int64_t Tq, Tk, q_offset, Hq, Hkv, dh;
  ScoreMods mods;
  std::vector<uint8_t> key_valid;  // empty: all valid
};

// Scores in double: cap * tanh(q.k * scale / cap), then causal, window and padding masks.
std::vector<double> naive_scores(const Mods& c, const std::vector<float>& q, const std::vector<float>& k,
                                 double scale) {
  std::vector<double> s(size_t(c.Hq * c.Tq * c.Tk), -INFINITY);
  const int64_t g = c.Hq / c.Hkv;
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.Tq; ++i)
      for (int64_t j = 0; j < c.Tk; ++j) {
        const int64_t p = c.q_offset + i;
        if (j > p || (c.mods.window > 0 && j <= p - c.mods.window)) continue;
        if (!c.key_valid.empty() && !c.key_valid[size_t(j)]) continue;
        double dot = 0;
        for (int64_t d = 0; d < c.dh; ++d)
          dot += double(q[size_t((i * c.Hq + h) * c.dh + d)]) * k[size_t((j * c.Hkv + h / g) * c.dh + d)];
        double x = dot * scale;
        if (c.mods.softcap > 0) x = c.mods.softcap * std::tanh(x / c.mods.softcap);
        s[size_t((h * c.Tq + i) * c.Tk + j)] = x;
      }
  return s;
}

void check_mods(const Mods& c) {
  SCOPED_TRACE("Tq " + std::to_string(c.Tq) + " Tk " + std::to_string(c.Tk) + " window " +
               std::to_string(c.mods.window) + " cap " + std::to_string(c.mods.softcap));
  const auto q = randn(size_t(c.Tq * c.Hq * c.dh), 11, 2.0f), k = randn(size_t(c.Tk * c.Hkv * c.dh), 12, 2.0f),
             v = randn(size_t(c.Tk * c.Hkv * c.dh), 13);
  const float scale = 0.3f;
  const uint8_t* kv = c.key_valid.empty() ? nullptr : c.key_valid.data();
  const int64_t ldq = c.Hq * c.dh, ldk = c.Hkv * c.dh;
  const std::vector<double> want = naive_scores(c, q, k, scale);
  std::vector<float> blas(want.size()), tiled(want.size());
  attn_scores_forward(blas.data(), q.data(), ldq, k.data(), ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq, c.Hkv, c.dh, scale,
                      c.mods);
  attn_tiled_scores(tiled.data(), q.data(), ldq, k.data(), ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq, c.Hkv, c.dh, scale,
                    c.mods);
  int masked = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isinf(want[i])) {
      ++masked;
      ASSERT_EQ(blas[i], -INFINITY) << i;
      ASSERT_EQ(tiled[i], -INFINITY) << i;
    } else {
      ASSERT_NEAR(blas[i], want[i], 1e-5) << i;
      ASSERT_NEAR(tiled[i], want[i], 1e-5) << i;
    }
  }
  EXPECT_GT(masked, 0);
  // z: fused == step-wise tiled, bit for bit; both == the BLAS path to rounding.
  std::vector<float> zf(size_t(c.Tq * ldq)), zt(zf.size()), zb(zf.size()), pat(want.size());
  attn_fused_forward(zf.data(), ldq, q.data(), ldq, k.data(), ldk, v.data(), ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq,
                     c.Hkv, c.dh, scale, c.mods);
  attn_tiled_softmax(pat.data(), tiled.data(), c.Hq * c.Tq, c.Tk);
  attn_tiled_z(zt.data(), ldq, pat.data(), v.data(), ldk, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
  EXPECT_EQ(std::memcmp(zf.data(), zt.data(), zf.size() * sizeof(float)), 0);
  softmax_forward(blas.data(), blas.data(), c.Hq * c.Tq, c.Tk);
  attn_z_forward(zb.data(), ldq, blas.data(), v.data(), ldk, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
  EXPECT_LT(max_abs_diff(zf, zb), 1e-5);
}

TEST(ScoreMods, CapAndSlidingWindowInEveryScoreKernel) {
  check_mods({12, 12, 0, 4, 2, 16, {5.f, 4}, {}});                  // prompt, window 4
  check_mods({70, 70, 0, 2, 1, 20, {2.f, 33}, {}});                 // several 32-query blocks, odd d_head
  check_mods({3, 40, 37, 2, 2, 8, {0.f, 5}, {}});                   // KV-cache offset, window only
  check_mods({1, 9, 8, 4, 4, 8, {3.f, 4}, {1, 1, 1, 1, 1, 1, 0, 1, 1}});  // a decode step, a padded key
  check_mods({40, 40, 0, 2, 2, 16, {4.f, 0}, {}});                  // cap only
}

// The cap's backward through the scores kernels: d(sum(capped scores * r))
// wrt q by finite differences, against softcap_backward + attn_scores_backward.
TEST(ScoreMods, CappedScoresGradcheck) {
  const Mods c{6, 6, 0, 2, 1, 8, {1.5f, 3}, {}};
  std::vector<float> q = randn(size_t(c.Tq * c.Hq * c.dh), 21, 1.5f);
  const std::vector<float> k = randn(size_t(c.Tk * c.Hkv * c.dh), 22, 1.5f);
  const std::vector<float> r = randn(size_t(c.Hq * c.Tq * c.Tk), 23);
  const float scale = 0.5f;
  auto scores = [&] {
    std::vector<float> s(r.size());
    attn_scores_forward(s.data(), q.data(), c.Hq * c.dh, k.data(), c.Hkv * c.dh, nullptr, c.Tq, c.Tk, 0, c.Hq, c.Hkv,
                        c.dh, scale, c.mods);
    return s;
  };
  auto loss = [&] {
    const std::vector<float> s = scores();
    double sum = 0;
    for (size_t i = 0; i < s.size(); ++i)
      if (std::isfinite(s[i])) sum += double(s[i]) * r[i];
    return sum;
  };
  const std::vector<float> s = scores();
  std::vector<float> ds(r.size());
  for (size_t i = 0; i < ds.size(); ++i) ds[i] = std::isfinite(s[i]) ? r[i] : 0.f;
  softcap_backward(ds.data(), s.data(), int64_t(ds.size()), c.mods.softcap);
  std::vector<float> dq(q.size(), 0.f);
  attn_scores_backward(dq.data(), c.Hq * c.dh, nullptr, 0, ds.data(), q.data(), c.Hq * c.dh, k.data(), c.Hkv * c.dh,
                       c.Tq, c.Tk, c.Hq, c.Hkv, c.dh, scale);
  const GradReport rep = gradcheck("capped scores wrt q", q, dq, loss);
  EXPECT_TRUE(rep.ok) << rep;
}

}  // namespace
}  // namespace glassbox::kernels
