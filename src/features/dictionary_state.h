// Internal: the trainer's per-dictionary state, and its checkpoint files.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "features/sae_detail.h"
#include "glassbox/features/dictionary_train.h"
#include "train/optimizer.h"

namespace glassbox::features::detail {

struct DictState {
  DictionarySpec spec;
  Sae sae;                          // trained in normalised units (norm_scale applied to inputs)
  std::vector<float> log_threshold; // JumpReLU's parameter (threshold = exp): keeps it positive
  glassbox::detail::OptimizerState opt;
  std::vector<int64_t> since_fired; // tokens since each latent last fired
  double norm_scale = 1;
  float batchtopk_ema = 0;          // running estimate of BatchTopK's inference threshold
  std::vector<DictionaryLogEntry> log;
  // Not checkpointed: rebuilt each run.
  DictionarySites sites;
  bool unit_norm = false;
  std::vector<uint8_t> dead;
  SaeForward fw;
  SaeGrads g;
  std::vector<float> x, y;
  double acc_loss = 0, acc_mse = 0, acc_sp = 0, acc_aux = 0, acc_l0 = 0;
  int acc_n = 0;
};

struct RunCounters {
  int64_t step = 0;
  int64_t batches_drawn = 0;  // training batches read since the stream's first rewind
};

nlohmann::json log_json(const std::vector<DictionaryLogEntry>& log);

// out_dir/checkpoint/{state.json, <i>/cfg.json, <i>/sae_weights.safetensors,
// <i>/optimizer.safetensors}, written into checkpoint.tmp and swapped in.
void save_checkpoint(const std::string& out_dir, const std::vector<DictState>& ds, const RunCounters& rc);
// false when there is none; Error when it does not match the specs.
bool load_checkpoint(const std::string& out_dir, std::vector<DictState>& ds, RunCounters& rc);

}  // namespace glassbox::features::detail
