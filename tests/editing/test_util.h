// What the editing tests share: the shipped facts organism (skip when
// untrained or when its corpora are missing), a scratch directory, and the
// key covariance on a few thousand tokens of its training text.
#pragma once
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "glassbox/editing/edit.h"
#include "glassbox/editing/evaluate.h"
#include "glassbox/zoo.h"

namespace editing_test {

inline std::string model_dir(const char* name) {
  return (std::filesystem::path(glassbox::zoo::models_dir()) / name).string();
}
inline bool shipped(const char* name) {
  return std::filesystem::exists(std::filesystem::path(model_dir(name)) / "model.safetensors") &&
         std::filesystem::exists(std::filesystem::path(glassbox::zoo::data_dir()) / "wordnet");
}
#define REQUIRE_FACTS()            \
  if (!editing_test::shipped("facts")) \
  GTEST_SKIP() << "no trained facts organism or no corpora (scripts/zoo-data.sh)"

inline std::string scratch(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "glassbox_editing_test";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

inline std::vector<glassbox::editing::KeyCovariance> covariances(glassbox::editing::Editor& ed,
                                                                 const glassbox::editing::EditText& text,
                                                                 const std::vector<int>& layers) {
  std::vector<glassbox::editing::KeyCovariance> out;
  for (int l : layers) out.push_back(glassbox::editing::key_covariance(ed.engine(), l, text.covariance_rows));
  return out;
}

}  // namespace editing_test
