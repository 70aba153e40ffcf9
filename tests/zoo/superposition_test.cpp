// The superposition organism: its hand-written forward / backward against
// loops and finite differences, its sampler, its training, and the shipped
// model's ground truth.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/safetensors.h"
#include "glassbox/zoo.h"
#include "glassbox/zoo_superposition.h"

namespace fs = std::filesystem;
using namespace glassbox;

namespace {

std::vector<float> randn(size_t n, std::mt19937_64& rng, float scale) {
  std::normal_distribution<float> d(0.f, scale);  // test data only: need not match across platforms
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

struct Toy {
  int64_t rows = 5, n = 7, m = 3;
  std::vector<float> W, b, x, I;
  explicit Toy(uint64_t seed) {
    std::mt19937_64 rng(seed);
    W = randn(size_t(m * n), rng, 0.6f);
    b = randn(size_t(n), rng, 0.2f);
    x.resize(size_t(rows * n));
    zoo::sample_sparse_features(x.data(), rows, n, 0.5, rng);
    for (int64_t i = 0; i < n; ++i) I.push_back(std::pow(0.9f, float(i)));
  }
  double loss() const {
    std::vector<float> h(size_t(rows * m)), out(size_t(rows * n));
    zoo::superposition_forward(h.data(), out.data(), x.data(), W.data(), b.data(), rows, n, m);
    return zoo::superposition_loss(nullptr, out.data(), x.data(), I.data(), rows, n);
  }
};

}  // namespace

TEST(Superposition, ForwardMatchesTheDefinition) {
  const Toy t(1);
  std::vector<float> h(size_t(t.rows * t.m)), out(size_t(t.rows * t.n));
  zoo::superposition_forward(h.data(), out.data(), t.x.data(), t.W.data(), t.b.data(), t.rows, t.n, t.m);
  for (int64_t r = 0; r < t.rows; ++r) {
    std::vector<double> hr(size_t(t.m), 0.0);
    for (int64_t k = 0; k < t.m; ++k) {
      for (int64_t i = 0; i < t.n; ++i) hr[size_t(k)] += double(t.W[size_t(k * t.n + i)]) * t.x[size_t(r * t.n + i)];
      EXPECT_NEAR(h[size_t(r * t.m + k)], hr[size_t(k)], 1e-5);
    }
    for (int64_t i = 0; i < t.n; ++i) {
      double z = t.b[size_t(i)];
      for (int64_t k = 0; k < t.m; ++k) z += double(t.W[size_t(k * t.n + i)]) * hr[size_t(k)];
      EXPECT_NEAR(out[size_t(r * t.n + i)], std::max(z, 0.0), 1e-5);
    }
  }
  double want = 0;
  for (int64_t r = 0; r < t.rows; ++r)
    for (int64_t i = 0; i < t.n; ++i) {
      const double d = double(out[size_t(r * t.n + i)]) - t.x[size_t(r * t.n + i)];
      want += t.I[size_t(i)] * d * d;
    }
  EXPECT_NEAR(t.loss(), want / double(t.rows), 1e-6);
}

TEST(Superposition, BackwardMatchesFiniteDifferences) {
  Toy t(2);
  std::vector<float> h(size_t(t.rows * t.m)), out(size_t(t.rows * t.n)), dout(out.size());
  zoo::superposition_forward(h.data(), out.data(), t.x.data(), t.W.data(), t.b.data(), t.rows, t.n, t.m);
  zoo::superposition_loss(dout.data(), out.data(), t.x.data(), t.I.data(), t.rows, t.n);
  std::vector<float> dW(t.W.size(), 0.f), db(t.b.size(), 0.f);
  zoo::superposition_backward(dW.data(), db.data(), dout.data(), t.x.data(), h.data(), out.data(), t.W.data(), t.rows,
                              t.n, t.m);
  const float eps = 1e-3f;
  auto fd = [&](std::vector<float>& v, size_t i) {
    const float keep = v[i];
    v[i] = keep + eps;
    const double up = t.loss();
    v[i] = keep - eps;
    const double down = t.loss();
    v[i] = keep;
    return (up - down) / (2 * eps);
  };
  int nonzero = 0;
  for (size_t i = 0; i < t.W.size(); ++i) {
    EXPECT_NEAR(dW[i], fd(t.W, i), 2e-3) << "W[" << i << "]";
    nonzero += std::abs(dW[i]) > 1e-3;
  }
  for (size_t i = 0; i < t.b.size(); ++i) EXPECT_NEAR(db[i], fd(t.b, i), 2e-3) << "b[" << i << "]";
  EXPECT_GT(nonzero, int(t.W.size()) / 2) << "a vacuous gradient";
}

TEST(Superposition, SamplerHasTheRequestedSparsityAndIsSeeded) {
  std::mt19937_64 a(7), b(7);
  std::vector<float> x(200000), y(200000);
  zoo::sample_sparse_features(x.data(), 2000, 100, 0.05, a);
  zoo::sample_sparse_features(y.data(), 2000, 100, 0.05, b);
  EXPECT_EQ(x, y);
  double active = 0, sum = 0;
  for (float v : x) {
    ASSERT_GE(v, 0.f);
    ASSERT_LT(v, 1.f);
    active += v > 0, sum += v;
  }
  EXPECT_NEAR(active / double(x.size()), 0.05, 0.003);
  EXPECT_NEAR(sum / active, 0.5, 0.02);
}

TEST(Superposition, ShortTrainingWritesItsFilesAndLowersTheLoss) {
  const fs::path out = fs::temp_directory_path() / ("glassbox_superposition_" + std::to_string(::getpid()));
  fs::remove_all(out);
  zoo::TrainOptions opt;
  opt.out_dir = (out / "superposition").string();
  opt.steps = 200;
  opt.progress = false;
  opt.manifest = (out / "manifest.json").string();
  const zoo::Organism& o = zoo::find_organism("superposition");
  EXPECT_FALSE(o.is_transformer());
  const zoo::TrainOutcome res = zoo::train_organism(o, opt);
  ASSERT_GE(res.result.log.size(), 2u);
  EXPECT_LT(res.result.log.back().loss, 0.6 * res.result.log.front().loss);
  const nlohmann::json entry = zoo::read_manifest(opt.manifest)["organisms"]["superposition"];
  EXPECT_EQ(entry["kind"], "toy");
  EXPECT_FALSE(zoo::is_transformer_entry(entry));
  for (const char* f : {"model.safetensors", "config.json", "features.json", "feature_directions.safetensors",
                        "train_log.json"})
    EXPECT_EQ(entry["files"][f]["sha256"], zoo::sha256_file((out / "superposition" / f).string())) << f;
  const zoo::SuperpositionModel m = zoo::SuperpositionModel::load(opt.out_dir);
  EXPECT_EQ(m.n_features, 64);
  EXPECT_EQ(m.d_hidden, 16);
  // Deterministic: the same seed and steps give the same weights.
  opt.out_dir = (out / "again").string();
  zoo::train_organism(o, opt);
  EXPECT_EQ(zoo::SuperpositionModel::load(opt.out_dir).W, m.W);
  fs::remove_all(out);
}

TEST(Superposition, ShippedModelMeetsItsChecksAndShipsItsDirections) {
  const fs::path dir = fs::path(zoo::models_dir()) / "superposition";
  if (!fs::exists(dir / "model.safetensors")) GTEST_SKIP() << "glassbox zoo train superposition";
  const nlohmann::json report = zoo::evaluate_organism(zoo::find_organism("superposition"));
  EXPECT_TRUE(report["passed"].get<bool>()) << report.dump();
  EXPECT_GT(report["metrics"]["features_represented"].get<int64_t>(), 16) << "no superposition";
  const nlohmann::json man = zoo::read_manifest()["organisms"]["superposition"];
  EXPECT_NEAR(report["metrics"]["heldout_loss"].get<double>(), man["metrics"]["heldout_loss"].get<double>(), 1e-6);
  const zoo::SuperpositionModel m = zoo::SuperpositionModel::load();
  const SafetensorsFile f = SafetensorsFile::open((dir / "feature_directions.safetensors").string());
  const RawTensor* d = f.find("directions");
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->shape, (std::vector<int64_t>{m.n_features, m.d_hidden}));
  const auto* p = static_cast<const float*>(d->data);
  EXPECT_EQ(std::vector<float>(p, p + d->numel()), m.directions());
  for (int64_t i = 0; i < m.n_features; ++i)
    for (int64_t k = 0; k < m.d_hidden; ++k) ASSERT_EQ(p[i * m.d_hidden + k], m.W[size_t(k * m.n_features + i)]);
  EXPECT_EQ(std::set<std::string>(m.names.begin(), m.names.end()).size(), m.names.size()) << "names must differ";
}

TEST(Superposition, LoadNamesWhatIsWrong) {
  const fs::path dir = fs::temp_directory_path() / ("glassbox_superposition_bad_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  try {
    zoo::SuperpositionModel::load(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("glassbox zoo train superposition"), std::string::npos) << e.what();
  }
  fs::create_directories(dir);
  const std::vector<float> w(10, 0.f);
  save_safetensors((dir / "model.safetensors").string(), {{"W", DType::F32, {2, 5}, w.data(), 40}});
  std::ofstream(dir / "config.json") << R"({"model_type": "toy_superposition", "n_features": 4, "d_hidden": 2})";
  std::ofstream(dir / "features.json") << R"({"names": ["a","b","c","d"], "importance": [1,1,1,1], "probability": 0.1})";
  try {
    zoo::SuperpositionModel::load(dir.string());
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'W' must be F32 of shape [2, 4]"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}
