// train_dictionaries: it learns (planted features come back), one stream
// batch serves several dictionaries, a paused and resumed run equals an
// uninterrupted one, transcoders and crosscoders train.
#include "glassbox/features/dictionary_train.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "features/sae_test_util.h"
#include "glassbox/error.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/saelens.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

using testing::planted_features;
using testing::recovered_fraction;

const char* kSite = "blocks.0.hook_resid_post";

DictionarySpec spec(SaeArch a, int64_t d_in, int64_t d_sae, int64_t k, const std::string& name = "") {
  DictionarySpec s;
  s.name = name;
  s.sae.arch = a;
  s.sae.d_in = d_in;
  s.sae.d_sae = d_sae;
  s.sae.k = k;
  s.sae.hook_name = kSite;
  s.optimizer.lr = 3e-3f;
  s.seed = 7;
  return s;
}

TrainDictionariesOptions options(int64_t batch, int64_t steps) {
  TrainDictionariesOptions o;
  o.batch_rows = batch;
  o.total_tokens = batch * steps;
  o.progress = false;
  return o;
}

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("glassbox-dict-" + name + "-" + std::to_string(::getpid()));
  fs::remove_all(p);
  return p;
}

TEST(TrainDictionaries, TopKSaeRecoversPlantedFeatures) {
  const auto P = planted_features(24, 12, 8192, 0.06, 1);
  MemoryStream stream({kSite}, {12}, {P.rows});
  DictionarySpec s = spec(SaeArch::TopK, 12, 48, 3);
  const auto r = train_dictionaries(stream, {s}, options(256, 600));
  const Sae& sae = r.dictionaries[0].sae;
  EXPECT_GE(recovered_fraction(sae, P.dirs, 24, 0.9), 0.9);
  const auto& log = r.dictionaries[0].log;
  ASSERT_GE(log.size(), 2u);
  EXPECT_LT(log.back().mse, 0.2 * log.front().mse);
  EXPECT_LE(log.back().l0, 3.0);
}

TEST(TrainDictionaries, ReluAndJumpReluLearnSparseReconstructions) {
  const auto P = planted_features(24, 12, 8192, 0.06, 2);
  MemoryStream stream({kSite}, {12}, {P.rows});
  DictionarySpec relu = spec(SaeArch::Relu, 12, 48, 0, "relu");
  relu.loss.l1_coefficient = 0.6f;
  DictionarySpec jump = spec(SaeArch::JumpRelu, 12, 48, 0, "jump");
  jump.loss.l0_coefficient = 0.05f;
  jump.loss.jumprelu_bandwidth = 0.05f;
  jump.jumprelu_init_threshold = 0.1f;
  const auto r = train_dictionaries(stream, {relu, jump}, options(256, 600));
  for (const auto& d : r.dictionaries) {
    SCOPED_TRACE(d.name);
    EXPECT_LT(d.log.back().mse, 0.3 * d.log.front().mse);
    EXPECT_LT(d.log.back().l0, 6.0);  // planted: 1.44 features per row
    std::printf("%s: mse %.4f -> %.4f, l0 %.2f\n", d.name.c_str(), d.log.front().mse, d.log.back().mse, d.log.back().l0);
  }
}

TEST(TrainDictionaries, SeveralDictionariesFromOneStreamEqualEachTrainedAlone) {
  const auto P = planted_features(16, 8, 2048, 0.1, 3);
  MemoryStream stream({kSite}, {8}, {P.rows});
  const DictionarySpec a = spec(SaeArch::TopK, 8, 32, 2, "a");
  DictionarySpec b = spec(SaeArch::BatchTopK, 8, 16, 3, "b");
  b.b_dec_init = BDecInit::Mean;
  const auto both = train_dictionaries(stream, {a, b}, options(128, 30));
  const auto alone = train_dictionaries(stream, {b}, options(128, 30));
  EXPECT_EQ(both.dictionaries[1].sae.W_dec, alone.dictionaries[0].sae.W_dec);
  EXPECT_EQ(both.dictionaries[1].sae.threshold, alone.dictionaries[0].sae.threshold);
  EXPECT_GT(both.dictionaries[1].sae.threshold[0], 0.f);  // BatchTopK's estimated inference threshold
}

