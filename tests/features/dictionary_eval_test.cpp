// evaluate_dictionary against the metrics computed by hand from
// Sae::encode / decode over the same rows; MemoryStream and activation files.
#include "glassbox/features/dictionary_eval.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "features/sae_test_util.h"
#include "glassbox/error.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/safetensors.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

TEST(EvaluateDictionary, MatchesMetricsComputedByHand) {
  SaeConfig c;
  c.arch = SaeArch::JumpRelu;
  c.d_in = 5, c.d_sae = 20;
  c.hook_name = "h";
  Sae s = testing::random_sae(c, 3, -0.6f);
  s.b_enc[0] = 50.f;   // fires always: dense
  s.b_enc[1] = -50.f;  // never fires: dead
  const int64_t rows = 37;
  const auto x = testing::randn(size_t(rows * 5), 4);
  MemoryStream stream({"h"}, {5}, {x});
  DictionaryEvalOptions o;
  o.batch_rows = 8;  // several batches and a short last one
  const DictionaryMetrics m = evaluate_dictionary(s, stream, o);

  std::vector<float> f(static_cast<size_t>(rows * 20)), xh(x.size());
  s.encode(x.data(), rows, f.data());
  s.decode(f.data(), rows, xh.data());
  double nnz = 0, se = 0, var = 0;
  std::vector<double> mean(5, 0), freq(20, 0);
  for (int64_t n = 0; n < rows; ++n)
    for (int i = 0; i < 5; ++i) mean[size_t(i)] += x[size_t(n * 5 + i)] / double(rows);
  for (int64_t n = 0; n < rows; ++n) {
    for (int64_t j = 0; j < 20; ++j)
      if (f[size_t(n * 20 + j)] != 0) ++nnz, freq[size_t(j)] += 1.0 / rows;
    for (int i = 0; i < 5; ++i) {
      se += std::pow(xh[size_t(n * 5 + i)] - x[size_t(n * 5 + i)], 2);
      var += std::pow(x[size_t(n * 5 + i)] - mean[size_t(i)], 2);
    }
  }
  EXPECT_EQ(m.rows, rows);
  EXPECT_NEAR(m.l0, nnz / rows, 1e-12);
  EXPECT_NEAR(m.mse, se / rows, 1e-5);
  EXPECT_NEAR(m.explained_variance, 1 - se / var, 1e-5);
  EXPECT_NEAR(m.fvu, se / var, 1e-5);
  int dead = 0, dense = 0, live = 0;
  for (double fr : freq) dead += fr == 0, dense += fr > 0.1, live += fr > 0;
  EXPECT_NEAR(m.dead_fraction, dead / 20.0, 1e-12);
  EXPECT_NEAR(m.dense_fraction, dense / 20.0, 1e-12);
  EXPECT_GE(dead, 1);
  EXPECT_GE(dense, 1);
  int64_t in_hist = 0;
  for (int64_t c2 : m.hist_counts) in_hist += c2;
  EXPECT_EQ(in_hist, live);
  EXPECT_EQ(m.hist_counts.back() >= 1, true);  // the always-on latent sits in the top bin (log10 1 = 0)
  EXPECT_EQ(m.to_json()["density_histogram"]["counts"].size(), m.hist_counts.size());
  o.max_rows = 10;
  EXPECT_EQ(evaluate_dictionary(s, stream, o).rows, 10);
}

TEST(MemoryStream, ServesRowsInOrderAcrossSitesAndRewinds) {
  MemoryStream s({"a", "b"}, {2, 1}, {{1, 2, 3, 4, 5, 6}, {10, 20, 30}});
  ActivationBatch b;
  EXPECT_EQ(s.next(b, 2), 2);
  EXPECT_EQ(b.sites[0], (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(b.sites[1], (std::vector<float>{10, 20}));
  EXPECT_EQ(s.next(b, 2), 1);
  EXPECT_EQ(b.sites[1], (std::vector<float>{30}));
  EXPECT_EQ(s.next(b, 2), 0);
  s.rewind();
  EXPECT_EQ(s.next(b, 5), 3);
}

TEST(MemoryStream, LoadsAnActivationFileAndNamesMissingTensors) {
  const fs::path p = fs::temp_directory_path() / ("glassbox-acts-" + std::to_string(::getpid()) + ".safetensors");
  const std::vector<float> v = {1, 2, 3, 4, 5, 6};
  save_safetensors(p.string(), {{"blocks.0.hook_resid_post", DType::F32, {3, 2}, v.data(), v.size() * 4}});
  MemoryStream s = load_activation_file(p.string());
  EXPECT_EQ(s.site_names(), std::vector<std::string>{"blocks.0.hook_resid_post"});
  EXPECT_EQ(s.dims(), std::vector<int64_t>{2});
  EXPECT_EQ(s.rows(), 3);
  try {
    load_activation_file(p.string(), {"blocks.1.hook_resid_post"});
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blocks.1.hook_resid_post"), std::string::npos);
  }
  fs::remove(p);
}

}  // namespace
}  // namespace glassbox::features
