// A sparse dictionary (SAE, transcoder) as the engine's interventions see it:
// activation rows in, latent rows out, and back. The features layer's Sae
// implements it; the engine needs nothing else of it, so interventions can
// edit latents during any forward pass or generation without depending on
// how dictionaries are trained or stored.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace glassbox {

class LatentCodec {
 public:
  virtual ~LatentCodec() = default;
  virtual int64_t d_in() const = 0;
  virtual int64_t n_latents() const = 0;
  // f[rows, n_latents] = encode(x[rows, d_in])
  virtual void encode(const float* x, int64_t rows, float* f) const = 0;
  // x[rows, d_in] = decode(f[rows, n_latents])
  virtual void decode(const float* f, int64_t rows, float* x) const = 0;
};

// Loads the dictionary an intervention names ("sae": a path). The engine knows
// no file format for dictionaries; features::load_interventions passes the
// SAELens-format loader.
using CodecLoader = std::function<std::shared_ptr<const LatentCodec>(const std::string& path)>;

}  // namespace glassbox
