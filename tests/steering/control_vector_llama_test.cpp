// A control vector exported by glassbox, loaded by llama.cpp with
// --control-vector, changes llama.cpp's logits exactly as glassbox's own
// steering (the same file through control_vector_interventions) changes
// glassbox's: direction.{l} added to block l's output at every position.
#include <cmath>

#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "glassbox/gguf_export.h"
#include "glassbox/steering/control_vector.h"
#include "llama_cpp_util.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

TEST(ControlVectorLlamaCpp, ChangesLlamaCppsLogitsAsGlassboxSteeringDoes) {
  REQUIRE_LLAMA_CPP(bin);
  REQUIRE_MODEL("tiny-lm");
  const std::string gguf = steering_test::scratch("tiny-cv.gguf"), cv_path = steering_test::scratch("tiny.cv.gguf");
  save_gguf(Model::load(steering_test::model_dir("tiny-lm")), gguf);
  const Model m = Model::load(gguf);
  // Layers 1 and 3 of 4 (llama.cpp has no slot for block 0), a norm that moves the logits.
  SteeringVector v = steering_test::random_direction(m.config().d_model, {1, 3}, 23);
  write_control_vector(to_control_vector(v, 0.5f, control_vector_model_hint(m.config())), cv_path);
  const float scale = 1.5f;
  const std::string prompt = "The computer is";
  const auto plain = steering_test::llama_logits(bin, gguf, prompt, "", steering_test::scratch("cv-plain.txt"));
  const auto steered = steering_test::llama_logits(
      bin, gguf, prompt, "--control-vector-scaled " + steering_test::quoted_path(cv_path + ":1.5"),  // this llama.cpp: FNAME:SCALE
      steering_test::scratch("cv-steered.txt"));
  ASSERT_FALSE(plain.tokens.empty());
  ASSERT_EQ(plain.tokens, steered.tokens);

  Engine e(m);
  HookRegistry hooks(m.config());
  const auto handles = attach(hooks, control_vector_interventions(read_control_vector(cv_path), m.config(), scale, cv_path));
  const Batch b = Batch::single(plain.tokens);
  const Tensor L0 = e.logits(b), L1 = e.logits(b, &hooks);
  const int64_t V = m.config().d_vocab, last = (int64_t(plain.tokens.size()) - 1) * V;
  const auto at = [&](const Tensor& L, int64_t v) { return double(L.f32()[last + v]); };
  double largest = 0;
  for (int k = 0; k < 3; ++k)
    for (const auto& [i, ll0, ll1] : {std::tuple{int64_t(k), plain.head[size_t(k)], steered.head[size_t(k)]},
                                      std::tuple{V - 3 + k, plain.tail[size_t(k)], steered.tail[size_t(k)]}}) {
      EXPECT_NEAR(ll0, at(L0, i), 1e-3) << "unsteered logit " << i;
      EXPECT_NEAR(ll1 - ll0, at(L1, i) - at(L0, i), 2e-3) << "the change in logit " << i;
      largest = std::max(largest, std::fabs(at(L1, i) - at(L0, i)));
    }
  double s0 = 0, s1 = 0;
  for (int64_t i = 0; i < V; ++i) s0 += at(L0, i), s1 += at(L1, i);
  EXPECT_NEAR(steered.sum - plain.sum, s1 - s0, 5e-2 + 2e-5 * (std::fabs(s0) + std::fabs(s1)));
  EXPECT_GT(largest, 0.05) << "the vector must move the logits for the comparison to mean anything";
  EXPECT_GT(std::fabs(s1 - s0), 1.0);
}

}  // namespace
