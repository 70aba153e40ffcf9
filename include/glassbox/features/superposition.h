// The superposition organism (glassbox/zoo_superposition.h) as a source of
// activations and features with known ground truth: a stream of its hidden
// vectors h = W x, its own readout as a FeatureMap, records an explainer can
// read (a sample's "tokens" are the names of its active features), and the
// test a sparse dictionary must pass (recovered_fraction).
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "glassbox/features/activations.h"
#include "glassbox/zoo_superposition.h"

namespace glassbox::features {

// Fresh samples x (drawn as in training) and their h = W x at the one site
// "hook_hidden", one row per sample; tokens stay empty. total_rows > 0 makes
// the stream finite; rewind() restarts it from `seed` (the same rows again).
class SuperpositionStream : public ActivationStream {
 public:
  explicit SuperpositionStream(zoo::SuperpositionModel model, uint64_t seed = 0, int64_t total_rows = 0);
  const std::vector<std::string>& site_names() const override { return sites_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override;
  // The features x [rows, n_features] behind the batch next() last returned.
  const std::vector<float>& last_features() const { return x_; }
  const zoo::SuperpositionModel& model() const { return model_; }

 private:
  zoo::SuperpositionModel model_;
  uint64_t seed_;
  int64_t total_, done_ = 0;
  std::mt19937_64 rng_;
  std::vector<std::string> sites_{"hook_hidden"};
  std::vector<int64_t> dims_;
  std::vector<float> x_;
};

// The organism's own readout over hook_hidden, the ground-truth feature map:
// feature i = ReLU(W_i . h + b_i) (its reconstruction x'_i); output_direction(i) = W_i.
class SuperpositionReadout : public FeatureMap {
 public:
  explicit SuperpositionReadout(zoo::SuperpositionModel model) : m_(std::move(model)) {}
  std::string hook_name() const override { return "hook_hidden"; }
  int64_t d_in() const override { return m_.d_hidden; }
  int64_t n_features() const override { return m_.n_features; }
  void encode(const float* h, int64_t rows, float* f) const override;
  std::vector<float> output_direction(int64_t j) const override;

 private:
  zoo::SuperpositionModel m_;
};

// For each true direction (rows of true_dirs [n, dim]), the largest cosine with
// any candidate (rows of candidates [k, dim]); a zero vector has cosine 0.
std::vector<double> best_cosines(const std::vector<float>& true_dirs, const std::vector<float>& candidates,
                                 int64_t dim);
// The same, with which candidate: index -1 where no cosine is above 0.
struct BestMatch {
  int64_t index = -1;
  double cosine = 0;
};
std::vector<BestMatch> best_matches(const std::vector<float>& true_dirs, const std::vector<float>& candidates,
                                    int64_t dim);
// The fraction of true directions with a candidate at cosine >= min_cos
// (Error unless both sizes are multiples of dim and true_dirs is non-empty).
double recovered_fraction(const std::vector<float>& true_dirs, const std::vector<float>& candidates, int64_t dim,
                          double min_cos = 0.9);

// Records of one sample for one latent, so autointerp reads the organism like
// text. tokens: the names of the sample's active features, largest x first.
// acts[t]: the latent's activation on the sample with every feature but
// token t's zeroed, i.e. its response to that feature at that strength (what
// a token-level activation means here). A sample with no active feature has
// no tokens.
ActivationRecord superposition_record(const zoo::SuperpositionModel& model, const FeatureMap& map, const float* x,
                                      int64_t latent);

struct SuperpositionExamplesOptions {
  int64_t samples = 20000;  // drawn from SuperpositionStream(seed)
  int top = 20, quantiles = 10, random = 40;
  uint64_t seed = 1;
};
// FeatureExamples of every latent of `map` over the organism's samples: top =
// the samples where the latent (on the whole sample) is largest, quantiles =
// evenly spaced ranks among the rest of its active samples, random = the same
// random non-empty samples for every latent; density over all samples.
std::vector<FeatureExamples> superposition_examples(const zoo::SuperpositionModel& model, const FeatureMap& map,
                                                    const SuperpositionExamplesOptions& opt = {});

}  // namespace glassbox::features
