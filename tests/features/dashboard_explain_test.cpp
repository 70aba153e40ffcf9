#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"

using namespace glassbox;
using namespace glassbox::features;

namespace {

// A feature that fires on one token wherever it occurs.
FeatureExamples fires_on(int64_t id, const std::string& tok) {
  FeatureExamples ex;
  ex.feature = id;
  const std::vector<std::string> words = {"a", "b", "c", "d", tok, "e", "f"};
  for (int i = 0; i < 12; ++i) {
    ActivationRecord r;
    for (int t = 0; t < 7; ++t) {
      r.tokens.push_back(words[size_t((t + i) % 7)]);
      r.acts.push_back(r.tokens.back() == tok ? 2.f + 0.1f * float(i) : 0.f);
    }
    ex.top.push_back(r);
    ActivationRecord z = r;  // the same context without the token: inactive
    const std::string other(1, 'g');
    for (size_t t = 0; t < z.tokens.size(); ++t)
      if (z.tokens[t] == tok) z.tokens[t] = other, z.acts[t] = 0.f;
    ex.random.push_back(z);
  }
  return ex;
}

TEST(ExplainDashboards, ExplainsActiveFeaturesAndLeavesDeadOnesEmpty) {
  std::vector<FeatureExamples> ex = {fires_on(0, "cat"), FeatureExamples{}, fires_on(2, "dog")};
  ex[1].feature = 1;
  FeatureDashboardData data;
  data.features.resize(3);
  data.features[0].active_tokens = 12;
  data.features[2].active_tokens = 12;
  const AutointerpReport r = explain_dashboards(ex, data);
  ASSERT_EQ(r.features, (std::vector<int64_t>{0, 2}));
  EXPECT_NE(data.features[0].explanation.find("cat"), std::string::npos) << data.features[0].explanation;
  EXPECT_NE(data.features[2].explanation.find("dog"), std::string::npos) << data.features[2].explanation;
  EXPECT_GT(data.features[0].score, 0.9);
  EXPECT_EQ(data.features[0].score, r.scores[0].simulation);
  EXPECT_FALSE(data.features[0].score_method.empty());
  EXPECT_TRUE(data.features[1].explanation.empty());
  EXPECT_TRUE(std::isnan(data.features[1].score));
  data.features.pop_back();
  EXPECT_THROW(explain_dashboards(ex, data), Error);
}

}  // namespace
