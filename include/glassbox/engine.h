// The forward and backward passes. One Engine per model and thread. It owns
// one scratch buffer per hook site (reused by every layer and every call) and
// recycles the tensors of kept sites the caller has let go of; it fires
// hooks at every site.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
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
const char* to_string(LogitsMode m);  // "all", "last", "none"
template <> LogitsMode from_string<LogitsMode>(std::string_view s);

struct ForwardOptions {
  LogitsMode logits = LogitsMode::All;
  // Hook sites whose activations outlive the pass (the cache): they are
  // written straight into tensors of their own, returned in ForwardResult.
  HookSet keep;
  bool compute_result = false;  // per-head attn.hook_result even without a hook on it
  bool for_backward = false;    // also keep what Engine::backward needs
  // TransformerLens' start_at_layer: with `start_resid` (the residual stream
  // entering block start_at_layer, [B, T, d_model] for the batch's T positions)
  // the pass skips the embeddings and the blocks before that one and starts
  // from it; blocks.{start_at_layer}.hook_resid_pre fires on it. A start above
  // 0 needs start_resid; start_at_layer == n_layers runs only ln_final and the
  // unembedding. (start 0 with start_resid: a given input instead of the embeddings.)
  int start_at_layer = 0;
  const float* start_resid = nullptr;
  // TransformerLens' stop_at_layer: run the blocks before this one only (-1:
  // all of them and the unembedding). The pass computes no logits and returns
  // the residual stream entering block stop_at_layer in ForwardResult::resid.
  int stop_at_layer = -1;
  // Unembed only what a metric reads (with logits = All): the positions listed
  // (indices into this call's T positions, negative from the end) and / or the
  // vocabulary columns listed. logits is then [B, P, C] (P: the positions
  // listed, else T; C: the tokens listed, else d_vocab). ln_final runs on those
  // positions only, so its hooks and kept activations are [B, P, ...]. A logit
  // difference needs 2 of d_vocab columns: with logit_tokens the pass skips
  // the [B*P, d_vocab] unembedding GEMM and reads those columns of W_U.
  std::vector<int64_t> logit_positions;
  std::vector<int32_t> logit_tokens;
};

// The engine keeps a reference to the last pass's logits and kept tensors:
// the next pass reuses the memory of those the caller has released (no page
// faults for a training step's activations), never memory still referenced.
// Released results thus stay allocated until the next pass or ~Engine.
struct ForwardResult {
  Tensor logits;                                   // [B, T, V], [B, 1, V] (Last), [B, P, C] (logit_positions / _tokens) or empty
  Tensor resid;                                    // [B, T, d_model] after stop_at_layer, else empty
  std::vector<std::pair<HookPoint, Tensor>> kept;  // in forward order
  int start_at_layer = 0;                          // as run (backward stops there)
  bool from_resid = false;                         // started from ForwardOptions::start_resid (no embeddings)

  // The kept activation at p; Error naming the hook when it was not kept.
  const Tensor& get(HookPoint p) const;
  const Tensor* find(HookPoint p) const;  // null when not kept
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
  // through replaced activations as through the identity. A pass run from
  // start_resid stops at its start layer: `d_start_resid` (optional,
  // [B, T, d_model]) receives d(metric)/d(start_resid), and no embedding
  // gradient is formed.
  void backward(const Batch& batch, const ForwardResult& fwd, const float* dlogits,
                const HookRegistry* hooks = nullptr, const Weights* weight_grads = nullptr,
                float* d_start_resid = nullptr);

  // Bytes a pass needs for a batch (scratch + kept slices), for memory limits.
  size_t estimate_bytes(int64_t B, int64_t T, const ForwardOptions& opt) const;

 private:
  struct Impl;
  const Model& model_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace glassbox
