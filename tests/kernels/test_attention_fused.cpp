// The tiled attention kernels (attention_fused.cpp) against two independent
// references: a naive double-precision attention written here, and the BLAS
// kernels (attn_scores_forward -> softmax_forward -> attn_z_forward), which
// must agree with them to float rounding on every shape the engine hands
// them: causal and KV-cache offsets, GQA, padded keys, strided rows, d_head
// not a multiple of 16, blocks of queries that do not fill the 32 lanes. And
// the step-wise kernels (attn_tiled_*) must give the fused kernel's z bit for
// bit: the engine relies on it for hooked and plain passes to agree exactly.
#include <glassbox/error.h>

#include <cstring>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

struct Case {
  int64_t Tq, Tk, q_offset, Hq, Hkv, dh;
  int64_t ldq, ldk, ldv, ldz;
  std::vector<uint8_t> key_valid;  // empty: all valid
};

size_t span(int64_t T, int64_t ld, int64_t width) { return size_t((T - 1) * ld + width); }

// softmax(mask(q.k * scale)) v in double, one query at a time.
std::vector<double> naive_attention(const Case& c, const std::vector<float>& q, const std::vector<float>& k,
                                    const std::vector<float>& v, double scale) {
  std::vector<double> z(size_t(c.Tq * c.ldz), 0.0);
  const int64_t g = c.Hq / c.Hkv;
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.Tq; ++i) {
      std::vector<double> s(size_t(c.Tk), -INFINITY);
      double mx = -INFINITY;
      for (int64_t j = 0; j < c.Tk; ++j) {
        if (j > c.q_offset + i || (!c.key_valid.empty() && !c.key_valid[size_t(j)])) continue;
        double dot = 0.0;
        for (int64_t d = 0; d < c.dh; ++d)
          dot += double(q[size_t(i * c.ldq + h * c.dh + d)]) * k[size_t(j * c.ldk + (h / g) * c.dh + d)];
        s[size_t(j)] = dot * scale;
        mx = std::max(mx, s[size_t(j)]);
      }
      if (mx == -INFINITY) continue;  // nothing visible: z = 0
      double sum = 0.0;
      for (double& x : s) sum += (x = std::exp(x - mx));
      for (int64_t d = 0; d < c.dh; ++d) {
        double acc = 0.0;
        for (int64_t j = 0; j < c.Tk; ++j) acc += s[size_t(j)] * v[size_t(j * c.ldv + (h / g) * c.dh + d)];
        z[size_t(i * c.ldz + h * c.dh + d)] = acc / sum;
      }
    }
  return z;
}

