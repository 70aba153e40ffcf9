#include "analysis/layer_suffix.h"

#include <algorithm>

#include "glassbox/error.h"

namespace glassbox::analysis::detail {

LayerSuffix layer_suffix(const Model& m, int first) {
  const Config& c = m.config();
  if (first < 0 || first > c.n_layers) fail("patching: layer ", first, " is out of range for ", c.n_layers, " layers");
  Config sc = c;
  sc.n_layers = c.n_layers - first;
  Weights w = m.weights();
  w.layers.erase(w.layers.begin(), w.layers.begin() + first);
  LayerSuffix s;
  s.first = first;
  s.model = std::make_unique<Model>(sc, std::move(w), nullptr, m.source() + " [layers " + std::to_string(first) + "..]",
                                    m.n_params(), std::vector<StoredTensorInfo>{});
  s.engine = std::make_unique<Engine>(*s.model);
  return s;
}

void suffix_kv(KVCache& out, const KVCache& full, int first) {
  const size_t L = full.k.size();
  out.B = full.B;
  out.capacity = full.capacity;
  out.length = full.length;
  out.k.assign(full.k.begin() + first, full.k.begin() + std::ptrdiff_t(L));
  out.v.assign(full.v.begin() + first, full.v.begin() + std::ptrdiff_t(L));
  out.key_valid = full.key_valid;
  out.next_pos = full.next_pos;
}

void rewind_kv(KVCache& kv, int64_t length, const Batch& batch) {
  kv.length = length;
  kv.next_pos.assign(static_cast<size_t>(kv.B), 0);
  for (int64_t b = 0; b < kv.B; ++b)
    for (int64_t t = 0; t < length; ++t) kv.next_pos[size_t(b)] += batch.valid(b, t);
}

}  // namespace glassbox::analysis::detail
