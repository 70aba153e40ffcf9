#include "glassbox/stream_loss.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox {

double StreamLoss::ppl() const { return std::exp(loss); }

nlohmann::json StreamLoss::to_json() const {
  return {{"tokens", tokens}, {"tokens_evaluated", tokens_evaluated}, {"windows", windows}, {"loss", loss},
          {"ppl", ppl()}};
}

StreamLoss stream_loss(Engine& e, const std::vector<int32_t>& ids, const HookRegistry* hooks,
                       const std::function<void(size_t, size_t)>& progress) {
  const Config& c = e.model().config();
  if (ids.size() < 2) fail("stream loss: needs at least 2 tokens, got ", ids.size());
  const size_t n_ctx = size_t(c.n_ctx);
  if (n_ctx < 2) fail("stream loss: a model context of ", n_ctx, " tokens is too short to measure loss");
  std::vector<size_t> starts;
  for (size_t s = 0; s + 1 < ids.size(); s += n_ctx - 1) starts.push_back(s);
  StreamLoss r;
  r.tokens = int64_t(ids.size());
  r.windows = int64_t(starts.size());
  double total = 0;
  for (size_t w = 0; w < starts.size(); ++w) {
    if (progress) progress(w, starts.size());
    const size_t s = starts[w], len = std::min(n_ctx, ids.size() - s);
    const std::vector<int32_t> window(ids.begin() + std::ptrdiff_t(s), ids.begin() + std::ptrdiff_t(s + len));
    const Tensor logits = e.forward(Batch::single(window), hooks).logits;
    for (size_t t = 0; t + 1 < len; ++t, ++r.tokens_evaluated) {
      const float* z = logits.f32() + int64_t(t) * c.d_vocab;  // -log softmax(z)[next]
      total += kernels::logsumexp_f64(z, c.d_vocab) - double(z[window[t + 1]]);
    }
  }
  r.loss = total / double(r.tokens_evaluated);
  return r;
}

StreamLoss chunked_loss(Engine& e, const std::vector<int32_t>& ids, const ChunkedLossOptions& opt,
                        const HookRegistry* hooks, const std::function<void(size_t, size_t)>& progress) {
  const Config& c = e.model().config();
  const int64_t n_ctx = opt.n_ctx;
  if (n_ctx < 2 || n_ctx > c.n_ctx)
    fail("chunked loss: chunk length ", n_ctx, " must lie in [2, ", c.n_ctx, "] (the model's context)");
  if (opt.bos >= c.d_vocab) fail("chunked loss: BOS id ", opt.bos, " is outside the vocabulary of ", c.d_vocab);
  if (int64_t(ids.size()) < 2 * n_ctx)
    fail("chunked loss: needs at least ", 2 * n_ctx, " tokens for chunks of ", n_ctx, " (as llama-perplexity), got ",
         ids.size());
  int64_t n_chunk = int64_t(ids.size()) / n_ctx;
  if (opt.max_chunks > 0) n_chunk = std::min(n_chunk, opt.max_chunks);
  const int64_t first = n_ctx / 2;
  StreamLoss r;
  r.tokens = int64_t(ids.size());
  r.windows = n_chunk;
  double total = 0;
  for (int64_t i = 0; i < n_chunk; ++i) {
    if (progress) progress(size_t(i), size_t(n_chunk));
    std::vector<int32_t> chunk(ids.begin() + i * n_ctx, ids.begin() + (i + 1) * n_ctx);
    if (opt.bos >= 0) chunk[0] = opt.bos;
    const Tensor logits = e.forward(Batch::single(chunk), hooks).logits;
    for (int64_t t = first; t + 1 < n_ctx; ++t, ++r.tokens_evaluated) {
      const float* z = logits.f32() + t * c.d_vocab;
      total += kernels::logsumexp_f64(z, c.d_vocab) - double(z[chunk[size_t(t + 1)]]);
    }
  }
  r.loss = total / double(r.tokens_evaluated);
  return r;
}

}  // namespace glassbox
