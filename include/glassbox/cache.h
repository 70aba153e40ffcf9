// run_with_cache: activations under their hook names, with a names filter, a
// positions filter and a storage dtype; saved / loaded as safetensors whose
// tensor names are the hook names (plus "logits" and "tokens").
// stream_cache_to_file writes the same file without holding the cache: each
// activation goes to disk as the forward produces it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/engine.h"
#include "glassbox/safetensors_stream.h"

namespace glassbox {

struct CacheOptions {
  std::vector<std::string> names;   // exact names or globs; empty = every hook
  std::vector<int64_t> positions;   // pos (query) indices kept; negative counts from the end; empty = all
  DType dtype = DType::F32;         // F32, F16 or BF16
  size_t max_memory = 0;            // bytes; 0 = no limit. Checked before running (streaming: shrinks the writer's chunks).
  bool with_result = false;         // include attn.hook_result when names is empty
};

class ActivationCache {
 public:
  std::vector<std::pair<std::string, Tensor>> entries;  // hook order (all_hook_points), whatever the names' order
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

// The file run_with_cache(e, b, o, hooks).save(path) writes, byte for byte,
// streamed: a hook copies each activation (positions selected) into the
// writer's chunks as the forward produces it, and the writer thread converts
// and writes it while the forward goes on. Memory: the pass's per-site
// scratch, the logits and the writer's pool, however many hooks are cached.
// With o.max_memory the pool shrinks to fit; Error before running when even
// the smallest pool does not fit (naming what the run needs). Atomic: on any
// error no file is left. Returns the tensors written (data null), in file order.
std::vector<TensorToWrite> stream_cache_to_file(Engine& e, const Batch& b, const CacheOptions& o,
                                                const std::string& path, HookRegistry* hooks = nullptr,
                                                StreamWriterOptions pool = {});
// Bytes stream_cache_to_file needs with this pool (per-site scratch + logits + pool).
size_t estimate_stream_cache_bytes(const Engine& e, const Batch& b, const CacheOptions& o,
                                   const StreamWriterOptions& pool = {});

std::string human_bytes(size_t n);  // "12.3 MiB"

}  // namespace glassbox
