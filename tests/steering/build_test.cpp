// Directions from pairs and labelled sets on the shipped tiny-lm, against the
// same differences computed by hand from a forward pass that keeps the sites.
#include <cmath>
#include <fstream>

#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/steering/contrastive.h"
#include "glassbox/tokenizer.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

// The activation rows of `tokens` at every position of blocks.{layer}.{site}.
std::vector<float> kept_rows(Engine& e, const std::vector<int32_t>& tokens, Site site, int layer) {
  ForwardOptions fo;
  fo.logits = LogitsMode::None;
  fo.keep = {HookPoint{site, layer}};
  const ForwardResult r = e.forward(Batch::single(tokens), nullptr, nullptr, fo);
  const Tensor& t = r.get(HookPoint{site, layer});
  return {t.f32(), t.f32() + t.numel()};
}

std::vector<ContrastivePair> some_pairs(const Model& m) {
  const Tokenizer& tok = *m.tokenizer();
  std::vector<ContrastivePair> ps;
  const char* prompts[] = {"The cat sat", "A man walked into a bar", "Never trust", "Life is"};
  const char* good[] = {" happily", " and smiled", " a kind friend", " wonderful"};
  const char* bad[] = {" angrily on the floor", " and cried", " a thief", " awful"};
  for (int i = 0; i < 4; ++i)
    ps.push_back({tok.encode(prompts[i], true, false), tok.encode(good[i], false, false),
                  tok.encode(bad[i], false, false), prompts[i]});
  return ps;
}

}  // namespace

TEST(SteeringBuild, MeanDiffMatchesAHandComputedDifference) {
  REQUIRE_MODEL("tiny-lm");
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  Engine e(m);
  const auto pairs = some_pairs(m);
  const int64_t d = m.config().d_model;
  for (ReadAt at : {ReadAt::Last, ReadAt::CompletionMean}) {
    BuildOptions bo;
    bo.layers = {1, 3};
    bo.read_at = at;
    bo.batch = 3;  // batches that split pairs
    const SteeringVector v = build_from_pairs(e, pairs, bo);
    ASSERT_EQ(v.layer_ids(), (std::vector<int>{1, 3}));
    for (int layer : {1, 3}) {
      std::vector<double> want(size_t(d), 0.0);
      for (const auto& p : pairs)
        for (int side = 0; side < 2; ++side) {
          std::vector<int32_t> t = p.prompt;
          const auto& c = side == 0 ? p.positive : p.negative;
          t.insert(t.end(), c.begin(), c.end());
          const std::vector<float> rows = kept_rows(e, t, Site::resid_post, layer);
          // completion-mean: the positions predicting the completion (prompt's last .. second-to-last)
          const size_t from = at == ReadAt::Last ? t.size() - 1 : p.prompt.size() - 1;
          const size_t to = at == ReadAt::Last ? t.size() : t.size() - 1;
          for (size_t r = from; r < to; ++r)
            for (int64_t j = 0; j < d; ++j)
              want[size_t(j)] += (side == 0 ? 1.0 : -1.0) * rows[r * size_t(d) + size_t(j)] / double(to - from) /
                                 double(pairs.size());
        }
      const auto& got = v.find(layer)->vector;
      for (int64_t j = 0; j < d; ++j) ASSERT_NEAR(got[size_t(j)], want[size_t(j)], 1e-4) << to_string(at) << " " << j;
      EXPECT_DOUBLE_EQ(v.find(layer)->separation, 1.0);  // the mean difference orders its own four pairs
    }
  }
}

TEST(SteeringBuild, PcaDiffIsAUnitVectorAlignedWithTheMeanDifference) {
  REQUIRE_MODEL("tiny-lm");
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  Engine e(m);
  BuildOptions bo;
  bo.layers = {2};
  const SteeringVector mean = build_from_pairs(e, some_pairs(m), bo);
  bo.method = Method::PcaDiff;
  const SteeringVector pca = build_from_pairs(e, some_pairs(m), bo);
  EXPECT_NEAR(pca.layers[0].norm(), 1.0, 1e-5);
  double dot = 0;
  for (size_t j = 0; j < pca.layers[0].vector.size(); ++j) dot += pca.layers[0].vector[j] * mean.layers[0].vector[j];
  EXPECT_GT(dot, 0);
  EXPECT_GE(pca.layers[0].separation, 0.5);
}

TEST(SteeringBuild, LabelledSetsGiveTheDifferenceOfClassMeans) {
  REQUIRE_MODEL("tiny-lm");
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  const std::string path = steering_test::scratch("labels.jsonl");
  {
    std::ofstream f(path);
    f << R"({"text": "I love this", "label": "positive"})" << "\n"
      << R"({"text": "What a wonderful day", "label": "positive"})" << "\n"
      << R"({"text": "I hate this", "label": "negative"})" << "\n";
  }
  const features::LabelSet set = features::read_label_jsonl(path, m);
  Engine e(m);
  BuildOptions bo;
  bo.layers = {0};
  const SteeringVector v = build_from_labels(e, set, bo);
  EXPECT_EQ(v.provenance["positive_class"], "positive");
  const int64_t d = m.config().d_model;
  std::vector<double> want(size_t(d), 0.0);
  for (const auto& ex : set.examples) {
    const std::vector<float> rows = kept_rows(e, ex.tokens, Site::resid_post, 0);
    const double w = ex.label == 1 ? 0.5 : -1.0;  // two positives, one negative
    for (int64_t j = 0; j < d; ++j) want[size_t(j)] += w * rows[(ex.tokens.size() - 1) * size_t(d) + size_t(j)];
  }
  for (int64_t j = 0; j < d; ++j) ASSERT_NEAR(v.layers[0].vector[size_t(j)], want[size_t(j)], 1e-4);
  EXPECT_DOUBLE_EQ(v.layers[0].separation, 1.0);
  // The other class as the positive side flips the direction.
  const SteeringVector w = build_from_labels(e, set, bo, "last", "negative");
  EXPECT_NEAR(w.layers[0].vector[0], -v.layers[0].vector[0], 1e-5);
  EXPECT_THROW(build_from_labels(e, set, bo, "last", "neutral"), Error);
  bo.method = Method::PcaDiff;
  EXPECT_THROW(build_from_labels(e, set, bo), Error);  // unpaired sets have no paired differences
}

TEST(SteeringBuild, RejectsBadInput) {
  REQUIRE_MODEL("tiny-lm");
  const Model m = Model::load(steering_test::model_dir("tiny-lm"));
  Engine e(m);
  EXPECT_THROW(build_from_pairs(e, {}), Error);
  BuildOptions bo;
  bo.layers = {9};
  EXPECT_THROW(build_from_pairs(e, some_pairs(m), bo), Error);
  const std::string path = steering_test::scratch("pairs.jsonl");
  {
    std::ofstream f(path);
    f << R"({"prompt": "a", "positive": " b", "negative": " c"})" << "\n" << R"({"prompt": "a", "positive": 3})" << "\n";
  }
  try {
    read_pairs_jsonl(path, m);
    FAIL();
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find("pairs.jsonl:2"), std::string::npos) << err.what();
    EXPECT_NE(std::string(err.what()).find("positive"), std::string::npos) << err.what();
  }
}
