// Fourier analysis on Z_p x Z_p, for the modular-addition organism: which
// frequency w_k = 2 pi k / p a neuron or a dictionary latent uses, as a
// function of the two inputs a and b (Nanda et al. 2023).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/engine.h"

namespace glassbox::features {

// How the non-constant power of f(a, b) splits over frequencies. The 2-D DFT
// component (ka, kb) belongs to frequency k when both indices are in
// {0, k, p - k}: the terms cos/sin(w_k a), cos/sin(w_k b), their products
// and cos/sin(w_k (a +- b)). Components mixing two frequencies count only in
// the total, so the fractions sum to at most 1.
struct FrequencyProfile {
  std::vector<double> fraction;  // [p / 2 + 1]; fraction[0] = 0 (the constant is excluded)
  int dominant = 0;              // argmax of fraction (0 if f is constant)
  double dominant_fraction() const { return fraction.empty() ? 0.0 : fraction[size_t(dominant)]; }
};

// f: [p * p], f[a * p + b]. Strided input (stride floats between consecutive
// (a, b) entries) so one column of an activation matrix can be profiled in place.
FrequencyProfile frequency_profile(const float* f, int p, int64_t stride = 1);

// Activations at `hook` for every input " a b =" of the modular-addition
// organism, at the final position: [p * p, d] row-major, row a * p + b.
std::vector<float> modadd_grid(Engine& e, const std::string& hook, int p);

}  // namespace glassbox::features
