#include "glassbox/engine.h"
#include "glassbox/error.h"

namespace glassbox {

Batch Batch::from_rows(const std::vector<std::vector<int32_t>>& rows, bool pad_left, int32_t pad_id) {
  Batch b;
  b.B = int64_t(rows.size());
  if (b.B == 0) fail("batch: no token rows given");
  bool ragged = false;
  for (const auto& r : rows) {
    if (r.empty()) fail("batch: a token row is empty");
    ragged |= int64_t(r.size()) != int64_t(rows[0].size());
    b.T = std::max<int64_t>(b.T, int64_t(r.size()));
  }
  b.tokens.assign(size_t(b.B * b.T), pad_id);
  if (ragged) b.mask.assign(size_t(b.B * b.T), 0);
  for (int64_t i = 0; i < b.B; ++i) {
    const auto& r = rows[size_t(i)];
    const int64_t off = pad_left ? b.T - int64_t(r.size()) : 0;
    for (size_t t = 0; t < r.size(); ++t) {
      b.tokens[size_t(i * b.T + off) + t] = r[t];
      if (ragged) b.mask[size_t(i * b.T + off) + t] = 1;
    }
  }
  return b;
}

void KVCache::reset(const Config& c, int64_t batch, int64_t cap) {
  B = batch;
  capacity = cap;
  length = 0;
  const size_t n = size_t(B * cap * c.n_kv_heads * c.d_head);
  k.assign(size_t(c.n_layers), std::vector<float>(n));
  v.assign(size_t(c.n_layers), std::vector<float>(n));
  key_valid.assign(size_t(B * cap), 0);
  next_pos.assign(size_t(B), 0);
}

}  // namespace glassbox