TEST(TrainDictionaries, ResumedRunEqualsUninterruptedRun) {
  const auto P = planted_features(16, 8, 1000, 0.1, 4);  // not a multiple of the batch: rewinds mid-run
  MemoryStream stream({kSite}, {8}, {P.rows});
  DictionarySpec t = spec(SaeArch::TopK, 8, 32, 2, "topk");
  t.dead_after_tokens = 256;  // dead latents and the aux-k loss take part
  t.loss.aux_k = 4;
  t.normalize_activations = true;
  DictionarySpec j = spec(SaeArch::JumpRelu, 8, 16, 0, "jump");
  DictionarySpec b = spec(SaeArch::BatchTopK, 8, 16, 2, "btk");
  t.schedule = {3, 0.1f, Decay::Cosine};
  const std::vector<DictionarySpec> specs = {t, j, b};
  const fs::path d1 = scratch("full"), d2 = scratch("paused");
  TrainDictionariesOptions o = options(96, 24);
  o.out_dir = d1.string();
  const auto full = train_dictionaries(stream, specs, o);
  o.out_dir = d2.string();
  o.stop_at_step = 11;
  const auto first = train_dictionaries(stream, specs, o);
  EXPECT_EQ(first.steps_done, 11);
  EXPECT_FALSE(fs::exists(d2 / "topk" / kSaeCfgFile));  // unfinished: only the checkpoint
  o.stop_at_step = 0;
  const auto rest = train_dictionaries(stream, specs, o);
  EXPECT_TRUE(rest.resumed);
  EXPECT_EQ(rest.steps_done, 24);
  for (size_t i = 0; i < specs.size(); ++i) {
    SCOPED_TRACE(specs[i].name);
    const Sae& x = full.dictionaries[i].sae;
    const Sae& y = rest.dictionaries[i].sae;
    EXPECT_EQ(x.W_enc, y.W_enc);
    EXPECT_EQ(x.W_dec, y.W_dec);
    EXPECT_EQ(x.b_enc, y.b_enc);
    EXPECT_EQ(x.b_dec, y.b_dec);
    EXPECT_EQ(x.threshold, y.threshold);
    ASSERT_EQ(full.dictionaries[i].log.size(), rest.dictionaries[i].log.size());
    EXPECT_EQ(full.dictionaries[i].log.back().loss, rest.dictionaries[i].log.back().loss);
    // The written directory is what SAELens loads: the same SAE.
    const Sae disk = load_saelens((d2 / specs[i].name).string());
    EXPECT_EQ(disk.W_dec, y.W_dec);
    EXPECT_EQ(disk.cfg.normalize_activations, ActNorm::None);
  }
  EXPECT_GT(full.dictionaries[0].log.back().dead_fraction + full.dictionaries[0].log.back().aux, 0);
  fs::remove_all(d1);
  fs::remove_all(d2);
}

TEST(TrainDictionaries, TranscoderLearnsAMapBetweenSites) {
  // Target = a fixed linear map of sparse inputs: a transcoder can fit it.
  const auto P = planted_features(16, 8, 4096, 0.08, 5);
  const auto M = testing::randn(8 * 6, 6, 0.5f);
  std::vector<float> out(4096 * 6, 0.f);
  for (int64_t n = 0; n < 4096; ++n)
    for (int64_t o = 0; o < 6; ++o)
      for (int64_t i = 0; i < 8; ++i) out[size_t(n * 6 + o)] += P.rows[size_t(n * 8 + i)] * M[size_t(i * 6 + o)];
  MemoryStream stream({"blocks.0.ln2.hook_normalized", "blocks.0.hook_mlp_out"}, {8, 6}, {P.rows, out});
  DictionarySpec s = spec(SaeArch::TopK, 8, 32, 3);
  s.sae.hook_name = "blocks.0.ln2.hook_normalized";
  s.sae.hook_name_out = "blocks.0.hook_mlp_out";
  s.sae.d_out = 6;
  const auto r = train_dictionaries(stream, {s}, options(256, 300));
  const auto& log = r.dictionaries[0].log;
  EXPECT_LT(log.back().mse, 0.25 * log.front().mse);
}

