// Internals shared by the forward and backward passes.
#pragma once
#include <vector>

#include "glassbox/engine.h"

namespace glassbox::detail {

// Position ids follow the HF convention cumsum(mask) - 1, so left padding does
// not shift real tokens, continuing from the KV cache's next position per row.
// key_valid is [B, past + T]. Updates kv's validity and next positions.
inline void compute_positions(const Batch& batch, KVCache* kv, std::vector<int32_t>& pos,
                              std::vector<uint8_t>& key_valid) {
  const int64_t B = batch.B, T = batch.T, past = kv ? kv->length : 0, Tk = past + T;
  pos.assign(static_cast<size_t>(B * T), 0);
  key_valid.assign(static_cast<size_t>(B * Tk), 1);
  for (int64_t b = 0; b < B; ++b) {
    int32_t next = kv ? kv->next_pos[size_t(b)] : 0;
    for (int64_t t = 0; t < T; ++t) {
      const bool valid = batch.valid(b, t);
      pos[size_t(b * T + t)] = valid ? next : std::max(next - 1, 0);
      next += valid;
      key_valid[size_t(b * Tk + past + t)] = valid;
    }
    if (kv) {
      for (int64_t j = 0; j < past; ++j) key_valid[size_t(b * Tk + j)] = kv->key_valid[size_t(b * kv->capacity + j)];
      for (int64_t t = 0; t < T; ++t) kv->key_valid[size_t(b * kv->capacity + past + t)] = batch.valid(b, t);
      kv->next_pos[size_t(b)] = next;
    }
  }
}

}  // namespace glassbox::detail
