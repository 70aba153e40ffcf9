// The superposition organism's model: sampling, forward / loss / backward on
// plain buffers (kernels::matmul_* over OpenBLAS), and reading the shipped files.
#include <algorithm>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/safetensors.h"
#include "glassbox/zoo.h"
#include "glassbox/zoo_superposition.h"
#include "kernels/kernels.h"

namespace fs = std::filesystem;

namespace glassbox::zoo {

namespace {

// W [m, n] row-major read as the logical matrices the two matmuls need.
MatRef as_W(const float* W, int64_t n, int64_t m) { return {W, m, n, n, 1}; }      // h -> pre
MatRef as_Wt(const float* W, int64_t n, int64_t m) { return {W, n, m, 1, n}; }     // x -> h

double uniform01(std::mt19937_64& rng) { return double(rng() >> 11) * 0x1.0p-53; }

std::vector<float> read_f32(const SafetensorsFile& f, const std::string& name, const std::vector<int64_t>& shape) {
  const RawTensor* t = f.find(name);
  if (!t) fail(f.path(), ": no tensor '", name, "'");
  if (t->dtype != DType::F32 || t->shape != shape) {
    std::string want;
    for (int64_t d : shape) want += (want.empty() ? "" : ", ") + std::to_string(d);
    fail(f.path(), ": tensor '", name, "' must be F32 of shape [", want, "]");
  }
  const auto* p = static_cast<const float*>(t->data);
  return {p, p + t->numel()};
}

}  // namespace

void sample_sparse_features(float* x, int64_t rows, int64_t n, double p, std::mt19937_64& rng) {
  for (int64_t i = 0; i < rows * n; ++i) {
    const bool active = uniform01(rng) < p;
    x[i] = active ? float(uniform01(rng)) : 0.f;
  }
}

void superposition_forward(float* h, float* out, const float* x, const float* W, const float* b, int64_t rows,
                           int64_t n, int64_t m) {
  kernels::matmul_forward(h, m, x, n, as_Wt(W, n, m), nullptr, 0, rows);
  kernels::matmul_forward(out, n, h, m, as_W(W, n, m), b, 1, rows);
  for (int64_t i = 0; i < rows * n; ++i) out[i] = std::max(out[i], 0.f);
}

double superposition_loss(float* dout, const float* out, const float* x, const float* importance, int64_t rows,
                          int64_t n) {
  double loss = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = r * n + i;
      const double d = double(out[k]) - double(x[k]);
      loss += importance[i] * d * d;
      if (dout) dout[k] = float(2.0 * importance[i] * d / double(rows));
    }
  return loss / double(rows);
}

void superposition_backward(float* dW, float* db, const float* dout, const float* x, const float* h,
                            const float* out, const float* W, int64_t rows, int64_t n, int64_t m) {
  std::vector<float> dpre(static_cast<size_t>(rows * n)), dh(static_cast<size_t>(rows * m), 0.f);
  for (int64_t i = 0; i < rows * n; ++i) dpre[size_t(i)] = out[i] > 0.f ? dout[i] : 0.f;
  // pre = h W + b: gradients for h, for W's second use, and for b.
  kernels::matmul_backward(dh.data(), m, {dW, m, n, n, 1}, db, 1, dpre.data(), n, h, m, as_W(W, n, m), rows);
  // h = x W^T: W's first use (its gradient written transposed into dW).
  kernels::matmul_backward(nullptr, 0, {dW, n, m, 1, n}, nullptr, 0, dh.data(), m, x, n, as_Wt(W, n, m), rows);
}

SuperpositionModel SuperpositionModel::load(const std::string& dir_arg) {
  const fs::path dir = dir_arg.empty() ? fs::path(models_dir()) / "superposition" : fs::path(dir_arg);
  if (!fs::exists(dir / "model.safetensors"))
    fail("superposition: ", (dir / "model.safetensors").string(),
         " does not exist; train it with `glassbox zoo train superposition`");
  const nlohmann::json cfg = read_json_file((dir / "config.json").string());
  const nlohmann::json feats = read_json_file((dir / "features.json").string());
  SuperpositionModel s;
  try {
    if (cfg.at("model_type") != "toy_superposition")
      fail((dir / "config.json").string(), ": model_type must be \"toy_superposition\"");
    s.n_features = cfg.at("n_features").get<int64_t>();
    s.d_hidden = cfg.at("d_hidden").get<int64_t>();
    s.probability = feats.at("probability").get<double>();
    s.names = feats.at("names").get<std::vector<std::string>>();
    s.importance = feats.at("importance").get<std::vector<float>>();
  } catch (const nlohmann::json::exception& e) {
    fail(dir.string(), ": config.json / features.json: ", e.what());
  }
  if (s.n_features <= 0 || s.d_hidden <= 0 || s.names.size() != size_t(s.n_features) ||
      s.importance.size() != size_t(s.n_features) || !(s.probability > 0 && s.probability <= 1))
    fail((dir / "features.json").string(), ": expected ", s.n_features,
         " names and importances and a probability in (0, 1]");
  const SafetensorsFile f = SafetensorsFile::open((dir / "model.safetensors").string());
  s.W = read_f32(f, "W", {s.d_hidden, s.n_features});
  s.b = read_f32(f, "b", {s.n_features});
  return s;
}

std::vector<float> SuperpositionModel::directions() const {
  std::vector<float> d(static_cast<size_t>(n_features * d_hidden));
  for (int64_t i = 0; i < n_features; ++i)
    for (int64_t k = 0; k < d_hidden; ++k) d[size_t(i * d_hidden + k)] = W[size_t(k * n_features + i)];
  return d;
}

}  // namespace glassbox::zoo
