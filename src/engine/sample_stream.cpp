#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/tokenizer.h"

namespace glassbox {

std::vector<int32_t> sample_token_stream(Engine& e, int64_t n, uint64_t seed) {
  const Model& m = e.model();
  const int32_t bos = m.tokenizer() && m.tokenizer()->bos_id() >= 0 ? m.tokenizer()->bos_id() : 0;
  const int64_t window = m.config().n_ctx;
  if (window < 2) fail("the model's context of ", window, " tokens is too short to sample text from");
  // Up to 16 rows per generate() call: one batched pass per window instead of one per row.
  const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(16, (n + window - 2) / (window - 1)));
  std::vector<int32_t> out;
  for (uint64_t round = 0; int64_t(out.size()) < n; ++round) {
    SamplingOptions s;
    s.max_new_tokens = int(window - 1);
    s.seed = seed * 1000003 + round;
    const Generation g = generate(e, std::vector<std::vector<int32_t>>(size_t(rows), {bos}), s);
    for (const auto& row : g.tokens) {
      out.push_back(bos);
      out.insert(out.end(), row.begin(), row.end());
    }
  }
  out.resize(size_t(n));
  return out;
}

}  // namespace glassbox
