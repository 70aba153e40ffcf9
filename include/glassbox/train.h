// Training: optimisers (AdamW, SGD with Nesterov momentum), warmup + cosine, linear or constant
// schedule, gradient clipping, evaluation, atomic checkpoint / resume.
// The same engine forward/backward that serves analysis trains the model.
#pragma once
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/dist.h"
#include "glassbox/enum_string.h"
#include "glassbox/engine.h"
#include "glassbox/trainable.h"

namespace glassbox {

struct OptimizerConfig {
  std::string kind = "adamw";  // "adamw" | "sgd"
  float lr = 1e-3f;
  float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;  // AdamW
  float weight_decay = 0.0f;   // decoupled (AdamW) / L2 (SGD); never applied to biases and norm gains
  float momentum = 0.9f;       // SGD
  bool nesterov = true;        // SGD
};

// After the warmup, the learning rate decays to lr * min_lr_ratio at the
// last step along a half cosine or a straight line, or stays at lr.
enum class Decay : uint8_t { Cosine, Linear, Constant };
const char* to_string(Decay d);  // "cosine", "linear", "constant"
template <> Decay from_string<Decay>(std::string_view s);
struct ScheduleConfig {
  int warmup_steps = 0;        // linear warmup from 0
  float min_lr_ratio = 0.1f;
  Decay decay = Decay::Cosine;
};
float lr_at(const OptimizerConfig& o, const ScheduleConfig& s, int step, int total_steps);

// One step's worth of data: targets [B*T] (next-token ids, -1 = no loss here).
struct TrainBatch {
  Batch batch;
  std::vector<int32_t> targets;
};
using BatchFn = std::function<TrainBatch(std::mt19937_64& rng)>;

struct TrainConfig {
  OptimizerConfig optimizer;
  ScheduleConfig schedule;
  int steps = 1000;
  int stop_at = 0;             // > 0: pause after this step (checkpointed; a later run resumes)
  float grad_clip = 1.0f;      // global L2 norm; 0 = off
  uint64_t seed = 0;
  int eval_every = 100;        // 0 = never
  int eval_batches = 4;
  int log_every = 10;
  int checkpoint_every = 0;    // 0 = only at the end (when out_dir is set)
  std::string out_dir;         // checkpoints go to out_dir/checkpoint; the final model to out_dir
  bool resume = true;          // continue from out_dir/checkpoint if present
  bool progress = true;        // progress bar on stderr
  // Data parallelism (mpirun; not part of the JSON): every rank draws the same
  // batches and runs its share of each batch's sequences; gradients and loss
  // are summed across ranks, so every rank takes the step one process would
  // (up to float rounding) and rank 0 writes the files. Null: this process alone.
  const dist::Comm* ranks = nullptr;

  static TrainConfig from_json(const nlohmann::json& j);  // Error naming the bad field
  nlohmann::json to_json() const;
};

struct LogEntry {
  int step = 0;
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0;
  double eval_loss = -1;       // < 0: not evaluated at this step
};

struct TrainResult {
  std::vector<LogEntry> log;
  double final_eval_loss = -1;
  int steps_done = 0;
  bool resumed = false;
};

// Mean next-token cross-entropy over targets != -1 of one batch (no gradients).
double eval_loss(const Model& m, const TrainBatch& b);

TrainResult train(Trainable& model, const TrainConfig& cfg, const BatchFn& train_batches,
                  const BatchFn& eval_batches = nullptr,
                  const std::function<void(const LogEntry&)>& on_log = nullptr);

}  // namespace glassbox
