#include <glassbox/error.h>

#include "kernels/kernel_test_util.h"
#include "kernels/kernels.h"

namespace glassbox::kernels {
namespace {
using namespace test;

struct Case {
  int64_t Tq, Tk, q_offset, Hq, Hkv, dh;
  int64_t ldq, ldk, ldv, ldz;  // row strides, >= H * dh
  std::vector<uint8_t> key_valid;  // empty: all valid
};

// Elements spanned by T rows of `width` floats at row stride ld (ld may be 0 when T == 1).
size_t span(int64_t T, int64_t ld, int64_t width) { return size_t((T - 1) * ld + width); }

std::vector<double> naive_scores(const Case& c, const std::vector<float>& q,
                                 const std::vector<float>& k, double scale) {
  std::vector<double> s(size_t(c.Hq * c.Tq * c.Tk));
  const int64_t g = c.Hq / c.Hkv;
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.Tq; ++i)
      for (int64_t j = 0; j < c.Tk; ++j) {
        double v = 0.0;
        for (int64_t d = 0; d < c.dh; ++d)
          v += double(q[i * c.ldq + h * c.dh + d]) * k[j * c.ldk + (h / g) * c.dh + d];
        const bool masked = j > c.q_offset + i || (!c.key_valid.empty() && !c.key_valid[j]);
        s[(h * c.Tq + i) * c.Tk + j] = masked ? -INFINITY : v * scale;
      }
  return s;
}

std::vector<double> naive_z(const Case& c, const std::vector<float>& p, const std::vector<float>& v) {
  std::vector<double> z(size_t(c.Tq * c.ldz), 0.0);
  const int64_t g = c.Hq / c.Hkv;
  for (int64_t h = 0; h < c.Hq; ++h)
    for (int64_t i = 0; i < c.Tq; ++i)
      for (int64_t d = 0; d < c.dh; ++d) {
        double s = 0.0;
        for (int64_t j = 0; j < c.Tk; ++j)
          s += double(p[(h * c.Tq + i) * c.Tk + j]) * v[j * c.ldv + (h / g) * c.dh + d];
        z[i * c.ldz + h * c.dh + d] = s;
      }
  return z;
}

void check_scores(const Case& c) {
  const auto q = randn(span(c.Tq, c.ldq, c.Hq * c.dh), 31),
             k = randn(span(c.Tk, c.ldk, c.Hkv * c.dh), 32);
  const float scale = 1.0f / std::sqrt(float(c.dh));
  std::vector<float> s(size_t(c.Hq * c.Tq * c.Tk), 5.0f);
  attn_scores_forward(s.data(), q.data(), c.ldq, k.data(), c.ldk,
                      c.key_valid.empty() ? nullptr : c.key_valid.data(), c.Tq, c.Tk, c.q_offset,
                      c.Hq, c.Hkv, c.dh, scale);
  const auto ref = naive_scores(c, q, k, scale);
  for (size_t i = 0; i < ref.size(); ++i) {
    if (std::isinf(ref[i]))
      ASSERT_EQ(s[i], -INFINITY) << "entry " << i << " should be masked";
    else
      ASSERT_NEAR(s[i], ref[i], 1e-5) << "entry " << i;
  }
}

void check_z(const Case& c) {
  auto p = randu(size_t(c.Hq * c.Tq * c.Tk), 33, 0.0f, 1.0f);
  const auto v = randn(span(c.Tk, c.ldv, c.Hkv * c.dh), 34);
  std::vector<float> z(size_t(c.Tq * c.ldz), 8.0f);
  attn_z_forward(z.data(), c.ldz, p.data(), v.data(), c.ldv, c.Tq, c.Tk, c.Hq, c.Hkv, c.dh);
  const auto ref = naive_z(c, p, v);
  for (int64_t i = 0; i < c.Tq; ++i) {
    for (int64_t d = 0; d < c.Hq * c.dh; ++d)
      ASSERT_NEAR(z[i * c.ldz + d], ref[i * c.ldz + d], 1e-4) << "i=" << i << " d=" << d;
    for (int64_t d = c.Hq * c.dh; d < c.ldz; ++d) ASSERT_EQ(z[i * c.ldz + d], 8.0f);
  }
}

// Fused-QKV-like strides: q, k, v are interleaved slices of wider rows.
Case mha() { return {7, 7, 0, 3, 3, 8, 72, 72, 72, 24, {}}; }
Case gqa_kv_cache() { return {3, 10, 7, 6, 2, 4, 40, 13, 9, 27, {}}; }

TEST(Attention, ScoresMatchNaiveWithCausalMask) { check_scores(mha()); }
TEST(Attention, ScoresGqaKvCacheMatchNaive) { check_scores(gqa_kv_cache()); }
TEST(Attention, ScoresSingleQueryDecodeStep) { check_scores({1, 9, 8, 4, 1, 5, 0, 5, 5, 20, {}}); }
TEST(Attention, KeyMaskSetsMinusInfinity) {
  Case c = gqa_kv_cache();
  c.key_valid = {0, 1, 1, 0, 1, 1, 1, 1, 0, 1};
  check_scores(c);
}
TEST(Attention, LeftPaddedQueryRowIsFullyMasked) {
  Case c = mha();
  c.key_valid = {0, 0, 1, 1, 1, 1, 1};
  check_scores(c);  // rows 0 and 1 are all -inf; softmax turns them into zeros
}
TEST(Attention, LargeScoresMatchNaive) { check_scores({70, 70, 0, 4, 2, 16, 96, 64, 64, 64, {}}); }

TEST(Attention, ZMatchesNaive) { check_z(mha()); }
TEST(Attention, ZGqaKvCacheMatchesNaive) { check_z(gqa_kv_cache()); }
TEST(Attention, ZSingleQueryMatchesNaive) { check_z({1, 9, 8, 4, 1, 5, 0, 5, 5, 20, {}}); }

TEST(Attention, RejectsHeadCountsThatDoNotGroup) {
  std::vector<float> s(64), q(64), k(64);
  EXPECT_THROW(attn_scores_forward(s.data(), q.data(), 12, k.data(), 8, nullptr, 1, 1, 0, 3, 2, 4,
                                   1.0f),
               glassbox::Error);
}

}  // namespace
}  // namespace glassbox::kernels
