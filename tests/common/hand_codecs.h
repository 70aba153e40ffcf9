// Dictionaries written out by hand, so tests of what uses a LatentCodec
// (interventions, splice metrics) can predict every activation by arithmetic.
#pragma once
#include <algorithm>

#include "glassbox/codec.h"

namespace gbtest {

// Lossless: f = [relu(x), relu(-x)], x = f[:d] - f[d:]. Latent j < d reads +x_j.
struct SplitCodec : glassbox::LatentCodec {
  int64_t d;
  explicit SplitCodec(int64_t d_) : d(d_) {}
  int64_t d_in() const override { return d; }
  int64_t n_latents() const override { return 2 * d; }
  void encode(const float* x, int64_t rows, float* f) const override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < d; ++j) {
        f[r * 2 * d + j] = std::max(x[r * d + j], 0.f);
        f[r * 2 * d + d + j] = std::max(-x[r * d + j], 0.f);
      }
  }
  void decode(const float* f, int64_t rows, float* x) const override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < d; ++j) x[r * d + j] = f[r * 2 * d + j] - f[r * 2 * d + d + j];
  }
};

// Lossy: keeps only the positive part of the first half of the dimensions.
struct HalfCodec : SplitCodec {
  using SplitCodec::SplitCodec;
  void decode(const float* f, int64_t rows, float* x) const override {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < d; ++j) x[r * d + j] = j < d / 2 ? f[r * 2 * d + j] : 0.f;
  }
};

}  // namespace gbtest
