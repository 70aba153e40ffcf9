// Profiles: JSON both ways, errors naming the field, and the promise the
// HTTP server relies on: two requests with different profiles on one loaded
// Model, run concurrently from two threads, each get exactly what they get alone.
#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/steering/profile.h"
#include "glassbox/tokenizer.h"
#include "test_util.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

std::vector<float> random_vector(int64_t d, uint64_t seed) {
  return steering_test::random_direction(d, {0}, seed).layers[0].vector;
}

nlohmann::json steer_profile(int64_t d) {
  return {{"interventions",
           {{{"type", "add_vector"}, {"hook", "blocks.1.hook_resid_post"}, {"vector", random_vector(d, 5)},
             {"alpha", 6.0}}}},
          {"monitors",
           {{{"type", "entropy"}, {"threshold", 3.0}},
            {{"type", "projection"}, {"hook", "blocks.2.hook_resid_post"}, {"direction", random_vector(d, 6)},
             {"threshold", 0.0}, {"action", "steer"}, {"alpha", 8.0}}}}};
}

nlohmann::json stop_profile(int64_t d) {
  return {{"interventions", {{{"type", "project_out"}, {"hook", "blocks.*.hook_resid_post"}, {"vector", random_vector(d, 7)}}}},
          {"monitors",
           {{{"type", "logit_lens"}, {"threshold", 2}, {"when", "below"}},
            {{"name", "unsure"}, {"type", "entropy"}, {"threshold", 5.5}, {"action", "stop"}}}}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Profile, JsonRoundTripsThroughAFile) {
  nlohmann::json j = steer_profile(8);
  j["name"] = "calm";
  const Profile p = Profile::from_json(j);
  EXPECT_EQ(p.name, "calm");
  ASSERT_EQ(p.interventions.size(), 1u);
  ASSERT_EQ(p.monitors.size(), 2u);
  EXPECT_EQ(p.monitors[1].action, MonitorAction::Steer);
  const std::string path = steering_test::scratch("profile.json");
  save_profile(p, path);
  const Profile q = load_profile(path);
  EXPECT_EQ(q.to_json(), p.to_json());
  EXPECT_EQ(Profile::from_json(nlohmann::json::object()).to_json(),
            (nlohmann::json{{"interventions", nlohmann::json::array()}, {"monitors", nlohmann::json::array()}}));
}

TEST(Profile, ErrorsNameTheField) {
  Config c;
  c.d_model = 8;
  c.n_layers = 3;
  c.n_heads = 2;
  c.n_kv_heads = 2;
  c.d_head = 4;
  c.d_mlp = 16;
  c.d_vocab = 10;
  c.n_ctx = 8;
  EXPECT_NO_THROW(Profile::from_json(steer_profile(8)).check_fits(c));
  auto fits = [&](const nlohmann::json& j) { return error_of([&] { Profile::from_json(j).check_fits(c); }); };
  nlohmann::json j = steer_profile(8);
  j["interventions"][0]["vector"] = random_vector(6, 1);
  EXPECT_NE(fits(j).find("profile.interventions[0].vector: 6 values, but 'blocks.1.hook_resid_post' has width 8"),
            std::string::npos)
      << fits(j);
  j = steer_profile(8);
  j["interventions"][0]["hook"] = "blocks.5.hook_resid_post";
  EXPECT_NE(fits(j).find("profile.interventions[0].hook"), std::string::npos) << fits(j);
  EXPECT_NE(fits(j).find("out of range"), std::string::npos) << fits(j);
  j = steer_profile(8);
  j["interventions"][0].erase("vector");
  EXPECT_NE(fits(j).find("profile.interventions[0]"), std::string::npos) << fits(j);
  EXPECT_NE(fits(j).find("vector"), std::string::npos) << fits(j);
  j = steer_profile(8);
  j["monitors"][1]["type"] = "sentiment";
  EXPECT_NE(fits(j).find("profile.monitors[1].type"), std::string::npos) << fits(j);
  EXPECT_NE(fits(j).find("sentiment"), std::string::npos) << fits(j);
  j = steer_profile(8);
  j["monitors"][1]["direction"] = random_vector(9, 1);
  EXPECT_NE(fits(j).find("profile.monitors[1].direction: 9 values"), std::string::npos) << fits(j);
  j = steer_profile(8);
  j["monitors"][1]["hook"] = "blocks.3.hook_resid_post";
  EXPECT_NE(fits(j).find("profile.monitors[1].hook"), std::string::npos) << fits(j);
  j = steer_profile(8);
  j["monitor"] = j["monitors"];
  EXPECT_NE(fits(j).find("profile.monitor: unknown field"), std::string::npos) << fits(j);
  EXPECT_NE(fits(nlohmann::json::array()).find("profile: expected an object"), std::string::npos);
  EXPECT_NE(fits({{"monitors", {{"type", "entropy"}}}}).find("monitors"), std::string::npos);

  const std::string bad = steering_test::scratch("bad_profile.json");
  std::ofstream(bad) << "{\"monitors\": [";
  EXPECT_NE(error_of([&] { load_profile(bad); }).find(bad), std::string::npos);
}

// Each request alone, then both at once from two threads on the same Model:
// identical tokens, events and values. The two profiles differ in output (so
// the comparison could fail), and an empty profile is plain generate().
TEST(Profile, ConcurrentRequestsGetWhatTheyGetAlone) {
  REQUIRE_MODEL("toxic");
  const Model m = Model::load(steering_test::model_dir("toxic"));
  const int64_t d = m.config().d_model;
  const Profile a = Profile::from_json(steer_profile(d)), b = Profile::from_json(stop_profile(d));
  const std::vector<std::vector<int32_t>> ps = {m.tokenizer()->encode("The old man said that"),
                                                m.tokenizer()->encode("YOU ARE SICK, TWISTED AND")};
  SamplingOptions so;
  so.max_new_tokens = 24;
  so.temperature = 1.0f;
  so.seed = 3;
  const MonitoredGeneration alone_a = generate_with_profile(m, ps, so, a);
  const MonitoredGeneration alone_b = generate_with_profile(m, ps, so, b);
  {
    Engine e(m);
    EXPECT_EQ(generate_with_profile(m, ps, so, Profile{}).tokens, generate(e, ps, so).tokens);
    EXPECT_NE(alone_a.tokens, generate(e, ps, so).tokens);
  }
  EXPECT_NE(alone_a.tokens, alone_b.tokens);
  EXPECT_FALSE(alone_a.events.empty());
  for (int round = 0; round < 2; ++round) {
    MonitoredGeneration ga, gb;
    std::string err_a, err_b;  // an exception must not escape a thread
    std::thread ta([&] { err_a = error_of([&] { ga = generate_with_profile(m, ps, so, a); }); });
    std::thread tb([&] { err_b = error_of([&] { gb = generate_with_profile(m, ps, so, b); }); });
    ta.join();
    tb.join();
    ASSERT_EQ(err_a, "(no error)");
    ASSERT_EQ(err_b, "(no error)");
    EXPECT_EQ(ga.to_json(), alone_a.to_json()) << "round " << round;
    EXPECT_EQ(gb.to_json(), alone_b.to_json()) << "round " << round;
  }
}
