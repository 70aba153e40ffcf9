// Ground truth for sparse dictionaries: on the superposition organism, whose
// true feature directions ship with it, an SAE trained on its hidden vectors
// finds those directions, and the built-in autointerp names each recovered
// latent after the feature it found.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "glassbox/features/autointerp.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/superposition.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

bool shipped() { return fs::exists(fs::path(zoo::models_dir()) / "superposition" / "model.safetensors"); }

// Feature i's direction in hook_hidden: column i of W [d_hidden, n_features], as rows [n, d_hidden].
std::vector<float> true_directions(const zoo::SuperpositionModel& m) {
  std::vector<float> d(size_t(m.n_features * m.d_hidden));
  for (int64_t i = 0; i < m.n_features; ++i)
    for (int64_t r = 0; r < m.d_hidden; ++r) d[size_t(i * m.d_hidden + r)] = m.W[size_t(r * m.n_features + i)];
  return d;
}

// The recipe behind models/superposition/saes/hook_hidden (README "Ground truth for features").
Sae train_topk(const zoo::SuperpositionModel& m) {
  SuperpositionStream stream(m, /*seed=*/7);
  DictionarySpec spec;
  spec.sae.arch = SaeArch::TopK;
  spec.sae.k = 4;
  spec.sae.d_in = m.d_hidden;
  spec.sae.d_sae = 3 * m.n_features;
  spec.sae.hook_name = "hook_hidden";
  spec.sae.model_name = "superposition";
  spec.optimizer.lr = 1e-2f;
  spec.schedule = {100, 0.1f, Decay::Cosine};
  spec.loss.aux_k = 32;
  spec.dead_after_tokens = 100'000;
  TrainDictionariesOptions opt;
  opt.batch_rows = 1024;
  opt.total_tokens = 300'000;
  opt.progress = false;
  return train_dictionaries(stream, {spec}, opt).dictionaries.at(0).sae;
}

TEST(SaeGroundTruth, TopKOnSuperpositionRecoversTheTrueFeaturesAndAutointerpNamesThem) {
  if (!shipped()) GTEST_SKIP() << "glassbox zoo train superposition";
  const zoo::SuperpositionModel m = zoo::SuperpositionModel::load();
  const std::vector<float> truth = true_directions(m);
  const Sae sae = train_topk(m);
  const double recovered = recovered_fraction(truth, sae.W_dec, m.d_hidden, 0.9);
  std::printf("recovered %.3f of %lld true features at cosine >= 0.9\n", recovered, (long long)m.n_features);
  EXPECT_GE(recovered, 0.9);

  // Each true feature's best latent, when its cosine reaches 0.9: the built-in
  // autointerp, run over those latents, must name that feature in the latent's
  // explanation, and score above the same explanations shuffled across latents.
  std::vector<int64_t> matched_feature, matched_latent;
  for (int64_t i = 0; i < m.n_features; ++i) {
    const std::vector<double> c =
        best_cosines(sae.W_dec, std::vector<float>(truth.begin() + i * m.d_hidden, truth.begin() + (i + 1) * m.d_hidden),
                     m.d_hidden);  // each latent's cosine with feature i
    const auto best = std::max_element(c.begin(), c.end());
    if (*best >= 0.9) matched_feature.push_back(i), matched_latent.push_back(best - c.begin());
  }
  ASSERT_GE(matched_latent.size(), 2u);
  const std::vector<FeatureExamples> all = superposition_examples(m, sae);
  std::vector<FeatureExamples> ex;
  for (int64_t l : matched_latent) ex.push_back(all.at(size_t(l)));
  const AutointerpReport r = autointerp(ex, BuiltinExplainer(), BuiltinSimulator(), 1);
  int named = 0;
  for (size_t j = 0; j < ex.size(); ++j) {
    const Explanation& e = r.explanations[j];
    const std::string& name = m.names[size_t(matched_feature[j])];
    const bool ok = !e.patterns.empty() && e.patterns[0].token == name;
    named += ok;
    if (!ok) std::printf("feature %s -> latent %lld: %s\n", name.c_str(), (long long)matched_latent[j], e.text.c_str());
  }
  std::printf("autointerp named %d of %zu recovered features\n", named, ex.size());
  EXPECT_GE(named, int(std::ceil(0.9 * double(ex.size())))) << named << " of " << ex.size();
  const nlohmann::json s = r.summary();
  for (const char* k : {"simulation", "detection_auroc", "fuzzing_auroc"}) {
    std::printf("%-16s explained %.3f  control %.3f\n", k, s[k]["explained"]["mean"].get<double>(),
                s[k]["control"]["mean"].get<double>());
    EXPECT_GT(s[k]["explained"]["mean"].get<double>(), s[k]["control"]["mean"].get<double>() + 0.3) << k << ": " << s.dump();
  }

  // GLASSBOX_WRITE_SAE=DIR writes the trained SAE (how the shipped one was made).
  if (const char* dir = std::getenv("GLASSBOX_WRITE_SAE")) save_saelens(sae, dir);
}

TEST(SaeGroundTruth, ShippedSuperpositionSaeRecoversTheTrueFeatures) {
  const fs::path dir = fs::path(zoo::models_dir()) / "superposition" / "saes" / "hook_hidden";
  if (!shipped() || !fs::exists(dir / "cfg.json")) GTEST_SKIP() << "no shipped superposition SAE";
  const zoo::SuperpositionModel m = zoo::SuperpositionModel::load();
  const Sae sae = load_saelens(dir.string());
  EXPECT_EQ(sae.cfg.hook_name, "hook_hidden");
  EXPECT_GE(recovered_fraction(true_directions(m), sae.W_dec, m.d_hidden, 0.9), 0.9);
}

}  // namespace
}  // namespace glassbox::features
