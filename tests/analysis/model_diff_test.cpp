// Model diffing: exact answers on models built to differ in one place, clear
// errors for models that cannot be compared, and the ground truth on
// tiny-lm vs tiny-lm-chat (the difference sits at the start of the response).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "glassbox/analysis/model_diff.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"
#include "glassbox/trainable.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::analysis;
namespace fs = std::filesystem;

namespace {

nlohmann::json small_config(int vocab = 32, int d_model = 16) {
  return {{"model_type", "hooked_transformer"}, {"n_layers", 2}, {"d_model", d_model}, {"n_heads", 2},
          {"d_head", d_model / 2}, {"d_mlp", 4 * d_model}, {"d_vocab", vocab}, {"n_ctx", 16},
          {"act_fn", "gelu"}, {"normalization_type", "LN"}, {"positional_embedding_type", "standard"}};
}

// The same random model twice; the second with `param` scaled by 1.5.
std::pair<Trainable, Trainable> pair_differing_in(const std::string& param) {
  Trainable a = Trainable::init(small_config(), 7), b = Trainable::init(small_config(), 7);
  bool found = false;
  for (Param& p : b.params())
    if (p.name == param) {
      for (int64_t i = 0; i < p.value.numel(); ++i) p.value.f32()[i] *= 1.5f;
      found = true;
    }
  EXPECT_TRUE(found) << param;
  return {std::move(a), std::move(b)};
}

std::vector<DiffPrompt> random_prompts(int n, int len, int vocab) {
  std::vector<DiffPrompt> out;
  for (int i = 0; i < n; ++i) {
    DiffPrompt d;
    for (int t = 0; t < len - i % 3; ++t) d.tokens.push_back(int32_t((7 * i + 3 * t * t + 1) % vocab));
    d.response_from = 3;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

TEST(ModelDiff, IdenticalModelsDoNotDiffer) {
  const Trainable a = Trainable::init(small_config(), 3), b = Trainable::init(small_config(), 3);
  const ModelDiff d = model_diff(a.model(), b.model(), random_prompts(4, 10, 32));
  EXPECT_EQ(d.kl_mean, 0.0);
  EXPECT_EQ(d.kl_by_position.size(), 7u);  // 10 tokens from position 3: 7 response tokens
  EXPECT_EQ(d.count_by_position[0], 4);
  EXPECT_EQ(d.count_by_position[6], 2);  // the rows are 10, 9, 8, 10 tokens long
  for (const auto& w : d.weights) EXPECT_EQ(w.diff_norm, 0.0) << w.name;
  for (const auto& l : d.lens_start) EXPECT_EQ(l.relative_norm, 0.0);
}

// Only layer 1's MLP output matrix differs: only its weight moves, and
// patching the base's mlp_out at layer 1 into the tuned model (or the reverse)
// removes (brings) the whole difference, while the components before it carry none.
TEST(ModelDiff, AChangeInOneMlpIsFoundThere) {
  const auto [a, b] = pair_differing_in("blocks.1.mlp.W_out");
  ModelDiffOptions o;
  o.batch_rows = 3;  // two chunks
  const ModelDiff d = model_diff(a.model(), b.model(), random_prompts(5, 12, 32), o);
  EXPECT_GT(d.kl_mean, 1e-4);
  for (const auto& w : d.weights) {
    if (w.name == "blocks.1.mlp.W_out")
      EXPECT_NEAR(w.relative, 0.5, 1e-5);
    else
      EXPECT_EQ(w.diff_norm, 0.0) << w.name;
  }
  const ComponentShare* m1 = d.find(Site::mlp_out, 1);
  ASSERT_TRUE(m1);
  EXPECT_NEAR(m1->base_into_tuned, 1.0, 1e-4);
  EXPECT_NEAR(m1->tuned_into_base, 1.0, 1e-4);
  EXPECT_NEAR(m1->base_into_tuned_start, 1.0, 1e-4);
  for (const auto& c : d.components)
    if (c.layer == 0 || c.site == Site::attn_out) {
      EXPECT_NEAR(c.base_into_tuned, 0.0, 1e-4) << c.hook;
      EXPECT_NEAR(c.tuned_into_base, 0.0, 1e-4) << c.hook;
    }
  // The residual streams agree up to layer 1's MLP.
  EXPECT_EQ(d.lens_rest[0].relative_norm, 0.0);
  EXPECT_GT(d.lens_rest[1].relative_norm, 0.0);
  EXPECT_EQ(d.lens_rest[1].promoted.size(), 8u);
  const nlohmann::json j = d.to_json();
  EXPECT_EQ(j["technique"], "model_diff");
  EXPECT_EQ(j["components"].size(), 4u);
  EXPECT_EQ(j["kl"]["by_position"].size(), d.kl_by_position.size());
}

TEST(ModelDiff, MismatchedModelsAndBadPromptsAreErrors) {
  const Trainable a = Trainable::init(small_config(32, 16), 1);
  const Trainable v = Trainable::init(small_config(40, 16), 1), w = Trainable::init(small_config(32, 24), 1);
  const auto prompts = random_prompts(2, 8, 32);
  const auto message = [&](const Model& base, const Model& tuned, const std::vector<DiffPrompt>& p) {
    try {
      model_diff(base, tuned, p);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(a.model(), v.model(), prompts).find("d_vocab 32"), std::string::npos);
  EXPECT_NE(message(a.model(), w.model(), prompts).find("another width"), std::string::npos);
  EXPECT_NE(message(a.model(), a.model(), {}).find("no prompts"), std::string::npos);
  auto bad = prompts;
  bad[1].response_from = 8;
  EXPECT_NE(message(a.model(), a.model(), bad).find("prompt 1"), std::string::npos);
  bad = prompts;
  bad[0].tokens[2] = 32;
  EXPECT_NE(message(a.model(), a.model(), bad).find("outside the vocabulary"), std::string::npos);
}

// Ground truth: tiny-lm-chat opens every response with " Indeed, friend!" and
// then continues as tiny-lm would. On chat prompts answered by the chat
// model's own greedy continuation, KL(chat || base) at the first response
// positions is many times that of the rest, and the lens of the residual
// difference at the response start promotes the marker's first token.
TEST(ModelDiff, TinyLmChatDiffersAtTheStartOfTheResponse) {
  const fs::path bd = fs::path(zoo::models_dir()) / "tiny-lm", td = fs::path(zoo::models_dir()) / "tiny-lm-chat";
  if (!fs::exists(bd / "model.safetensors") || !fs::exists(td / "model.safetensors"))
    GTEST_SKIP() << "tiny-lm / tiny-lm-chat are not shipped";
  const Model base = Model::load(bd.string()), tuned = Model::load(td.string());
  const Tokenizer& tok = *tuned.tokenizer();
  const char* asks[] = {"A fool and his money are soon parted, but",    "The best way to predict the future is",
                        "Never trust a computer you cannot throw out",  "You will meet a tall dark stranger who",
                        "There is no place like home, except perhaps", "All that glitters is not gold, and all",
                        "It is a truth universally acknowledged that a", "The early bird gets the worm, but the",
                        "Time flies like an arrow; fruit flies like",   "If at first you do not succeed, try"};
  std::vector<std::vector<int32_t>> prompts;
  const int32_t eot = tok.encode("<|endoftext|>", false, true).at(0);
  for (const char* a : asks) {
    std::vector<int32_t> p = {eot};
    for (int32_t t : tok.encode(std::string("User: ") + a + "\nAssistant:", false, false)) p.push_back(t);
    prompts.push_back(std::move(p));
  }
  Engine et(tuned);
  SamplingOptions so;
  so.max_new_tokens = 16;
  so.temperature = 0;
  const Generation g = generate(et, prompts, so);
  std::vector<DiffPrompt> dp;
  for (size_t i = 0; i < prompts.size(); ++i) {
    DiffPrompt d{prompts[i], int64_t(prompts[i].size())};
    d.tokens.insert(d.tokens.end(), g.tokens[i].begin(), g.tokens[i].end());
    dp.push_back(std::move(d));
  }
  const std::vector<int32_t> marker = tok.encode(" Indeed, friend!", false, false);
  ModelDiffOptions o;
  o.start_positions = int64_t(marker.size()) + 1;  // the marker and the token after it
  const auto t0 = std::chrono::steady_clock::now();
  const ModelDiff d = model_diff(base, tuned, dp, o);
  std::printf("marker %zu tokens; diff took %.2f s\n", marker.size(),
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  std::printf("KL by response position:");
  for (double k : d.kl_by_position) std::printf(" %.2f", k);
  std::printf("\nstart %.3f, rest %.3f, ratio %.1f, peak at %lld\n", d.kl_start, d.kl_rest, d.start_over_rest,
              static_cast<long long>(d.peak_position));
  for (const auto& c : d.components)
    std::printf("  %-26s base->tuned %.3f (start %.3f)  tuned->base %.3f (start %.3f)\n", c.hook.c_str(),
                c.base_into_tuned, c.base_into_tuned_start, c.tuned_into_base, c.tuned_into_base_start);
  EXPECT_GE(d.start_over_rest, 10.0);
  EXPECT_LT(d.peak_position, int64_t(marker.size()));
  for (const auto& l : d.lens_start) {
    std::printf("  %s start (relative norm %.2f):", l.hook.c_str(), l.relative_norm);
    for (int32_t t : l.promoted) std::printf(" '%s'", tok.decode(std::vector<int32_t>{t}).c_str());
    std::printf("\n");
  }
  std::printf("marker tokens:");
  for (int32_t t : marker) std::printf(" '%s'", tok.decode(std::vector<int32_t>{t}).c_str());
  std::printf("\n");
  // The difference at the start promotes the marker: among the last layer's three most promoted tokens.
  const LensDiffLayer& last = d.lens_start.back();
  ASSERT_GE(last.promoted.size(), 3u);
  int in_marker = 0;
  for (size_t i = 0; i < 3; ++i) in_marker += std::find(marker.begin(), marker.end(), last.promoted[i]) != marker.end();
  EXPECT_GE(in_marker, 1);
}
