// Monitors during generation: each signal equals what an independent full
// forward pass over the generated text gives at the same position (probe /
// projection from kept activations, entropy from the logits, the logit-lens
// layer from analysis::logit_lens); flag-only monitors change nothing; stop
// ends the row before the flagged token; steer equals an add_vector
// intervention from the triggering position on; JSON in and out, and errors
// that name the field.
#include <gtest/gtest.h>

#include <cmath>

#include "glassbox/analysis/logit_lens.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/interventions.h"
#include "glassbox/steering/monitor.h"
#include "glassbox/threads.h"
#include "glassbox/tokenizer.h"
#include "test_util.h"
#include "common/expect_error.h"

using namespace glassbox;
using namespace glassbox::steering;

using gbtest::expect_error;

namespace {

std::vector<float> random_vector(int64_t d, uint64_t seed) {
  return steering_test::random_direction(d, {0}, seed).layers[0].vector;
}

std::vector<std::vector<int32_t>> prompts(const Model& m) {
  return {m.tokenizer()->encode("The old man said that"), m.tokenizer()->encode("IF SOMEONE CAN POINT ME TO")};
}

}  // namespace

TEST(MonitorEntropy, MatchesTheDefinition) {
  std::vector<float> z = {1.f, 2.f, -3.f, 0.5f};
  double s = 0, h = 0;
  for (float v : z) s += std::exp(double(v));
  for (float v : z) h -= std::exp(double(v)) / s * std::log(std::exp(double(v)) / s);
  EXPECT_NEAR(logits_entropy(z.data(), 4), h, 1e-5);
  std::vector<float> flat(50, 3.f);
  EXPECT_NEAR(logits_entropy(flat.data(), 50), std::log(50.0), 1e-5);
  z = {0.f, 1000.f};  // no overflow
  EXPECT_NEAR(logits_entropy(z.data(), 2), 0.0, 1e-5);
}

// Every signal, read during generation, against a fresh full pass over
// prompt + generated tokens (no KV cache, no hooks of the monitors').
TEST(Monitor, SignalsEqualAnIndependentPassAndFlagChangesNothing) {
  REQUIRE_MODEL("toxic");
  set_num_threads(2);
  const Model m = Model::load(steering_test::model_dir("toxic"));
  const Config& c = m.config();
  Engine e(m);
  SamplingOptions so;
  so.max_new_tokens = 12;
  so.temperature = 0;
  const auto ps = prompts(m);
  const Generation plain = generate(e, ps, so);

  Monitor probe;
  probe.kind = MonitorKind::Probe;
  probe.hook = "blocks.2.hook_resid_post";
  probe.direction = random_vector(c.d_model, 1);
  probe.mean = random_vector(c.d_model, 2);
  probe.bias = 0.25;
  probe.logistic = true;
  probe.threshold = 0.5;
  Monitor proj;
  proj.kind = MonitorKind::Projection;
  proj.hook = "blocks.1.hook_resid_post";
  proj.direction = random_vector(c.d_model, 3);
  proj.threshold = 0;
  Monitor ent;
  ent.kind = MonitorKind::Entropy;
  ent.threshold = 2.0;
  Monitor lens;
  lens.kind = MonitorKind::LogitLens;
  lens.threshold = 2;
  lens.below = true;
  const MonitoredGeneration g = generate_monitored(e, ps, so, {probe, proj, ent, lens});
  ASSERT_EQ(g.tokens, plain.tokens);
  ASSERT_EQ(g.values.size(), 4u);

  double pn = 0;
  for (float v : proj.direction) pn += double(v) * v;
  pn = std::sqrt(pn);
  int events = 0, lens_not_last = 0;
  for (size_t r = 0; r < ps.size(); ++r) {
    std::vector<int32_t> all = ps[r];
    all.insert(all.end(), g.tokens[r].begin(), g.tokens[r].end());
    const int64_t P = int64_t(ps[r].size()), n = int64_t(g.tokens[r].size());
    ASSERT_EQ(int64_t(g.values[0][r].size()), n);
    ForwardOptions fo;
    fo.keep = {{Site::resid_post, 1}, {Site::resid_post, 2}};
    const ForwardResult f = e.forward(Batch::single(all), nullptr, nullptr, fo);
    analysis::LogitLensOptions lo;
    lo.top_k = 1;
    const analysis::LogitLensResult ll = analysis::logit_lens(e, Batch::single(all), lo);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t pos = P - 1 + t;
      const float* x2 = f.get({Site::resid_post, 2}).f32() + pos * c.d_model;
      const float* x1 = f.get({Site::resid_post, 1}).f32() + pos * c.d_model;
      double s = probe.bias, q = 0;
      for (int64_t j = 0; j < c.d_model; ++j) {
        s += double(probe.direction[size_t(j)]) * (x2[j] - probe.mean[size_t(j)]);
        q += double(proj.direction[size_t(j)]) * x1[j] / pn;
      }
      EXPECT_NEAR(g.values[0][r][size_t(t)], 1 / (1 + std::exp(-s)), 2e-4) << r << "," << t;
      EXPECT_NEAR(g.values[1][r][size_t(t)], q, 2e-3 * (1 + std::abs(q))) << r << "," << t;
      const float* z = f.logits.f32() + pos * c.d_vocab;
      EXPECT_NEAR(g.values[2][r][size_t(t)], logits_entropy(z, c.d_vocab), 2e-3) << r << "," << t;
      // analysis' lens rows: resid_pre of each layer, then the last resid_post;
      // row l + 1 is resid_post of block l.
      const int32_t final_top = ll.at(size_t(c.n_layers), size_t(pos)).top_tokens[0];
      int first = c.n_layers;
      for (int l = 0; l < c.n_layers && first == c.n_layers; ++l)
        if (ll.at(size_t(l + 1), size_t(pos)).top_tokens[0] == final_top) first = l;
      EXPECT_EQ(g.values[3][r][size_t(t)], first) << r << "," << t;
      lens_not_last += first < c.n_layers - 1;
    }
  }
  // Held in a variable: a reference into a temporary vector dangles (ASan: heap-use-after-free).
  const std::vector<Monitor> monitors{probe, proj, ent, lens};
  for (const MonitorEvent& ev : g.events) {
    const Monitor& mon = monitors[size_t(ev.monitor)];
    EXPECT_TRUE(mon.triggered(ev.value));
    EXPECT_FLOAT_EQ(float(ev.value), g.values[size_t(ev.monitor)][size_t(ev.row)][size_t(ev.token)]);
    ++events;
  }
  int expected = 0;
  for (size_t k = 0; k < 4; ++k)
    for (const auto& row : g.values[k])
      for (float v : row) expected += monitors[k].triggered(v);
  EXPECT_EQ(events, expected);
  EXPECT_GT(events, 0);
  EXPECT_GT(lens_not_last, 0) << "the lens layer should vary";
}

