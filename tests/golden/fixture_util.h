// What the golden tests share for reading the reference fixtures
// (tests/reference/*.py): their paths, their tensors as f32, and their
// token batches.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "glassbox/engine.h"
#include "glassbox/safetensors.h"

namespace golden {

inline std::string fixture(const std::string& name) { return std::string(GLASSBOX_FIXTURES) + "/" + name; }

inline std::vector<float> f32_of(const glassbox::RawTensor& r) {
  std::vector<float> v(static_cast<size_t>(r.numel()));
  glassbox::to_f32(v.data(), r.data, r.dtype, r.numel());
  return v;
}

// The fixture's "tokens" [B, T] and "attention_mask" as a Batch.
inline glassbox::Batch batch_of(const glassbox::SafetensorsFile& ex) {
  const glassbox::RawTensor* tok = ex.find("tokens");
  const glassbox::RawTensor* mask = ex.find("attention_mask");
  EXPECT_TRUE(tok && mask);
  glassbox::Batch b;
  b.B = tok->shape[0];
  b.T = tok->shape[1];
  const auto t = static_cast<const int32_t*>(tok->data);
  const auto m = static_cast<const int32_t*>(mask->data);
  b.tokens.assign(t, t + b.B * b.T);
  for (int64_t i = 0; i < b.B * b.T; ++i) b.mask.push_back(uint8_t(m[i] != 0));
  return b;
}

}  // namespace golden
