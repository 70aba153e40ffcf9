#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "glassbox/error.h"
#include "glassbox/metrics.h"
#include "glassbox/train.h"
#include "train/optimizer.h"

using namespace glassbox;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("glassbox_train_" + std::to_string(std::random_device{}()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

nlohmann::json tiny_gpt2() {
  return {{"model_type", "gpt2"}, {"n_embd", 32}, {"n_layer", 2}, {"n_head", 4}, {"n_positions", 32},
          {"vocab_size", 16}, {"layer_norm_epsilon", 1e-5}, {"activation_function", "gelu_new"}};
}

// Sequences that count up modulo 16 from a random start: easy to learn.
TrainBatch counting(std::mt19937_64& rng) {
  std::vector<std::vector<int32_t>> rows;
  for (int b = 0; b < 4; ++b) {
    std::vector<int32_t> r;
    int32_t x = int32_t(rng() % 16);
    for (int t = 0; t < 12; ++t) r.push_back((x + t) % 16);
    rows.push_back(r);
  }
  TrainBatch tb{Batch::from_rows(rows), {}};
  tb.targets = next_token_targets(tb.batch);
  return tb;
}

TrainConfig quick(int steps) {
  TrainConfig c;
  c.steps = steps;
  c.optimizer.lr = 3e-3f;
  c.progress = false;
  c.eval_every = 0;
  c.log_every = 5;
  return c;
}

TEST(Schedule, WarmupThenCosineToMinimum) {
  OptimizerConfig o;
  o.lr = 1.0f;
  ScheduleConfig s;
  s.warmup_steps = 10;
  s.min_lr_ratio = 0.1f;
  EXPECT_FLOAT_EQ(lr_at(o, s, 0, 110), 0.1f);
  EXPECT_FLOAT_EQ(lr_at(o, s, 9, 110), 1.0f);
  EXPECT_FLOAT_EQ(lr_at(o, s, 10, 110), 1.0f);
  EXPECT_NEAR(lr_at(o, s, 109, 110), 0.1f, 1e-6f);
  EXPECT_NEAR(lr_at(o, s, 59, 110), 0.55f, 0.02f);
}

TEST(Schedule, LinearDecayAndConstant) {
  OptimizerConfig o;
  o.lr = 2.0f;
  ScheduleConfig s{.warmup_steps = 0, .min_lr_ratio = 0.0f, .decay = Decay::Linear};
  EXPECT_FLOAT_EQ(lr_at(o, s, 0, 101), 2.0f);
  EXPECT_NEAR(lr_at(o, s, 25, 101), 1.5f, 1e-6f);
  EXPECT_NEAR(lr_at(o, s, 50, 101), 1.0f, 1e-6f);
  EXPECT_NEAR(lr_at(o, s, 100, 101), 0.0f, 1e-6f);
  s.decay = Decay::Constant;
  EXPECT_FLOAT_EQ(lr_at(o, s, 100, 101), 2.0f);
}

TEST(Optimizer, AdamWFirstStepMovesByLrTimesSign) {
  Param p{"w.weight", Tensor::zeros({2, 2}), Tensor::zeros({2, 2})};
  const float g[4] = {0.5f, -2.f, 1e-3f, 0.f};
  std::copy(g, g + 4, p.grad.f32());
  std::vector<Param> ps{p};
  detail::OptimizerState st;
  OptimizerConfig o;
  o.lr = 0.1f;
  o.weight_decay = 0.f;
  detail::adamw_step(ps, st, o, o.lr);
  // Bias-corrected first step: m_hat / sqrt(v_hat) = sign(g).
  EXPECT_NEAR(ps[0].value.f32()[0], -0.1f, 1e-5f);
  EXPECT_NEAR(ps[0].value.f32()[1], 0.1f, 1e-5f);
  EXPECT_NEAR(ps[0].value.f32()[2], -0.1f, 1e-3f);
  EXPECT_EQ(ps[0].value.f32()[3], 0.f);
}

TEST(Optimizer, NesterovSgdMatchesPyTorchFormula) {
  Param p{"w.weight", Tensor::zeros({1, 1}), Tensor::zeros({1, 1})};
  std::vector<Param> ps{p};
  detail::OptimizerState st;
  OptimizerConfig o;
  o.kind = "sgd";
  o.momentum = 0.9f;
  o.nesterov = true;
  ps[0].grad.f32()[0] = 1.f;
  detail::sgd_step(ps, st, o, 0.1f);  // buf = 1; step = g + 0.9 buf = 1.9
  EXPECT_NEAR(ps[0].value.f32()[0], -0.19f, 1e-6f);
  detail::sgd_step(ps, st, o, 0.1f);  // buf = 1.9; step = 1 + 1.71 = 2.71
  EXPECT_NEAR(ps[0].value.f32()[0], -0.19f - 0.271f, 1e-6f);
}

TEST(Optimizer, ClipScalesToMaxNorm) {
  Param p{"w.weight", Tensor::zeros({1, 2}), Tensor::zeros({1, 2})};
  p.grad.f32()[0] = 3;
  p.grad.f32()[1] = 4;
  std::vector<Param> ps{p};
  EXPECT_NEAR(detail::clip_grad_norm(ps, 1.0f), 5.0, 1e-9);
  EXPECT_NEAR(std::hypot(ps[0].grad.f32()[0], ps[0].grad.f32()[1]), 1.0, 1e-5);
}

TEST(Optimizer, NoWeightDecayOnBiasesAndNormGains) {
  EXPECT_FALSE(detail::decays({"h.0.ln_1.weight", Tensor::zeros({4}), {}}));
  EXPECT_FALSE(detail::decays({"blocks.0.attn.b_Q", Tensor::zeros({2, 4}), {}}));
  EXPECT_TRUE(detail::decays({"blocks.0.attn.W_Q", Tensor::zeros({2, 4, 4}), {}}));
}

double stddev(const Tensor& t) {
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < t.numel(); ++i) s += t.f32()[i], s2 += double(t.f32()[i]) * t.f32()[i];
  const double m = s / double(t.numel());
  return std::sqrt(s2 / double(t.numel()) - m * m);
}

const Tensor& param(const Trainable& tr, const std::string& name) {
  for (const auto& p : tr.params())
    if (p.name == name) return p.value;
  throw std::runtime_error("no parameter " + name);
}

TEST(Init, NormBiasesZeroGainsOneAndTheFamilysInitializerRange) {
  const nlohmann::json tl = {{"n_layers", 1}, {"d_model", 64}, {"n_heads", 4}, {"d_head", 16}, {"d_vocab", 50},
                             {"n_ctx", 16},   {"attn_only", true}, {"normalization_type", "LN"}};
  const Trainable t = Trainable::init(tl, 1);
  for (const char* b : {"blocks.0.ln1.b", "ln_final.b", "blocks.0.attn.b_Q"})
    EXPECT_EQ(stddev(param(t, b)) + std::abs(param(t, b).f32()[0]), 0.0) << b;
  EXPECT_EQ(param(t, "blocks.0.ln1.w").f32()[0], 1.f);
  EXPECT_NEAR(stddev(param(t, "blocks.0.attn.W_Q")), 0.8 / 8.0, 0.01);  // TransformerLens: 0.8/sqrt(d_model)
  const Trainable g = Trainable::init(tiny_gpt2(), 1);
  EXPECT_NEAR(stddev(param(g, "h.0.attn.c_attn.weight")), 0.02, 0.003);  // HF GPT-2 initializer_range
  nlohmann::json custom = tiny_gpt2();
  custom["initializer_range"] = 0.1;
  EXPECT_NEAR(stddev(param(Trainable::init(custom, 1), "h.0.attn.c_attn.weight")), 0.1, 0.01);
}

TEST(Train, LossFallsOnALearnableTask) {
  Trainable tr = Trainable::init(tiny_gpt2(), 1);
  const TrainResult r = train(tr, quick(60), counting);
  ASSERT_GE(r.log.size(), 2u);
  EXPECT_LT(r.log.back().loss, 0.5 * r.log.front().loss) << r.log.front().loss << " -> " << r.log.back().loss;
}

TEST(Train, SameSeedSameWeights) {
  Trainable a = Trainable::init(tiny_gpt2(), 7), b = Trainable::init(tiny_gpt2(), 7);
  train(a, quick(8), counting);
  train(b, quick(8), counting);
  for (size_t i = 0; i < a.params().size(); ++i)
    for (int64_t j = 0; j < a.params()[i].value.numel(); ++j)
      ASSERT_EQ(a.params()[i].value.f32()[j], b.params()[i].value.f32()[j]) << a.params()[i].name;
}

TEST(Train, ResumeFromCheckpointEqualsUninterruptedRun) {
  TempDir d;
  Trainable full = Trainable::init(tiny_gpt2(), 3);
  train(full, quick(12), counting);
  Trainable part = Trainable::init(tiny_gpt2(), 3);
  TrainConfig c = quick(12);
  c.out_dir = d.path.string();
  c.stop_at = 6;
  train(part, c, counting);  // "interrupted" after 6 steps: checkpoint written, no final model yet
  EXPECT_FALSE(fs::exists(d.path / "model.safetensors"));
  Trainable resumed = Trainable::init(tiny_gpt2(), 99);  // different init: everything must come from the checkpoint
  c.stop_at = 0;
  const TrainResult r = train(resumed, c, counting);
  EXPECT_TRUE(r.resumed);
  for (size_t i = 0; i < full.params().size(); ++i)
    for (int64_t j = 0; j < full.params()[i].value.numel(); ++j)
      ASSERT_FLOAT_EQ(full.params()[i].value.f32()[j], resumed.params()[i].value.f32()[j]) << full.params()[i].name;
  EXPECT_TRUE(fs::exists(d.path / "model.safetensors"));
  EXPECT_TRUE(fs::exists(d.path / "train_log.json"));
  const Model reloaded = Model::load(d.path.string());  // the saved model is an ordinary HF GPT-2 checkpoint
  EXPECT_EQ(reloaded.config().n_layers, 2);
}

TEST(Train, BrokenCheckpointStateIsAnErrorNamingTheFile) {
  TempDir d;
  Trainable tr = Trainable::init(tiny_gpt2(), 3);
  TrainConfig c = quick(4);
  c.out_dir = d.path.string();
  c.stop_at = 2;
  train(tr, c, counting);
  const std::string state = (d.path / "checkpoint" / "state.json").string();
  ASSERT_TRUE(fs::exists(state));
  c.stop_at = 0;
  for (const char* text : {"{\"step\": 2,", R"({"step": "two"})"}) {  // malformed; a field of the wrong type
    std::ofstream(state) << text;
    try {
      train(tr, c, counting);
      ADD_FAILURE() << "resumed from " << text;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(state), std::string::npos) << e.what();
    }
  }
}

