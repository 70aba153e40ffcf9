#include "glassbox/stream_loss.h"

#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/metrics.h"
#include "test_util.h"

using namespace glassbox;

namespace {

TEST(StreamLoss, OneWindowIsTheNextTokenLossOfOneForward) {
  const Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e(m);
  const auto ids = gbtest::some_tokens(m.config().n_ctx, m.config().d_vocab);
  const StreamLoss r = stream_loss(e, ids);
  EXPECT_EQ(r.windows, 1);
  EXPECT_EQ(r.tokens_evaluated, int64_t(ids.size()) - 1);
  const Batch b = Batch::single(ids);
  EXPECT_NEAR(r.loss, next_token_loss(e.forward(b).logits, b), 1e-5);
  EXPECT_NEAR(r.ppl(), std::exp(r.loss), 1e-9 * r.ppl());
  EXPECT_EQ(r.to_json()["windows"], 1);
}

TEST(StreamLoss, LongStreamsPredictEveryTokenOnceInOverlappingWindows) {
  const Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e(m);
  const int n_ctx = m.config().n_ctx;
  const auto ids = gbtest::some_tokens(3 * n_ctx, m.config().d_vocab);
  size_t calls = 0;
  const StreamLoss r = stream_loss(e, ids, nullptr, [&](size_t w, size_t n) {
    EXPECT_EQ(w, calls++);
    EXPECT_EQ(int64_t(n), (int64_t(ids.size()) - 1 + n_ctx - 2) / (n_ctx - 1));
  });
  EXPECT_EQ(r.tokens, int64_t(ids.size()));
  EXPECT_EQ(r.tokens_evaluated, int64_t(ids.size()) - 1);
  EXPECT_EQ(r.windows, int64_t(calls));
  EXPECT_THROW(stream_loss(e, {1}), Error);
}

}  // namespace

// llama-perplexity's protocol, recomputed here as tools/perplexity/perplexity.cpp
// writes it: disjoint chunks of n_ctx from token 0, the first token of each
// replaced by BOS, one forward per chunk, and -log softmax (float max, expf
// summed in double) of positions n_ctx/2 .. n_ctx-2 against the next token.
double llama_perplexity_reference(Engine& e, std::vector<int32_t> ids, int n_ctx, int32_t bos, int max_chunks,
                                  int64_t* counted) {
  const int V = e.model().config().d_vocab;
  int n_chunk = int(ids.size()) / n_ctx;
  if (max_chunks > 0 && max_chunks < n_chunk) n_chunk = max_chunks;
  double nll = 0;
  int64_t count = 0;
  for (int i = 0; i < n_chunk; ++i) {
    const int start = i * n_ctx;
    const int32_t original = ids[size_t(start)];
    if (bos >= 0) ids[size_t(start)] = bos;
    const std::vector<int32_t> chunk(ids.begin() + start, ids.begin() + start + n_ctx);
    ids[size_t(start)] = original;
    const Tensor logits = e.forward(Batch::single(chunk)).logits;
    for (int k = n_ctx / 2; k < n_ctx - 1; ++k) {
      const float* z = logits.f32() + int64_t(k) * V;
      float mx = z[0];
      for (int v = 1; v < V; ++v) mx = std::max(mx, z[v]);
      double sum = 0;
      for (int v = 0; v < V; ++v) sum += std::exp(z[v] - mx);
      nll -= double(z[ids[size_t(start + k + 1)]] - mx) - std::log(sum);
      ++count;
    }
  }
  *counted = count;
  return nll / double(count);
}

TEST(ChunkedLoss, IsLlamaPerplexitysProtocol) {
  for (const char* name : {"gpt2", "llama"}) {
    SCOPED_TRACE(name);
    const Model m = Model::load(gbtest::fixture(name));
    Engine e(m);
    const int n_ctx = std::min(m.config().n_ctx, 16);
    // 3.5 chunks: the half-chunk tail is dropped, as llama.cpp drops it.
    const auto ids = gbtest::some_tokens(7 * n_ctx / 2, m.config().d_vocab, 7);
    for (const int32_t bos : {-1, 3}) {
      for (const int max_chunks : {0, 2}) {
        int64_t count = 0;
        const double want = llama_perplexity_reference(e, ids, n_ctx, bos, max_chunks, &count);
        size_t calls = 0;
        const StreamLoss r = chunked_loss(e, ids, {n_ctx, bos, max_chunks}, nullptr, [&](size_t, size_t) { ++calls; });
        const int chunks = max_chunks ? max_chunks : 3;
        EXPECT_EQ(r.windows, chunks);
        EXPECT_EQ(int64_t(calls), chunks);
        EXPECT_EQ(r.tokens, int64_t(ids.size()));
        EXPECT_EQ(r.tokens_evaluated, count);
        EXPECT_EQ(count, chunks * (n_ctx - n_ctx / 2 - 1));
        EXPECT_NEAR(r.loss, want, 1e-6);
      }
    }
    // BOS changes the number (the option is not vacuous).
    EXPECT_GT(std::fabs(chunked_loss(e, ids, {n_ctx, 3, 0}).loss - chunked_loss(e, ids, {n_ctx, -1, 0}).loss), 1e-6);
  }
}

TEST(ChunkedLoss, RefusesWhatLlamaPerplexityRefuses) {
  const Model m = Model::load(gbtest::fixture("gpt2"));
  Engine e(m);
  const int n_ctx = m.config().n_ctx;
  const auto ids = gbtest::some_tokens(2 * n_ctx - 1, m.config().d_vocab);
  EXPECT_THROW(chunked_loss(e, ids, {n_ctx, -1, 0}), Error);      // fewer than 2 chunks
  EXPECT_THROW(chunked_loss(e, ids, {n_ctx + 1, -1, 0}), Error);  // longer than the model's context
  EXPECT_THROW(chunked_loss(e, ids, {1, -1, 0}), Error);
  EXPECT_THROW(chunked_loss(e, ids, {4, m.config().d_vocab, 0}), Error);  // BOS outside the vocabulary
}