void check(const Case& c, uint32_t seed = 1) {
  const auto q = randn(span(c.Tq, c.ldq, c.Hq * c.dh), seed), k = randn(span(c.Tk, c.ldk, c.Hkv * c.dh), seed + 1),
             v = randn(span(c.Tk, c.ldv, c.Hkv * c.dh), seed + 2);
  const float scale = 1.0f / std::sqrt(float(c.dh));
  const uint8_t* kv = c.key_valid.empty() ? nullptr : c.key_valid.data();
  std::vector<float> z(size_t(c.Tq * c.ldz), 7.0f);
  attn_fused_forward(z.data(), c.ldz, q.data(), c.ldq, k.data(), c.ldk, v.data(), c.ldv, kv, c.Tq, c.Tk, c.q_offset,
                     c.Hq, c.Hkv, c.dh, scale);
  // The materialised path, as the engine runs it with hooks on scores / pattern.
  std::vector<float> scores(size_t(c.Hq * c.Tq * c.Tk)), zm(size_t(c.Tq * c.ldz), 7.0f);
  attn_scores_forward(scores.data(), q.data(), c.ldq, k.data(), c.ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq, c.Hkv, c.dh,
                      scale);
  softmax_forward(scores.data(), scores.data(), c.Hq * c.Tq, c.Tk);
  attn_z_forward(zm.data(), c.ldz, scores.data(), v.data(), c.ldv, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
  // The step-wise tiled kernels: scores and pattern as the BLAS ones, z as the fused one, exactly.
  std::vector<float> st(scores.size(), 3.0f), pt(scores.size(), 3.0f), zt(size_t(c.Tq * c.ldz), 7.0f);
  std::vector<float> sref(scores.size());
  attn_scores_forward(sref.data(), q.data(), c.ldq, k.data(), c.ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq, c.Hkv, c.dh,
                      scale);
  attn_tiled_scores(st.data(), q.data(), c.ldq, k.data(), c.ldk, kv, c.Tq, c.Tk, c.q_offset, c.Hq, c.Hkv, c.dh, scale);
  for (size_t i = 0; i < st.size(); ++i) {
    if (std::isinf(sref[i])) ASSERT_EQ(st[i], -INFINITY) << "score " << i << " should be masked";
    else ASSERT_NEAR(st[i], sref[i], 1e-5) << "score " << i;
  }
  attn_tiled_softmax(pt.data(), st.data(), c.Hq * c.Tq, c.Tk);
  for (size_t i = 0; i < pt.size(); ++i) ASSERT_NEAR(pt[i], scores[i], 1e-6) << "pattern " << i;
  attn_tiled_z(zt.data(), c.ldz, pt.data(), v.data(), c.ldv, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
  ASSERT_EQ(std::memcmp(zt.data(), z.data(), z.size() * sizeof(float)), 0) << "step-wise z differs from fused z";
  const auto ref = naive_attention(c, q, k, v, scale);
  for (int64_t i = 0; i < c.Tq; ++i) {
    for (int64_t d = 0; d < c.Hq * c.dh; ++d) {
      const size_t at = size_t(i * c.ldz + d);
      ASSERT_NEAR(z[at], ref[at], 2e-5) << "query " << i << " column " << d;
      ASSERT_NEAR(z[at], zm[at], 2e-5) << "query " << i << " column " << d << " (materialised kernels)";
    }
    for (int64_t d = c.Hq * c.dh; d < c.ldz; ++d) ASSERT_EQ(z[size_t(i * c.ldz + d)], 7.0f) << "padding written";
  }
}

// GPT-2-like heads (d_head 64), more queries than one block, the last block partial.
TEST(AttentionFused, CausalMatchesNaiveAndMaterialised) { check({77, 77, 0, 3, 3, 64, 192, 192, 192, 192, {}}); }
// q, k, v as slices of one fused QKV row (row strides wider than the heads).
TEST(AttentionFused, StridedRowsOfAFusedProjection) { check({40, 40, 0, 2, 2, 32, 200, 200, 200, 70, {}}); }
// Grouped-query heads, and a KV cache: queries start at position 9 of 50 keys.
TEST(AttentionFused, GqaWithKvCacheOffset) { check({41, 50, 9, 6, 2, 16, 96, 32, 40, 96, {}}); }
// d_head not a multiple of 16 (vector tail) nor of 64 (z tile tail): 80, 40, 5.
TEST(AttentionFused, OddHeadSizes) {
  check({35, 35, 0, 2, 1, 80, 160, 80, 80, 160, {}});
  check({33, 33, 0, 3, 3, 40, 120, 120, 120, 120, {}}, 5);
  check({9, 9, 0, 4, 2, 5, 20, 10, 10, 20, {}}, 9);
}
// Left padding: the first keys invalid; queries that see only padding get z = 0.
TEST(AttentionFused, PaddedKeysAndFullyMaskedQueries) {
  Case c{36, 36, 0, 2, 2, 16, 32, 32, 32, 32, {}};
  c.key_valid.assign(36, 1);
  for (int j : {0, 1, 2, 17, 34}) c.key_valid[size_t(j)] = 0;
  check(c);
}
// One query (a decode step) and a single key.
TEST(AttentionFused, SingleQueryAndSingleKey) {
  check({1, 30, 29, 4, 4, 8, 32, 32, 32, 32, {}});
  check({1, 1, 0, 2, 2, 8, 16, 16, 16, 16, {}});
}
// Large scores (sharp softmax): max-shifting keeps exp finite.
TEST(AttentionFused, SharpSoftmaxStaysFinite) {
  const Case c{33, 33, 0, 1, 1, 16, 16, 16, 16, 16, {}};
  auto q = randn(span(c.Tq, c.ldq, 16), 3, 30.0f), k = randn(span(c.Tk, c.ldk, 16), 4, 30.0f),
       v = randn(span(c.Tk, c.ldv, 16), 5);
  std::vector<float> z(size_t(c.Tq * c.ldz));
  attn_fused_forward(z.data(), c.ldz, q.data(), c.ldq, k.data(), c.ldk, v.data(), c.ldv, nullptr, c.Tq, c.Tk, 0, 1, 1,
                     16, 0.25f);
  const auto ref = naive_attention(c, q, k, v, 0.25);
  for (size_t i = 0; i < z.size(); ++i) ASSERT_NEAR(z[i], ref[i], 1e-4) << i;
}

// A hook may replace the pattern with weight past the causal limit: the
// step-wise z reads every key, as attn_z_forward does.
TEST(AttentionFused, TiledZReadsEveryKeyOfAReplacedPattern) {
  const int64_t T = 37, H = 2, dh = 16;
  const auto p = randu(size_t(H * T * T), 8, 0.0f, 1.0f), v = randn(size_t(T * H * dh), 9);
  std::vector<float> z(size_t(T * H * dh)), zr(z.size());
  attn_tiled_z(z.data(), H * dh, p.data(), v.data(), H * dh, T, T, H, H, dh);
  attn_z_forward(zr.data(), H * dh, p.data(), v.data(), H * dh, T, T, H, H, dh);
  EXPECT_LT(max_abs_diff(z, zr), 1e-4);
}

// Rows that are all -inf (a padded query) become zeros, as softmax_forward makes them.
TEST(AttentionFused, TiledSoftmaxOfAFullyMaskedRowIsZero) {
  std::vector<float> s = randn(3 * 40, 10), p(s.size(), 5.0f), ref(s.size());
  for (int j = 0; j < 40; ++j) s[size_t(40 + j)] = -INFINITY;
  attn_tiled_softmax(p.data(), s.data(), 3, 40);
  softmax_forward(ref.data(), s.data(), 3, 40);
  for (size_t i = 0; i < p.size(); ++i) ASSERT_NEAR(p[i], ref[i], 1e-6) << i;
  for (int j = 0; j < 40; ++j) ASSERT_EQ(p[size_t(40 + j)], 0.0f);
}

TEST(AttentionFused, RejectsBadShapes) {
  std::vector<float> z(64), q(64), k(64), v(64);
  EXPECT_THROW(attn_fused_forward(z.data(), 12, q.data(), 12, k.data(), 8, v.data(), 8, nullptr, 1, 1, 0, 3, 2, 4,
                                  1.0f),
               glassbox::Error);
  EXPECT_THROW(attn_fused_forward(z.data(), 4, q.data(), 4, k.data(), 8, v.data(), 8, nullptr, 2, 2, 0, 2, 2, 4, 1.0f),
               glassbox::Error);  // ldq 4 < 2 heads * 4
}

}  // namespace
}  // namespace glassbox::kernels
