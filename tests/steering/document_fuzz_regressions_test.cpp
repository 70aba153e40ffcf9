// JSON documents glassbox reads (fuzz/fuzz_interventions, fuzz_profile,
// fuzz_json_docs) on the inputs that broke them: integer fields holding
// floats out of range (nlohmann's get<int>() of 1e300 is undefined
// behaviour), float fields that overflow to inf (a silently wrong run), and
// fields of the wrong JSON type (a json::type_error escaping instead of an
// Error). Each is an Error naming the document and the field.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "common/expect_error.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/features/explain.h"
#include "glassbox/features/harvest.h"
#include "glassbox/interventions.h"
#include "glassbox/mmap_file.h"
#include "glassbox/steering/direction.h"
#include "glassbox/steering/profile.h"
#include "test_util.h"

using namespace glassbox;
using nlohmann::json;
using gbtest::expect_error;

namespace {

TEST(DocumentFuzzRegressions, InterventionIntegersOutOfRange) {
  const json ok = json::parse(R"({"type": "zero_ablate", "hook": "blocks.0.attn.hook_z", "heads": [1], "positions": [3]})");
  EXPECT_EQ(Intervention::from_json(ok).heads, std::vector<int>{1});
  for (const char* bad : {"1e300", "-1e300", "2.5", "4294967298"}) {
    json j = ok;
    j["heads"] = json::array({json::parse(bad)});
    expect_error([&] { (void)Intervention::from_json(j); },
                 {"intervention on 'blocks.0.attn.hook_z': \"heads\"[0]: expected an integer in range"});
  }
  json j = ok;
  j["positions"] = json::array({0, 1e300});
  expect_error([&] { (void)Intervention::from_json(j); }, {"\"positions\"[1]"});
  j = ok;
  j["positions"] = "3";
  expect_error([&] { (void)Intervention::from_json(j); }, {"\"positions\": expected an array of integers"});
}

TEST(DocumentFuzzRegressions, InterventionFloatsThatOverflow) {
  const json ok = json::parse(R"({"type": "add_vector", "hook": "blocks.1.hook_resid_post", "vector": [1, 2]})");
  EXPECT_EQ(Intervention::from_json(ok).vector.size(), 2u);
  json j = ok;
  j["vector"][1] = 1e300;  // inf as a float
  expect_error([&] { (void)Intervention::from_json(j); }, {"'blocks.1.hook_resid_post'", "\"vector\"", "finite"});
  j = ok;
  j["alpha"] = -1e40;
  expect_error([&] { (void)Intervention::from_json(j); }, {"\"alpha\" is not a finite float"});
}

TEST(DocumentFuzzRegressions, ProfileMonitorFloatsThatOverflow) {
  json j = json::parse(R"({"monitors": [{"type": "projection", "hook": "blocks.0.hook_resid_post",
                                          "direction": [1, 0], "threshold": 0.5}]})");
  EXPECT_EQ(steering::Profile::from_json(j).monitors.size(), 1u);
  j["monitors"][0]["direction"][0] = 1e39;
  expect_error([&] { (void)steering::Profile::from_json(j); },
               {"profile.monitors[0].direction[0]: ", "is not a finite float"});
}

TEST(DocumentFuzzRegressions, SteeringDirectionIntegersAndFloats) {
  json j = steering_test::random_direction(2, {1}).to_json();
  EXPECT_EQ(steering::SteeringVector::from_json(j, "v.json").d_model, 2);
  json bad = j;
  bad["d_model"] = 1e300;
  expect_error([&] { (void)steering::SteeringVector::from_json(bad, "v.json"); },
               {"v.json: \"d_model\": expected an integer in range"});
  bad = j;
  bad["layers"][0]["layer"] = 3e9;
  expect_error([&] { (void)steering::SteeringVector::from_json(bad, "v.json"); }, {"v.json", "layer", "in range"});
  bad = j;
  bad["layers"][0]["vector"][0] = -1e300;
  expect_error([&] { (void)steering::SteeringVector::from_json(bad, "v.json"); }, {"v.json", "not a finite float"});
}

TEST(DocumentFuzzRegressions, ExplanationAndMetricIntegers) {
  const json e = json::parse(R"({"text": "x", "feature": 3, "patterns": [{"token": "a", "activation": 1, "matches": 2}]})");
  EXPECT_EQ(features::explanation_from_json(e).feature, 3);
  json bad = e;
  bad["feature"] = 1e300;
  expect_error([&] { (void)features::explanation_from_json(bad); }, {"explanation: \"feature\": expected an integer"});
  bad = e;
  bad["patterns"][0]["matches"] = -1e300;
  expect_error([&] { (void)features::explanation_from_json(bad); }, {"\"matches\": expected an integer"});

  EXPECT_EQ(analysis::PatchMetric::from_json(json::parse(R"({"pos": 2, "answer": [5]})")).pos, 2);
  expect_error([] { (void)analysis::PatchMetric::from_json(json::parse(R"({"pos": 1e300})")); },
               {"metric: \"pos\": expected an integer in range"});
  expect_error([] { (void)analysis::PatchMetric::from_json(json::parse(R"({"answer": [1, 3e9]})")); },
               {"metric: \"answer\"[1]"});
  expect_error([] { (void)analysis::PatchMetric::from_json(json::parse("[1]")); }, {"metric: expected a JSON object"});
}

TEST(DocumentFuzzRegressions, HarvestManifestFieldsOfTheWrongType) {
  const std::string dir = steering_test::scratch("fuzz_manifest");
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/manifest.json";
  for (const char* text : {R"({"format": 3})", R"({"format": "glassbox-harvest", "version": "1"})",
                           R"({"format": "glassbox-harvest", "version": 1e300})"}) {
    write_file_atomic(path, text, std::strlen(text));
    expect_error([&] { (void)features::read_harvest_manifest(dir); }, {path});
  }
}

}  // namespace
