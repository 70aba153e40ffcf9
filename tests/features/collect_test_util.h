// Shared by the dashboard tests: the shipped tiny-lm, a slice of its corpus,
// and a random-projection feature map with many latents.
#pragma once
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "glassbox/features/activations.h"
#include "glassbox/features/collect.h"
#include "glassbox/model.h"
#include "glassbox/zoo.h"
#include "kernels/kernels.h"

namespace dashtest {

inline std::string tiny_lm_dir() { return (std::filesystem::path(glassbox::zoo::models_dir()) / "tiny-lm").string(); }
inline std::string fortune_file(const std::string& name) {
  return (std::filesystem::path(glassbox::zoo::data_dir()) / "fortunes" / name).string();
}

// f = ReLU(x . R + b) with R ~ N(0, 1/d_in) and a negative bias, so features
// are active on a fraction of tokens: what a dictionary with many latents
// looks like to the collector. Output directions: the columns of R.
class RandomProjection : public glassbox::features::FeatureMap {
 public:
  RandomProjection(std::string hook, int64_t d_in, int64_t n, float bias, uint64_t seed)
      : hook_(std::move(hook)), d_in_(d_in), n_(n), R_(size_t(d_in * n)), b_(size_t(n), bias) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> g(0.f, 1.f / std::sqrt(float(d_in)));
    for (float& r : R_) r = g(rng);
  }
  std::string hook_name() const override { return hook_; }
  int64_t d_in() const override { return d_in_; }
  int64_t n_features() const override { return n_; }
  void encode(const float* x, int64_t rows, float* f) const override {
    glassbox::kernels::matmul_forward(f, n_, x, d_in_, {R_.data(), d_in_, n_, n_, 1}, b_.data(), 1, rows);
    for (int64_t i = 0; i < rows * n_; ++i) f[i] = f[i] > 0 ? f[i] : 0.f;
  }
  std::vector<float> output_direction(int64_t j) const override {
    std::vector<float> d(static_cast<size_t>(d_in_));
    for (int64_t i = 0; i < d_in_; ++i) d[size_t(i)] = R_[size_t(i * n_ + j)];
    return d;
  }

 private:
  std::string hook_;
  int64_t d_in_, n_;
  std::vector<float> R_, b_;
};

}  // namespace dashtest
