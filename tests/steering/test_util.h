// What the steering tests share: the shipped tiny-lm (skip when untrained),
// a scratch directory, and a direction of the model's width.
#pragma once
#include <filesystem>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "glassbox/model.h"
#include "glassbox/steering/direction.h"
#include "glassbox/zoo.h"

namespace steering_test {

inline std::string model_dir(const char* name) {
  return (std::filesystem::path(glassbox::zoo::models_dir()) / name).string();
}
inline bool shipped(const char* name) {
  return std::filesystem::exists(std::filesystem::path(model_dir(name)) / "model.safetensors");
}
#define REQUIRE_MODEL(name) \
  if (!steering_test::shipped(name)) GTEST_SKIP() << "no trained " << name << " (glassbox zoo train " << name << ")"

inline std::string scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "glassbox_steering_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Seeded random vectors at the given layers.
inline glassbox::steering::SteeringVector random_direction(int64_t d, std::vector<int> layers, uint64_t seed = 7) {
  glassbox::steering::SteeringVector v;
  v.name = "random";
  v.d_model = d;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  for (int l : layers) {
    glassbox::steering::LayerDirection ld;
    ld.layer = l;
    for (int64_t j = 0; j < d; ++j) ld.vector.push_back(g(rng));
    v.layers.push_back(ld);
  }
  return v;
}

}  // namespace steering_test