TEST(Monitor, StopEndsTheRowBeforeTheFlaggedToken) {
  REQUIRE_MODEL("toxic");
  const Model m = Model::load(steering_test::model_dir("toxic"));
  Engine e(m);
  SamplingOptions so;
  so.max_new_tokens = 16;
  so.temperature = 0;
  const auto ps = prompts(m);
  Monitor ent;
  ent.kind = MonitorKind::Entropy;
  ent.threshold = 1e9;
  const MonitoredGeneration watch = generate_monitored(e, ps, so, {ent});
  // A threshold just under row 0's entropy at token 5 (and above all earlier ones, or the first crossing).
  const auto& v = watch.values[0][0];
  size_t k = 5;
  float th = v[k] - 1e-3f;
  size_t first = 0;
  while (first < v.size() && !(v[first] > th)) ++first;
  ent.threshold = th;
  ent.action = MonitorAction::Stop;
  const MonitoredGeneration g = generate_monitored(e, ps, so, {ent});
  ASSERT_LE(first, k);
  EXPECT_EQ(g.tokens[0], std::vector<int32_t>(watch.tokens[0].begin(), watch.tokens[0].begin() + long(first)));
  ASSERT_FALSE(g.events.empty());
  EXPECT_EQ(g.events[0].token, int(first));
  EXPECT_EQ(g.events[0].action, MonitorAction::Stop);
  EXPECT_EQ(g.values[0][0].size(), first + 1);  // the value that stopped it is recorded
  // Row 1 stops at its own first crossing, independently.
  size_t first1 = 0;
  while (first1 < watch.values[0][1].size() && !(watch.values[0][1][first1] > th)) ++first1;
  EXPECT_EQ(g.tokens[1],
            std::vector<int32_t>(watch.tokens[1].begin(), watch.tokens[1].begin() + long(first1)));
}

// Steering from a projection monitor equals an add_vector of -alpha . unit(d)
// at the same hook from the triggering token's position on.
TEST(Monitor, SteerEqualsAddVectorFromTheTriggeringPosition) {
  REQUIRE_MODEL("toxic");
  const Model m = Model::load(steering_test::model_dir("toxic"));
  const Config& c = m.config();
  Engine e(m);
  SamplingOptions so;
  so.max_new_tokens = 14;
  so.temperature = 0;
  const std::vector<std::vector<int32_t>> ps = {prompts(m)[0]};
  Monitor proj;
  proj.kind = MonitorKind::Projection;
  proj.hook = "blocks.1.hook_resid_post";
  proj.direction = random_vector(c.d_model, 11);
  proj.threshold = 1e9;
  const MonitoredGeneration watch = generate_monitored(e, ps, so, {proj});
  const auto& v = watch.values[0][0];
  // Trigger first at token k: a threshold between max(v[0..k)) and v[k], for the first k >= 3 that allows it.
  size_t k = 3;
  float below_max = -1e30f;
  for (size_t i = 0; i < k; ++i) below_max = std::max(below_max, v[i]);
  while (k < v.size() && !(v[k] > below_max)) below_max = std::max(below_max, v[k++]);
  ASSERT_LT(k, v.size()) << "no rising projection to trigger on";
  proj.threshold = (below_max + v[k]) / 2;
  proj.action = MonitorAction::Steer;
  proj.alpha = 40;
  const MonitoredGeneration g = generate_monitored(e, ps, so, {proj});
  ASSERT_FALSE(g.events.empty());
  EXPECT_EQ(g.events[0].token, int(k));

  Intervention iv;
  iv.kind = InterventionKind::AddVector;
  iv.hook = proj.hook;
  double nn = 0;
  for (float x : proj.direction) nn += double(x) * x;
  for (float x : proj.direction) iv.vector.push_back(float(x / std::sqrt(nn)));
  iv.alpha = -40;
  for (int64_t p = int64_t(ps[0].size()) - 1 + int64_t(k); p < c.n_ctx; ++p) iv.positions.push_back(p);
  HookRegistry reg(c);
  const auto h = attach(reg, {iv});
  const Generation ref = generate(e, ps, so, &reg);
  EXPECT_EQ(g.tokens, ref.tokens);
  EXPECT_NE(g.tokens, watch.tokens) << "alpha 40 should change the continuation";
  EXPECT_EQ(std::vector<int32_t>(g.tokens[0].begin(), g.tokens[0].begin() + long(k)),
            std::vector<int32_t>(watch.tokens[0].begin(), watch.tokens[0].begin() + long(k)));
}

