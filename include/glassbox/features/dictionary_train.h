// Training sparse dictionaries (SAEs, transcoders, crosscoders) on an
// ActivationStream. Several dictionaries, on different sites or with different
// hyper-parameters, train from ONE stream: each batch (one forward pass of the
// model behind the stream) serves all of them.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/dist.h"
#include "glassbox/features/activations.h"
#include "glassbox/features/sae.h"
#include "glassbox/train.h"

namespace glassbox::features {

enum class BDecInit : uint8_t { GeometricMedian, Mean, Zeros };
const char* to_string(BDecInit b);  // "geometric_median", "mean", "zeros"

// One dictionary to train. Its sites come from sae: hook_name (input),
// hook_name_out (a transcoder's target; empty: the input), source_names (a
// crosscoder's n_sources inputs, each its own target).
struct DictionarySpec {
  std::string name;  // subdirectory of the output directory ("" with a single dictionary: the directory itself)
  SaeConfig sae;
  SaeLossOptions loss;  // `dead` is managed by the trainer
  OptimizerConfig optimizer{"adamw", 4e-4f, 0.9f, 0.999f, 1e-8f, 0.f};
  ScheduleConfig schedule{0, 0.f, Decay::Constant};
  // Unit-norm decoder rows after each step, the gradient's component along
  // each row removed first (Gao et al.). Default: every architecture but ReLU,
  // whose L1 term carries the decoder norm instead.
  int unit_norm_decoder = -1;  // -1: by architecture, 0 / 1: off / on
  int64_t dead_after_tokens = 10'000'000;  // a latent that has not fired in this many tokens is dead
  BDecInit b_dec_init = BDecInit::GeometricMedian;
  float jumprelu_init_threshold = 1e-3f;  // Gemma Scope's init (for unit-scale inputs)
  bool normalize_activations = false;  // SAELens "expected_average_only_in", folded into the weights on save
  std::string init_from;               // a SAELens directory to start from (benchmarks: one init for two programs)
  uint64_t seed = 0;
};

struct TrainDictionariesOptions {
  int64_t batch_rows = 4096;    // tokens per step
  int64_t total_tokens = 0;     // steps = total_tokens / batch_rows
  int64_t stop_at_step = 0;     // > 0: pause after this step (checkpointed; a later run resumes)
  int64_t checkpoint_every = 0; // steps; 0: only when pausing or finishing
  std::string out_dir;          // empty: nothing written
  bool resume = true;           // continue from out_dir/checkpoint when present
  bool progress = true;         // progress bar with tokens/s on stderr
  int log_every = 10;
  // Data parallelism (mpirun): every rank draws the same batches from its own
  // copy of the stream and trains on its share of each batch's rows; the
  // gradients, losses and dead-latent statistics are summed across ranks, so
  // every rank takes the same optimiser step and rank 0 writes the files.
  // Null: this process alone.
  const dist::Comm* ranks = nullptr;
  int64_t steps() const { return batch_rows > 0 ? total_tokens / batch_rows : 0; }
};

struct DictionaryLogEntry {
  int64_t step = 0;
  double loss = 0, mse = 0, sparsity = 0, aux = 0, l0 = 0, lr = 0, dead_fraction = 0;
};

struct TrainedDictionary {
  std::string name;
  Sae sae;  // normalisation folded in (what the SAELens directory holds)
  double norm_scaling_factor = 1;
  std::vector<DictionaryLogEntry> log;
};

struct TrainDictionariesResult {
  std::vector<TrainedDictionary> dictionaries;
  int64_t steps_done = 0;
  bool resumed = false;
  double tokens_per_s = 0;  // of this run's steps
  nlohmann::json to_json() const;
};

// Trains every spec; writes out_dir/<name>/ (SAELens layout) at the end and
// out_dir/checkpoint/ (atomically swapped in) when pausing, every
// checkpoint_every steps, and at the end. A resumed run produces the same
// weights as an uninterrupted one. A finite stream is rewound when it runs
// out. Error naming the spec and site when a site is not in the stream.
TrainDictionariesResult train_dictionaries(ActivationStream& stream, const std::vector<DictionarySpec>& specs,
                                           const TrainDictionariesOptions& opt,
                                           const std::function<void(const DictionaryLogEntry&, size_t)>& on_log = {});

// The geometric median of rows of x (Weiszfeld's iterations from the mean).
std::vector<float> geometric_median(const float* x, int64_t rows, int64_t dims, int iters = 100);

}  // namespace glassbox::features

namespace glassbox {
template <> features::BDecInit from_string<features::BDecInit>(std::string_view s);
}  // namespace glassbox
