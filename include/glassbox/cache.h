// run_with_cache: activations under their hook names, with a names filter, a
// positions filter and a storage dtype; saved / loaded as safetensors whose
// tensor names are the hook names (plus "logits" and "tokens").
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/engine.h"

namespace glassbox {

struct CacheOptions {
  std::vector<std::string> names;   // exact names or globs; empty = every hook
  std::vector<int64_t> positions;   // pos (query) indices kept; negative counts from the end; empty = all
  DType dtype = DType::F32;         // F32, F16 or BF16
  size_t max_memory = 0;            // bytes; 0 = no limit. Checked before running.
  bool with_result = false;         // include attn.hook_result when names is empty
};

class ActivationCache {
 public:
  std::vector<std::pair<std::string, Tensor>> entries;  // forward order
  Tensor logits;                                        // [B, T, V]
  Tensor tokens;                                        // I32 [B, T]

  bool contains(const std::string& name) const;
  const Tensor& operator[](const std::string& name) const;  // Error naming the hook if absent
  size_t nbytes() const;
  void save(const std::string& path) const;  // atomic
  static ActivationCache load(const std::string& path);
};

// Bytes the run needs (per-site scratch + cached tensors) — what max_memory is checked against.
size_t estimate_cache_run_bytes(const Engine& e, const Batch& b, const CacheOptions& o);

ActivationCache run_with_cache(Engine& e, const Batch& b, const CacheOptions& o = {},
                               HookRegistry* hooks = nullptr);

std::string human_bytes(size_t n);  // "12.3 MiB"

}  // namespace glassbox
