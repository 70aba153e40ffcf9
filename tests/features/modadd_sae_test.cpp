// Ground truth for sparse dictionaries on the modular-addition organism: its
// MLP neurons compute with a few key frequencies (Nanda et al. 2023), so the
// latents of an SAE trained on the MLP activations over every input a + b
// must each use one frequency, and one of those.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>

#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/fourier.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/shuffle.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

constexpr int kP = 113;
constexpr const char* kHook = "blocks.0.mlp.hook_post";

bool shipped() { return fs::exists(fs::path(zoo::models_dir()) / "modadd" / "model.safetensors"); }
fs::path sae_dir() { return fs::path(zoo::models_dir()) / "modadd" / "saes" / kHook; }

struct Grid {
  std::vector<float> acts;  // [p*p, d_mlp]: every input " a b =", row a*p+b
  int64_t d = 0, rows = int64_t(kP) * kP;
  std::set<int> key;        // the key frequencies: the dominant ones of at least 5 neurons
};

Grid mlp_grid() {
  const Model m = Model::load(zoo::models_dir() + "/modadd");
  Engine e{m};
  Grid g;
  g.acts = modadd_grid(e, kHook, kP);
  g.d = m.config().d_mlp;
  std::map<int, int> neurons_per_freq;
  for (int64_t j = 0; j < g.d; ++j) {
    const FrequencyProfile pr = frequency_profile(g.acts.data() + j, kP, g.d);
    if (pr.dominant != 0 && pr.dominant_fraction() > 0.5) ++neurons_per_freq[pr.dominant];
  }
  std::string list;
  for (const auto& [k, n] : neurons_per_freq)
    if (n >= 5) g.key.insert(k), list += " " + std::to_string(k) + " (" + std::to_string(n) + " neurons)";
  std::printf("key frequencies:%s\n", list.c_str());
  return g;
}

// The recipe behind models/modadd/saes/blocks.0.mlp.hook_post: a small TopK SAE
// (fewer latents than the 113 answers, so it cannot spend one latent per value
// of a + b and must use the frequencies) on all p^2 inputs, shuffled, ~24 passes.
Sae train_mlp_sae(const Grid& g) {
  MemoryStream grid_stream({kHook}, {g.d}, {g.acts});
  ShuffleBuffer shuffled(grid_stream, g.rows, 1);
  DictionarySpec spec;
  spec.sae.arch = SaeArch::TopK;
  spec.sae.k = 8;
  spec.sae.d_in = g.d;
  spec.sae.d_sae = 32;
  spec.sae.hook_name = kHook;
  spec.sae.model_name = "modadd";
  spec.sae.context_size = 4;
  spec.optimizer.lr = 3e-3f;
  spec.schedule = {20, 0.1f, Decay::Cosine};
  spec.loss.aux_k = 64;
  spec.dead_after_tokens = 4 * g.rows;
  TrainDictionariesOptions opt;
  opt.batch_rows = 1024;
  opt.total_tokens = 300'000;
  opt.progress = false;
  return train_dictionaries(shuffled, {spec}, opt).dictionaries.at(0).sae;
}

// Every alive latent's activation over the grid, profiled: how many put >= 0.5
// of their power in one frequency, and how many of those use a key frequency.
void expect_latents_on_key_frequencies(const Sae& sae, const Grid& g) {
  ASSERT_EQ(sae.cfg.d_in, g.d);
  std::vector<float> f(size_t(g.rows * sae.cfg.d_sae));
  sae.encode(g.acts.data(), g.rows, f.data());
  int alive = 0, single = 0, on_key = 0;
  for (int64_t l = 0; l < sae.cfg.d_sae; ++l) {
    const FrequencyProfile pr = frequency_profile(f.data() + l, kP, sae.cfg.d_sae);
    if (pr.dominant == 0) continue;  // never fires (or the same everywhere)
    ++alive;
    if (pr.dominant_fraction() < 0.5) continue;
    ++single;
    on_key += g.key.count(pr.dominant) > 0;
  }
  std::printf("%d alive latents of %lld: %d with >= 0.5 of their power in one frequency, %d of them a key one\n",
              alive, (long long)sae.cfg.d_sae, single, on_key);
  EXPECT_GE(alive, int(0.9 * double(sae.cfg.d_sae)));
  EXPECT_GE(double(single) / alive, 0.8) << single << " of " << alive;
  EXPECT_GE(double(on_key) / single, 0.95) << on_key << " of " << single;
}

TEST(ModaddSae, ShippedMlpSaeLatentsUseTheNeuronsKeyFrequencies) {
  if (!shipped() || !fs::exists(sae_dir() / "cfg.json")) GTEST_SKIP() << "no shipped modadd SAE";
  const Grid g = mlp_grid();
  ASSERT_GE(g.key.size(), 2u);
  const Sae sae = load_saelens(sae_dir().string());
  EXPECT_EQ(sae.cfg.hook_name, kHook);
  expect_latents_on_key_frequencies(sae, g);
}

// Retrains the shipped SAE (20 s on two cores, so not part of the suite):
//   GLASSBOX_TRAIN_MODADD_SAE=models/modadd/saes/blocks.0.mlp.hook_post
//   build-dev/tests/test_features --gtest_filter=ModaddSae.*   (with the variable set)
TEST(ModaddSae, TrainingRecipe) {
  const char* out = std::getenv("GLASSBOX_TRAIN_MODADD_SAE");
  if (!shipped() || !out) GTEST_SKIP() << "set GLASSBOX_TRAIN_MODADD_SAE=DIR to retrain the shipped SAE";
  const Grid g = mlp_grid();
  const Sae sae = train_mlp_sae(g);
  expect_latents_on_key_frequencies(sae, g);
  save_saelens(sae, out);
}

}  // namespace
}  // namespace glassbox::features
