// The forward pass. One Engine per model and thread; it owns the activation
// arena (reused across calls) and fires hooks at every site.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "glassbox/hooks.h"
#include "glassbox/model.h"
#include "glassbox/tensor.h"

namespace glassbox {

// A batch of token rows of equal length T; mask[b*T+t] == 0 marks padding.
struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;  // [B, T]
  std::vector<uint8_t> mask;    // [B, T] or empty (all valid)
  // Pads rows of different lengths; left padding keeps the last token of
  // every row at position T-1 (what generation wants).
  static Batch from_rows(const std::vector<std::vector<int32_t>>& rows, bool pad_left = false,
                         int32_t pad_id = 0);
  static Batch single(const std::vector<int32_t>& ids) { return from_rows({ids}); }
  bool valid(int64_t b, int64_t t) const { return mask.empty() || mask[size_t(b * T + t)]; }
};

// Keys and values of earlier positions, post-rotary, per layer: [B, capacity, n_kv_heads, d_head].
struct KVCache {
  int64_t B = 0, capacity = 0, length = 0;
  std::vector<std::vector<float>> k, v;   // per layer
  std::vector<uint8_t> key_valid;         // [B, capacity]
  std::vector<int32_t> next_pos;          // [B] position id of the next token per row
  void reset(const Config& c, int64_t B, int64_t capacity);
};

enum class LogitsMode : uint8_t { All, Last, None };

struct ForwardOptions {
  LogitsMode logits = LogitsMode::All;
  // Hook sites whose activations outlive the pass (the cache): their arena
  // slices are allocated as separate tensors and returned in `kept`.
  std::set<std::pair<int, int>> keep;  // {int(Site), layer}
  bool compute_result = false;         // per-head attn.hook_result even without a hook on it
  bool for_backward = false;           // also keep what Engine::backward needs
};

// The engine keeps a reference to the last pass's logits and kept tensors:
// the next pass reuses the memory of those the caller has released (no page
// faults for a training step's activations), never memory still referenced.
// Released results thus stay allocated until the next pass or ~Engine.
struct ForwardResult {
  Tensor logits;                                // [B, T, V], [B, 1, V] (Last) or empty
  std::vector<std::pair<HookPoint, Tensor>> kept;  // in forward order
};

class Engine {
 public:
  explicit Engine(const Model& m);
  ~Engine();
  const Model& model() const { return model_; }

  // Runs the model on `batch` (appending to `kv` if given). Hooks in `hooks`
  // fire at every site they cover. Throws Error for tokens out of range,
  // sequences longer than the context, and the like.
  ForwardResult forward(const Batch& batch, const HookRegistry* hooks = nullptr, KVCache* kv = nullptr,
                        const ForwardOptions& opt = {});
  Tensor logits(const Batch& batch, const HookRegistry* hooks = nullptr) {
    return forward(batch, hooks).logits;
  }

  // Backpropagates dlogits ([B, T, V], or [B, 1, V] after LogitsMode::Last:
  // the same shape as fwd.logits) through a pass run with ForwardOptions::for_backward. Grad hooks in `hooks` receive
  // d(metric)/d(activation) at their sites; if `weight_grads` is given (a
  // Weights of views into gradient buffers laid out like the model's weights,
  // see Trainable), weight gradients are ACCUMULATED into it. Gradients flow
  // through replaced activations as through the identity.
  void backward(const Batch& batch, const ForwardResult& fwd, const float* dlogits,
                const HookRegistry* hooks = nullptr, const Weights* weight_grads = nullptr);

  // Bytes the arena needs for a batch (scratch + kept slices), for memory limits.
  size_t estimate_bytes(int64_t B, int64_t T, const ForwardOptions& opt) const;

 private:
  struct Impl;
  const Model& model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glassbox
