// The layers l.. of a model as a model of its own: what lets a patching run
// start at layer l through the public engine API. Weights are views, so the
// suffix shares every buffer with the full model (which must outlive it); its
// blocks.{j} is the full model's blocks.{l + j}. A replace hook on its
// blocks.0.hook_resid_pre feeds it the full model's residual stream at layer l
// (its own embedding output is computed and overwritten: a cheap gather).
// first == n_layers leaves no layers: the final norm and unembedding alone,
// fed through replace hooks on hook_embed (and hook_pos_embed, zeroed).
#pragma once
#include <memory>

#include "glassbox/engine.h"
#include "glassbox/model.h"

namespace glassbox::analysis::detail {

struct LayerSuffix {
  int first = 0;
  std::unique_ptr<Model> model;
  std::unique_ptr<Engine> engine;
};

LayerSuffix layer_suffix(const Model& m, int first);

// The layers first.. of `full` (a KV cache of the whole model, filled by the baseline run).
void suffix_kv(KVCache& out, const KVCache& full, int first);
// Keeps the first `length` positions: the next forward continues at position `length`.
// Rows past `length` are overwritten by that forward, so a sweep rewinding to
// ever earlier positions needs no fresh copy.
void rewind_kv(KVCache& kv, int64_t length, const Batch& batch);

}  // namespace glassbox::analysis::detail
