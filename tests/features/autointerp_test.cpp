// Autointerp over many latents: on the superposition organism, with its true
// feature directions (the model's own readout) as the feature map, the
// built-in explanations name the planted features and beat the shuffled
// control; and the FeatureExamples JSON form.
#include "glassbox/features/autointerp.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/features/superposition.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

bool shipped() { return fs::exists(fs::path(zoo::models_dir()) / "superposition" / "model.safetensors"); }

TEST(AutointerpSuperposition, ExplanationsNameThePlantedFeaturesAndBeatTheControl) {
  if (!shipped()) GTEST_SKIP() << "glassbox zoo train superposition";
  const zoo::SuperpositionModel m = zoo::SuperpositionModel::load();
  const SuperpositionReadout truth(m);
  const std::vector<FeatureExamples> ex = superposition_examples(m, truth);
  const AutointerpReport r = autointerp(ex, BuiltinExplainer(), BuiltinSimulator(), 1);
  ASSERT_EQ(r.explanations.size(), size_t(m.n_features));
  int named = 0;
  for (int64_t i = 0; i < m.n_features; ++i) {
    const Explanation& e = r.explanations[size_t(i)];
    const bool ok = !e.patterns.empty() && e.patterns[0].token == m.names[size_t(i)] &&
                    e.text.find('"' + m.names[size_t(i)] + '"') != std::string::npos;
    named += ok;
    if (!ok) std::printf("feature %s: %s\n", m.names[size_t(i)].c_str(), e.text.c_str());
  }
  EXPECT_GE(named, int(0.9 * double(m.n_features))) << named << " of " << m.n_features;
  const nlohmann::json s = r.summary();
  for (const char* k : {"simulation", "detection_auroc", "fuzzing_auroc"}) {
    const double ours = s[k]["explained"]["mean"].get<double>(), control = s[k]["control"]["mean"].get<double>();
    EXPECT_GT(ours, control + 0.3) << k << ": " << s.dump();
  }
  EXPECT_GT(s["simulation"]["explained"]["median"].get<double>(), 0.8) << s.dump();
  EXPECT_LT(std::abs(s["simulation"]["control"]["mean"].get<double>()), 0.15) << s.dump();
  for (size_t i = 0; i < r.shuffle.size(); ++i) EXPECT_NE(r.shuffle[i], i) << "the control kept a latent's own";
}

// Two latents with made-up records, enough for a report.
std::vector<FeatureExamples> two_latents() {
  FeatureExamples a, b;
  a.feature = 3, b.feature = 8;
  a.density = 0.25;
  for (int i = 0; i < 6; ++i) {
    a.top.push_back({{" cat", " sat", " on"}, {2.f - 0.1f * float(i), 0, 0}});
    b.top.push_back({{" the", " dog", " ran"}, {0, 1.5f, 0}});
    a.random.push_back({{" a", " dog"}, {0, 0}});
    b.random.push_back({{" a", " cat"}, {0, 0}});
  }
  return {a, b};
}

TEST(AutointerpReport, ScoresEveryLatentWithItsOwnAndAnotherExplanation) {
  const std::vector<FeatureExamples> ex = two_latents();
  size_t calls = 0, last = 0;
  const AutointerpReport r =
      autointerp(ex, BuiltinExplainer(), BuiltinSimulator(), 0, [&](size_t done, size_t total) {
        ++calls, last = done;
        EXPECT_EQ(total, 4u);
      });
  EXPECT_EQ(calls, 4u);
  EXPECT_EQ(last, 4u);
  EXPECT_EQ(r.features, (std::vector<int64_t>{3, 8}));
  EXPECT_EQ(r.shuffle, (std::vector<size_t>{1, 0}));
  EXPECT_EQ(r.explanations[0].text, R"(token " cat")");
  EXPECT_GT(r.scores[0].simulation, 0.9);
  EXPECT_LE(r.control[0].simulation, 0.0);
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j["latents"][1]["control_explanation_of"], 3);
  EXPECT_EQ(j["summary"]["simulation"]["explained"]["n"], 2);
  EXPECT_THROW(autointerp({ex[0]}, BuiltinExplainer(), BuiltinSimulator()), Error);
  EXPECT_THROW(score_explanations({r.explanations[0]}, ex, BuiltinSimulator()), Error);
}

TEST(FeatureExamplesJson, RoundTripsAndNamesWhatIsMalformed) {
  const std::vector<FeatureExamples> ex = two_latents();
  const FeatureExamples back = feature_examples_from_json(to_json(ex[0]));
  EXPECT_EQ(back.feature, 3);
  EXPECT_EQ(back.density, 0.25);
  ASSERT_EQ(back.top.size(), 6u);
  EXPECT_EQ(back.top[1].tokens, ex[0].top[1].tokens);
  EXPECT_EQ(back.top[1].acts, ex[0].top[1].acts);
  EXPECT_EQ(back.random.size(), 6u);

  nlohmann::json bad = to_json(ex[0]);
  bad["top"][2]["acts"].push_back(1.0);
  try {
    feature_examples_from_json(bad, "f.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("f.json: top[2]: 3 tokens but 4 activations"), std::string::npos) << e.what();
  }
  EXPECT_THROW(feature_examples_from_json({{"feature", 1}}), Error);              // no top
  EXPECT_THROW(feature_examples_from_json({{"feature", "x"}, {"top", {}}}), Error);
  EXPECT_THROW(feature_examples_from_json({{"feature", 1}, {"top", {{{"tokens", {"a"}}, {"acts", {"x"}}}}}}), Error);

  const fs::path p = fs::temp_directory_path() / ("glassbox_examples_" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << nlohmann::json{{"features", {to_json(ex[0]), to_json(ex[1])}}}.dump();
  EXPECT_EQ(read_feature_examples(p.string()).size(), 2u);
  std::ofstream(p) << to_json(ex[1]).dump();
  EXPECT_EQ(read_feature_examples(p.string())[0].feature, 8);
  std::ofstream(p) << "[1]";
  EXPECT_THROW(read_feature_examples(p.string()), Error);
  fs::remove(p);
}

}  // namespace
}  // namespace glassbox::features