TEST(TrainConfig, BadFieldsAreNamed) {
  EXPECT_THROW(TrainConfig::from_json({{"steps", "many"}}), Error);
  EXPECT_THROW(TrainConfig::from_json({{"optimizer", {{"kind", "lion"}}}}), Error);
  EXPECT_THROW(TrainConfig::from_json({{"steps", 0}}), Error);
  EXPECT_THROW(TrainConfig::from_json({{"schedule", {{"decay", "exponential"}}}}), Error);
  const TrainConfig c = TrainConfig::from_json(
      {{"steps", 5}, {"optimizer", {{"kind", "sgd"}, {"lr", 0.5}}}, {"schedule", {{"decay", "linear"}}}});
  EXPECT_EQ(c.schedule.decay, Decay::Linear);
  EXPECT_EQ(TrainConfig::from_json(c.to_json()).to_json(), c.to_json());
  // Configs and manifests written before "decay" existed say "cosine": true / false.
  EXPECT_EQ(TrainConfig::from_json({{"schedule", {{"cosine", false}}}}).schedule.decay, Decay::Constant);
  EXPECT_EQ(TrainConfig::from_json({{"schedule", {{"cosine", true}}}}).schedule.decay, Decay::Cosine);
}

// Whole-model gradients by central differences for the layouts the PyTorch
// fixtures do not cover: parallel residual + partial rotary, attention-only,
// no-norm (modadd-style) models.
class WholeModelGradcheck : public ::testing::TestWithParam<nlohmann::json> {};