TEST(TrainDictionaries, CrosscoderSeparatesSharedFromExclusiveLatents) {
  // Source b holds the first 8 features as source a does; features 8..15 appear in a only.
  const int64_t d = 8, n_feat = 16, rows = 8192;
  const auto P = planted_features(n_feat, d, 1, 0.0, 6);  // directions only
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<float> a(static_cast<size_t>(rows * d), 0.f), b(size_t(rows * d), 0.f);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t f = 0; f < n_feat; ++f)
      if (u(rng) < 0.06) {
        const float m = float(0.5 + u(rng));
        for (int64_t i = 0; i < d; ++i) {
          a[size_t(n * d + i)] += m * P.dirs[size_t(f * d + i)];
          if (f < 8) b[size_t(n * d + i)] += m * P.dirs[size_t(f * d + i)];
        }
      }
  MemoryStream stream({"tiny-lm/x", "tiny-lm-chat/x"}, {d, d}, {a, b});
  DictionarySpec s = spec(SaeArch::TopK, d, 32, 3);
  s.sae.n_sources = 2;
  s.sae.source_names = {"tiny-lm/x", "tiny-lm-chat/x"};
  const auto r = train_dictionaries(stream, {s}, options(256, 600));
  const Sae& x = r.dictionaries[0].sae;
  const auto norms = x.decoder_norms_per_source();  // [d_sae, 2]
  // The latent that best matches each feature in source a: shared features
  // keep half their decoder norm in b, exclusive ones almost none.
  int shared_ok = 0, exclusive_ok = 0;
  for (int64_t f = 0; f < n_feat; ++f) {
    int64_t best = 0;
    double bc = -1;
    for (int64_t j = 0; j < 32; ++j) {
      double dot = 0;
      for (int64_t i = 0; i < d; ++i) dot += double(P.dirs[size_t(f * d + i)]) * x.W_dec[size_t(j * 2 * d + i)];
      const double c = dot / std::max(1e-9, double(norms[size_t(j * 2)]));
      if (c > bc) bc = c, best = j;
    }
    const double rel_b = norms[size_t(best * 2 + 1)] / (norms[size_t(best * 2)] + norms[size_t(best * 2 + 1)]);
    if (f < 8) shared_ok += rel_b > 0.35 && rel_b < 0.65;
    else exclusive_ok += rel_b < 0.15;
  }
  EXPECT_GE(shared_ok, 7);
  EXPECT_GE(exclusive_ok, 7);
}

TEST(TrainDictionaries, ErrorsNameTheSiteAndTheProblem) {
  MemoryStream stream({kSite}, {4}, {std::vector<float>(4 * 10, 1.f)});
  DictionarySpec s = spec(SaeArch::TopK, 4, 8, 2);
  s.sae.hook_name = "blocks.9.hook_resid_post";
  try {
    train_dictionaries(stream, {s}, options(5, 2));
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks.9.hook_resid_post"), std::string::npos) << e.what();
  }
  s.sae.hook_name = kSite;
  EXPECT_THROW(train_dictionaries(stream, {s}, options(20, 2)), Error);  // batch larger than the stream
  s.sae.d_in = 5;
  EXPECT_THROW(train_dictionaries(stream, {s}, options(5, 2)), Error);   // width mismatch
  EXPECT_THROW(MemoryStream({"a", "b"}, {2, 2}, {std::vector<float>(4), std::vector<float>(6)}), Error);
}

TEST(GeometricMedian, IsRobustToAnOutlierWhereTheMeanIsNot) {
  // Four points at the corners of a unit square plus one far away.
  const std::vector<float> x = {0, 0, 1, 0, 0, 1, 1, 1, 100, 100};
  const auto m = geometric_median(x.data(), 5, 2);  // the mean is (20.4, 20.4)
  for (float v : m) {
    EXPECT_GE(v, 0.4f);
    EXPECT_LE(v, 1.0f + 1e-4f);
  }
  const std::vector<float> sym = {1, 0, -1, 0, 0, 1, 0, -1};
  const auto c = geometric_median(sym.data(), 4, 2);
  EXPECT_NEAR(c[0], 0, 1e-5);
  EXPECT_NEAR(c[1], 0, 1e-5);
}

}  // namespace
}  // namespace glassbox::features

namespace glassbox::features {
namespace {

TEST(TrainDictionaries, ResumeIsExactOnTheMultithreadedPathsToo) {
  // Big enough (256 rows x 512 latents) that every OpenMP region and GEMM runs threaded.
  const auto P = planted_features(96, 32, 2048, 0.05, 8);
  MemoryStream stream({kSite}, {32}, {P.rows});
  DictionarySpec t = spec(SaeArch::TopK, 32, 512, 8, "topk");
  DictionarySpec r = spec(SaeArch::Relu, 32, 512, 0, "relu");
  r.loss.l1_coefficient = 0.3f;
  const fs::path d1 = scratch("mt-full"), d2 = scratch("mt-paused");
  TrainDictionariesOptions o = options(256, 12);
  o.out_dir = d1.string();
  const auto full = train_dictionaries(stream, {t, r}, o);
  o.out_dir = d2.string();
  o.stop_at_step = 5;
  train_dictionaries(stream, {t, r}, o);
  o.stop_at_step = 0;
  const auto rest = train_dictionaries(stream, {t, r}, o);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(full.dictionaries[i].sae.W_enc, rest.dictionaries[i].sae.W_enc);
    EXPECT_EQ(full.dictionaries[i].sae.W_dec, rest.dictionaries[i].sae.W_dec);
    EXPECT_EQ(full.dictionaries[i].log.back().loss, rest.dictionaries[i].log.back().loss);
  }
  fs::remove_all(d1);
  fs::remove_all(d2);
}

}  // namespace
}  // namespace glassbox::features
