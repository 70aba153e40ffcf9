// The seams of the features layer. Everything that trains on activations
// (sparse dictionaries, probes) reads an ActivationStream; everything that
// looks at what a feature responds to (dashboards, automated interpretability)
// reads FeatureExamples. Sources: a live forward pass over a corpus, harvested
// shards on disk, a shuffling buffer over either, the superposition organism's
// sampler. Feature maps: SAE / transcoder latents, or plain MLP neurons.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace glassbox::features {

// Rows of activations at one or several sites, all for the same token positions
// (one forward pass serves every site; a crosscoder's two models read the same
// tokens). sites[s] is row-major [rows, dims()[s]].
struct ActivationBatch {
  int64_t rows = 0;
  std::vector<std::vector<float>> sites;
  std::vector<int32_t> tokens;  // the token at each row where the source knows it, else empty
};

class ActivationStream {
 public:
  virtual ~ActivationStream() = default;
  // Hook names ("blocks.1.hook_resid_post"); a crosscoder's source prefixes the
  // model ("tiny-lm/blocks.1.hook_resid_post").
  virtual const std::vector<std::string>& site_names() const = 0;
  virtual const std::vector<int64_t>& dims() const = 0;
  // Replaces `out` with up to max_rows rows; returns how many (0: exhausted).
  virtual int64_t next(ActivationBatch& out, int64_t max_rows) = 0;
  // Starts again from the first row (a finite source); Error where impossible.
  virtual void rewind() = 0;
};

// Maps activation rows of one site to feature activations: SAE latents, a
// transcoder's latents, or MLP neurons (the identity on hook_post).
class FeatureMap {
 public:
  virtual ~FeatureMap() = default;
  virtual std::string hook_name() const = 0;  // the site encode() reads
  virtual int64_t d_in() const = 0;
  virtual int64_t n_features() const = 0;
  // f[rows, n_features] = features of x[rows, d_in].
  virtual void encode(const float* x, int64_t rows, float* f) const = 0;
  // What feature j writes, in the space the model reads next (an SAE's W_dec
  // row, a neuron's W_out row), for logit effects (direction . W_U); empty if
  // the map has no output direction.
  virtual std::vector<float> output_direction(int64_t j) const = 0;
};

// One context window and the feature's activation at each of its tokens.
struct ActivationRecord {
  std::vector<std::string> tokens;  // decoded token strings
  std::vector<float> acts;          // same length
  float max_act() const;
};

// What dashboards and explainers see of one feature.
struct FeatureExamples {
  int64_t feature = 0;
  std::vector<ActivationRecord> top;        // the highest-activating contexts, best first
  std::vector<ActivationRecord> quantiles;  // contexts sampled from lower activation quantiles
  std::vector<ActivationRecord> random;     // random contexts (mostly inactive), for scoring
  double density = 0;                       // fraction of tokens where the feature is > 0
};

}  // namespace glassbox::features
