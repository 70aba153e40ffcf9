#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/predictions.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

TEST(Predictions, TopKAreSortedWithTiesByIdAndSoftmaxProbabilities) {
  const std::vector<float> logits = {1.f, 3.f, 2.f, 3.f};
  const auto top = top_predictions(logits.data(), 4, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);  // tied with 3: the lower id first
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 2);
  const double z = std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0);
  EXPECT_NEAR(top[0].prob, std::exp(3.0) / z, 1e-12);
  EXPECT_NEAR(top[2].prob, std::exp(2.0) / z, 1e-12);
  EXPECT_EQ(top[2].logit, 2.f);
  EXPECT_EQ(top_predictions(logits.data(), 4, 10).size(), 4u);  // k clamped to the vocabulary
  EXPECT_TRUE(top_predictions(logits.data(), 4, 0).empty());
}

TEST(Predictions, JsonHasIdProbLogitAndNullTextWithoutATokenizer) {
  const Model m = Model::load(fixture("gpt2"));  // no tokenizer
  const std::vector<float> logits = {0.f, 1.f};
  const nlohmann::json j = to_json(top_predictions(logits.data(), 2, 1), m);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["id"], 1);
  EXPECT_TRUE(j[0]["text"].is_null());
  EXPECT_EQ(j[0]["logit"], 1.f);
  EXPECT_NEAR(j[0]["prob"].get<double>(), std::exp(1.0) / (1 + std::exp(1.0)), 1e-12);
}

}  // namespace