TEST_P(WholeModelGradcheck, WeightGradientsMatchFiniteDifferences) {
  Trainable tr = Trainable::init(GetParam(), 5);
  std::mt19937_64 rng(11);
  // Larger-than-default weights so the check is not dominated by tiny values.
  for (Param& p : tr.params())
    for (int64_t i = 0; i < p.value.numel(); ++i) p.value.f32()[i] += std::normal_distribution<float>(0, 0.2f)(rng);
  const TrainBatch tb = counting(rng);
  Engine e(tr.model());
  ForwardOptions fo;
  fo.for_backward = true;
  const ForwardResult fwd = e.forward(tb.batch, nullptr, nullptr, fo);
  Tensor dl;
  next_token_loss(fwd.logits, tb.batch, &dl);
  tr.zero_grad();
  e.backward(tb.batch, fwd, dl.f32(), nullptr, &tr.grads());
  auto loss = [&]() { return next_token_loss(e.logits(tb.batch), tb.batch); };
  int checked = 0;
  for (Param& p : tr.params()) {
    for (int k = 0; k < 3; ++k) {
      const int64_t i = int64_t(rng() % uint64_t(p.value.numel()));
      float& x = p.value.f32()[i];
      const float x0 = x, h = 1e-2f;
      x = x0 + h;
      const double up = loss();
      x = x0 - h;
      const double down = loss();
      x = x0;
      const double fd = (up - down) / (2 * h), g = p.grad.f32()[i];
      EXPECT_NEAR(g, fd, 2e-2 * std::max(1.0, std::fabs(fd)) + 2e-3) << p.name << "[" << i << "]";
      ++checked;
    }
  }
  EXPECT_GT(checked, 20);
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, WholeModelGradcheck,
    ::testing::Values(
        nlohmann::json{{"model_type", "gpt_neox"}, {"hidden_size", 16}, {"num_hidden_layers", 2},
                       {"num_attention_heads", 2}, {"intermediate_size", 32}, {"vocab_size", 16},
                       {"rotary_pct", 0.5}, {"use_parallel_residual", true}, {"max_position_embeddings", 32}},
        nlohmann::json{{"n_layers", 2}, {"d_model", 16}, {"n_heads", 2}, {"d_head", 8}, {"d_vocab", 16},
                       {"n_ctx", 32}, {"attn_only", true}, {"normalization_type", "LN"}},
        nlohmann::json{{"n_layers", 1}, {"d_model", 16}, {"n_heads", 2}, {"d_head", 8}, {"d_vocab", 16},
                       {"n_ctx", 32}, {"d_mlp", 32}, {"act_fn", "relu"}, {"normalization_type", nullptr}},
        nlohmann::json{{"model_type", "llama"}, {"hidden_size", 16}, {"num_hidden_layers", 1},
                       {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"intermediate_size", 24},
                       {"vocab_size", 16}, {"tie_word_embeddings", true}}));

}  // namespace
