// superposition: the toy model of Elhage et al. 2022 (glassbox/zoo_superposition.h)
// with 64 sparse features in 16 dimensions. Not a transformer: it trains with
// its own loop (hand-written forward / backward, the shared AdamW and lr
// schedule) and ships its true feature directions for sparse dictionaries to
// recover.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "glassbox/mmap_file.h"
#include "glassbox/progress.h"
#include "glassbox/safetensors.h"
#include "glassbox/zoo_superposition.h"
#include "train/optimizer.h"
#include "zoo/detail.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::zoo::detail {

namespace {

// At 1 - S = 0.03 (Elhage et al.'s high-sparsity regime) with slowly decaying
// importance, nearly every feature gets a direction of norm ~1 and the
// directions are close to orthogonal: 4x more features than dimensions.
constexpr int64_t kFeatures = 64, kHidden = 16;
constexpr double kProbability = 0.03, kImportanceDecay = 0.99;
constexpr int kSteps = 6000, kBatch = 1024;
constexpr int64_t kEvalRows = 16384;
constexpr uint64_t kEvalSeed = 0x5eed0e7a1ull;  // held-out samples: a generator training never uses

std::vector<double> importances() {
  std::vector<double> I(kFeatures);
  for (int64_t i = 0; i < kFeatures; ++i) I[size_t(i)] = std::pow(kImportanceDecay, double(i));
  return I;
}

// Xavier-normal W (Box-Muller on the raw generator: the same on every platform).
std::vector<float> init_W(std::mt19937_64& rng) {
  std::vector<float> W(size_t(kHidden * kFeatures));
  const double sd = std::sqrt(2.0 / double(kHidden + kFeatures));
  for (float& w : W) {
    const double u1 = (double(rng() >> 11) + 1.0) * 0x1.0p-53, u2 = double(rng() >> 11) * 0x1.0p-53;
    w = float(sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  return W;
}

json config_json() {
  return {{"model_type", "toy_superposition"},     {"n_features", kFeatures},
          {"d_hidden", kHidden},                   {"feature_probability", kProbability},
          {"importance_decay", kImportanceDecay},  {"activation", "relu"}};
}

void write_json(const fs::path& p, const json& j) {
  const std::string s = j.dump(2) + "\n";
  write_file_atomic(p.string(), s.data(), s.size());
}

double heldout_loss(const SuperpositionModel& s) {
  std::mt19937_64 rng(kEvalSeed);
  const int64_t n = s.n_features, m = s.d_hidden;
  std::vector<float> x(size_t(kEvalRows * n)), h(size_t(kEvalRows * m)), out(x.size());
  sample_sparse_features(x.data(), kEvalRows, n, s.probability, rng);
  superposition_forward(h.data(), out.data(), x.data(), s.W.data(), s.b.data(), kEvalRows, n, m);
  return superposition_loss(nullptr, out.data(), x.data(), s.importance.data(), kEvalRows, n);
}

// Each feature alone at value 1: read back above 0.5, every other feature
// below 0.5 (interference filtered by the ReLU and the negative bias).
double readout_accuracy(const SuperpositionModel& s) {
  const int64_t n = s.n_features, m = s.d_hidden;
  std::vector<float> x(size_t(n * n), 0.f), h(size_t(n * m)), out(x.size());
  for (int64_t i = 0; i < n; ++i) x[size_t(i * n + i)] = 1.f;
  superposition_forward(h.data(), out.data(), x.data(), s.W.data(), s.b.data(), n, n, m);
  int64_t ok = 0;
  for (int64_t i = 0; i < n; ++i) {
    bool good = out[size_t(i * n + i)] > 0.5f;
    for (int64_t j = 0; j < n; ++j) good = good && (j == i || out[size_t(i * n + j)] < 0.5f);
    ok += good;
  }
  return double(ok) / double(n);
}

json evaluate_superposition(const std::string& dir) {
  const SuperpositionModel s = SuperpositionModel::load(dir);
  const std::vector<float> D = s.directions();
  const int64_t n = s.n_features, m = s.d_hidden;
  std::vector<double> norm(static_cast<size_t>(n));
  int64_t represented = 0;
  for (int64_t i = 0; i < n; ++i) {
    double q = 0;
    for (int64_t k = 0; k < m; ++k) q += double(D[size_t(i * m + k)]) * D[size_t(i * m + k)];
    norm[size_t(i)] = std::sqrt(q);
    represented += norm[size_t(i)] > 0.5;
  }
  double max_cos = 0;  // the worst interference between two represented features
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) {
      if (norm[size_t(i)] <= 0.5 || norm[size_t(j)] <= 0.5) continue;
      double d = 0;
      for (int64_t k = 0; k < m; ++k) d += double(D[size_t(i * m + k)]) * D[size_t(j * m + k)];
      max_cos = std::max(max_cos, std::abs(d) / (norm[size_t(i)] * norm[size_t(j)]));
    }
  // What m dedicated dimensions achieve: the m most important features stored
  // exactly, the rest dropped (E x_i^2 = p / 3 for x_i ~ p * U[0,1]).
  double dedicated = 0;
  for (int64_t i = m; i < n; ++i) dedicated += s.importance[size_t(i)] * s.probability / 3.0;
  const double loss = heldout_loss(s);
  return {{"n_features", n},
          {"d_hidden", m},
          {"features_represented", represented},
          {"features_per_dimension", double(represented) / double(m)},
          {"readout_accuracy", readout_accuracy(s)},
          {"max_interference_cos", max_cos},
          {"heldout_loss", loss},
          {"dedicated_dims_loss", dedicated},
          {"loss_gain_over_dedicated", dedicated / std::max(loss, 1e-12)}};
}

// One step: fresh samples, forward, loss, backward, AdamW.
double train_step(std::vector<Param>& params, glassbox::detail::OptimizerState& st, const OptimizerConfig& oc, float lr,
                  const std::vector<float>& I, std::mt19937_64& rng, std::vector<float>& buf) {
  const int64_t n = kFeatures, m = kHidden, B = kBatch;
  buf.resize(size_t(B * (3 * n + m)));
  float *x = buf.data(), *out = x + B * n, *dout = out + B * n, *h = dout + B * n;
  sample_sparse_features(x, B, n, kProbability, rng);
  float *W = params[0].value.f32(), *b = params[1].value.f32();
  superposition_forward(h, out, x, W, b, B, n, m);
  const double loss = superposition_loss(dout, out, x, I.data(), B, n);
  for (Param& p : params) std::fill_n(p.grad.f32(), p.grad.numel(), 0.f);
  superposition_backward(params[0].grad.f32(), params[1].grad.f32(), dout, x, h, out, W, B, n, m);
  glassbox::detail::adamw_step(params, st, oc, lr);
  return loss;
}

ToyTrained train_superposition(const std::string& data_dir, const std::string& out_dir, uint64_t seed, int steps_arg,
                 bool progress) {
  const std::vector<std::string> names = wordnet_common_nouns(data_dir, kFeatures);
  if (names.size() != size_t(kFeatures))
    fail("zoo: superposition needs ", kFeatures, " WordNet nouns for its feature names, found ", names.size(),
         " in ", data_dir, " (scripts/zoo-data.sh)");
  const int steps = steps_arg >= 0 ? steps_arg : kSteps;
  const std::vector<double> I_json = importances();
  const std::vector<float> I(I_json.begin(), I_json.end());
  std::mt19937_64 rng(seed);
  std::vector<Param> params(2);
  params[0] = {"W", Tensor::from_f32(init_W(rng).data(), {kHidden, kFeatures}), Tensor::zeros({kHidden, kFeatures})};
  params[1] = {"b", Tensor::zeros({kFeatures}), Tensor::zeros({kFeatures})};
  OptimizerConfig oc;
  oc.lr = 3e-3f;
  ScheduleConfig sc;
  sc.warmup_steps = 100;
  sc.min_lr_ratio = 0.05f;
  glassbox::detail::OptimizerState st;
  ToyTrained t;
  std::vector<float> buf;
  double acc = 0;
  ProgressBar bar("superposition", "steps", progress ? ProgressWhen::Always : ProgressWhen::Never);
  for (int step = 0; step < steps; ++step) {
    const float lr = lr_at(oc, sc, step, steps);
    acc += train_step(params, st, oc, lr, I, rng, buf);
    if ((step + 1) % 100 == 0 || step + 1 == steps) {
      const int n_acc = (step % 100) + 1;
      t.result.log.push_back({step + 1, acc / n_acc, lr, 0, 0, -1});
      acc = 0;
      char loss[32];
      std::snprintf(loss, sizeof loss, "loss %.5f", t.result.log.back().loss);
      bar.update(step + 1, steps, loss);
    }
  }
  t.result.steps_done = steps;
  t.steps = steps;

  const fs::path out(out_dir);
  const float *W = params[0].value.f32(), *b = params[1].value.f32();
  save_safetensors((out / "model.safetensors").string(),
                   {{"W", DType::F32, {kHidden, kFeatures}, W, size_t(kHidden * kFeatures) * sizeof(float)},
                    {"b", DType::F32, {kFeatures}, b, size_t(kFeatures) * sizeof(float)}});
  SuperpositionModel s;
  s.n_features = kFeatures, s.d_hidden = kHidden;
  s.W.assign(W, W + kHidden * kFeatures);
  const std::vector<float> D = s.directions();
  save_safetensors((out / "feature_directions.safetensors").string(),
                   {{"directions", DType::F32, {kFeatures, kHidden}, D.data(), D.size() * sizeof(float)}},
                   {{"about", "row i = column i of W: feature i's direction in hook_hidden"}});
  t.config = config_json();
  write_json(out / "config.json", t.config);
  write_json(out / "features.json", {{"names", names}, {"importance", I_json}, {"probability", kProbability},
                                     {"about", "feature i is active with this probability, then uniform in [0, 1]"}});
  write_json(out / "train_log.json", {{"organism", "superposition"}, {"seed", seed}, {"log", log_json(t.result.log)}});
  t.files = {"model.safetensors", "config.json", "features.json", "feature_directions.safetensors", "train_log.json"};
  t.n_params = kHidden * kFeatures + kFeatures;
  return t;
}

}  // namespace

Organism superposition_organism() {
  Organism o;
  o.name = "superposition";
  o.description = "toy model of superposition: 64 sparse features (p = 0.03, importance 0.99^i) in 16 dimensions, "
                  "h = W x, x' = ReLU(W^T h + b) (Elhage et al. 2022); not a transformer";
  o.ground_truth =
      "the 64 columns of W (feature_directions.safetensors) are the true feature directions of hook_hidden: "
      "all 64 are represented (norm > 0.5), 4 features per dimension, each read back alone without error "
      "(worst pair cosine ~0.6); a sparse dictionary on hook_hidden should recover them (cosine >= 0.9), and "
      "explanations of its latents should name the features (features.json)";
  o.seed = 2022;
  o.checks = {{"features_represented", 56}, {"readout_accuracy", 0.85}, {"loss_gain_over_dedicated", 1.5}};
  o.toy.train = train_superposition;
  o.toy.evaluate = evaluate_superposition;
  return o;
}

}  // namespace glassbox::zoo::detail
