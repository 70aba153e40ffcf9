// accuracy, AUROC, R^2 and Pearson (glassbox/features/stats.h) against their
// definitions: AUROC against a brute-force count over all positive/negative pairs.
#include "glassbox/features/stats.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "glassbox/error.h"

using namespace glassbox;
using namespace glassbox::features;

namespace {

double brute_auroc(const std::vector<double>& s, const std::vector<uint8_t>& pos) {
  double wins = 0, pairs = 0;
  for (size_t i = 0; i < s.size(); ++i)
    for (size_t j = 0; j < s.size(); ++j)
      if (pos[i] && !pos[j]) {
        pairs += 1;
        wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
      }
  return wins / pairs;
}

TEST(Statistics, AurocMatchesPairwiseCountWithTies) {
  std::mt19937_64 rng(10);
  for (int trial = 0; trial < 20; ++trial) {
    const size_t n = 5 + rng() % 60;
    std::vector<double> s(n);
    std::vector<uint8_t> pos(n);
    for (size_t i = 0; i < n; ++i) {
      pos[i] = rng() % 3 == 0;
      s[i] = double(rng() % 7) + (pos[i] ? 1.0 : 0.0);  // many ties
    }
    pos[0] = 1, pos[1] = 0;
    EXPECT_NEAR(auroc(s.data(), pos.data(), int64_t(n)), brute_auroc(s, pos), 1e-12) << "trial " << trial;
    std::vector<double> p, q;  // the two-group form gives the same number
    for (size_t i = 0; i < n; ++i) (pos[i] ? p : q).push_back(s[i]);
    EXPECT_NEAR(auroc(p, q), brute_auroc(s, pos), 1e-12) << "trial " << trial;
  }
  const std::vector<double> s = {1, 2};
  const std::vector<uint8_t> all = {1, 1};
  EXPECT_TRUE(std::isnan(auroc(s.data(), all.data(), 2)));
}

TEST(Statistics, PearsonAndAurocMatchTheirDefinitions) {
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {2, 4, 6, 8}), 1.0, 1e-12);
  EXPECT_NEAR(pearson({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  EXPECT_NEAR(pearson({1, 2, 3}, {1, 3, 2}), 0.5, 1e-12);
  EXPECT_EQ(pearson({1, 1, 1}, {1, 2, 3}), 0.0);
  EXPECT_THROW(pearson({1}, {1, 2}), Error);
  // P(pos > neg) over the 6 pairs: (3>1, 3>2, 3=3 half), (5>all): 2.5 + 3 = 5.5 of 6.
  EXPECT_NEAR(auroc({3, 5}, {1, 2, 3}), 5.5 / 6, 1e-12);
  EXPECT_EQ(auroc({1, 2}, {}), 0.5);
  EXPECT_EQ(auroc({0, 0}, {0}), 0.5);
}

TEST(Statistics, AccuracyAndRSquared) {
  const std::vector<int32_t> pred = {0, 1, 1, 2}, y = {0, 1, 2, 2};
  EXPECT_DOUBLE_EQ(accuracy(pred.data(), y.data(), 4), 0.75);
  EXPECT_TRUE(std::isnan(accuracy(pred.data(), y.data(), 0)));
  const std::vector<double> t = {1, 2, 3}, p = {1, 2, 4}, c = {2, 2, 2};
  EXPECT_DOUBLE_EQ(r_squared(p.data(), t.data(), 3), 0.5);  // SSE 1, SST 2
  EXPECT_TRUE(std::isnan(r_squared(p.data(), c.data(), 3)));
}

}  // namespace