TEST(Monitor, JsonRoundTripsAndErrorsNameTheField) {
  Config c;
  c.d_model = 4;
  c.n_layers = 2;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.d_head = 2;
  c.d_mlp = 8;
  c.d_vocab = 10;
  c.n_ctx = 8;
  const nlohmann::json j = {{"name", "lie"},       {"type", "probe"},     {"hook", "blocks.1.hook_resid_post"},
                            {"direction", {1, 2, 3, 4}}, {"bias", -0.5}, {"logistic", true},
                            {"threshold", 0.7},   {"action", "steer"},   {"alpha", 3.0}};
  const Monitor m = Monitor::from_json(j, "m");
  EXPECT_NO_THROW(m.check_fits(c, "m"));
  EXPECT_EQ(Monitor::from_json(m.to_json()).to_json(), m.to_json());
  EXPECT_EQ(m.kind, MonitorKind::Probe);
  EXPECT_EQ(m.action, MonitorAction::Steer);
  EXPECT_TRUE(m.logistic);
  // A probe as `glassbox probe --with-probes` writes it.
  const nlohmann::json saved = {{"kind", "logistic"}, {"n_outputs", 1}, {"direction", {{1, 0, 0, 0}}},
                                {"mean", {0, 0, 0, 1}},  {"bias", {0.25}}};
  const Monitor p = Monitor::from_json(
      {{"type", "probe"}, {"hook", "blocks.0.hook_resid_post"}, {"probe", saved}, {"threshold", 0.5}}, "m");
  EXPECT_EQ(p.direction, (std::vector<float>{1, 0, 0, 0}));
  EXPECT_EQ(p.mean, (std::vector<float>{0, 0, 0, 1}));
  EXPECT_DOUBLE_EQ(p.bias, 0.25);
  EXPECT_TRUE(p.logistic);

  auto with = [&](const char* key, nlohmann::json v) {
    nlohmann::json k = j;
    if (v.is_null())
      k.erase(key);
    else
      k[key] = v;
    return k;
  };
  expect_error([&] { Monitor::from_json(with("type", "vibes"), "monitors[2]"); },
                        {"monitors[2].type", "vibes", "logit_lens"});
  expect_error([&] { Monitor::from_json(with("threshold", nullptr), "monitors[0]"); },
                        {"monitors[0].threshold: missing"});
  expect_error([&] { Monitor::from_json(with("threshold", "high"), "m"); }, {"m.threshold", "number"});
  expect_error([&] { Monitor::from_json(with("action", "panic"), "m"); }, {"m.action", "flag, steer, stop"});
  expect_error([&] { Monitor::from_json(with("colour", 1), "m"); }, {"m.colour: unknown field"});
  expect_error([&] { Monitor::from_json(with("direction", {1, "x"}), "m"); }, {"m.direction[1]"});
  expect_error([&] { Monitor::from_json(with("direction", {1, 2, 3}), "m").check_fits(c, "m"); },
                        {"m.direction: 3 values", "width 4"});
  expect_error(
      [&] { Monitor::from_json(with("hook", "blocks.7.hook_resid_post"), "m").check_fits(c, "m"); },
      {"m.hook", "layer 7 is out of range"});
  expect_error([&] { Monitor::from_json(with("hook", "blocks.0.attn.hook_z"), "m").check_fits(c, "m"); },
                        {"m.hook", "per-head"});
  expect_error([&] { Monitor::from_json({{"type", "entropy"}, {"threshold", 1}, {"action", "steer"}}, "m"); },
                        {"steer_hook", "steer_direction"});
  expect_error([&] { Monitor::from_json(with("direction", {0, 0, 0, 0}), "m").check_fits(c, "m"); },
                        {"m.direction", "non-zero"});
}
