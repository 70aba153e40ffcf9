#include "glassbox/analysis/head_detectors.h"

#include <algorithm>
#include <numeric>
#include <random>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::analysis {

std::vector<std::pair<int, int>> HeadScores::ranked() const {
  std::vector<std::pair<int, int>> out;
  for (int l = 0; l < n_layers; ++l)
    for (int h = 0; h < n_heads; ++h) out.push_back({l, h});
  std::stable_sort(out.begin(), out.end(), [&](auto a, auto b) { return at(a.first, a.second) > at(b.first, b.second); });
  return out;
}

nlohmann::json HeadScores::to_json() const {
  return {{"name", name}, {"n_layers", n_layers}, {"n_heads", n_heads}, {"scores", scores}};
}

namespace {
constexpr enum_table::Names<HeadPattern, 3> kPatterns = {{HeadPattern::PreviousToken, "previous_token"},
                                                         {HeadPattern::DuplicateToken, "duplicate_token"},
                                                         {HeadPattern::Induction, "induction"}};
}  // namespace

const char* to_string(HeadPattern p) { return enum_table::name(p, kPatterns); }

std::vector<float> detection_pattern(HeadPattern p, const int32_t* tok, int64_t T) {
  std::vector<float> D(static_cast<size_t>(T * T), 0.f);
  for (int64_t q = 0; q < T; ++q) {
    if (p == HeadPattern::PreviousToken) {
      if (q > 0) D[size_t(q * T + q - 1)] = 1;
      continue;
    }
    for (int64_t k = 0; k < q; ++k) {
      if (tok[k] != tok[q]) continue;
      if (p == HeadPattern::DuplicateToken) D[size_t(q * T + k)] = 1;
      else if (k + 1 <= q) D[size_t(q * T + k + 1)] = 1;  // induction: the token after the earlier occurrence
    }
  }
  return D;
}

std::vector<HeadScores> head_detection_scores(Engine& e, const Batch& batch, const std::vector<HeadPattern>& patterns,
                                              const HeadDetectorOptions& opt) {
  const Config& c = e.model().config();
  const int64_t B = batch.B, T = batch.T, H = c.n_heads, L = c.n_layers;
  // Detection patterns per row, with padding queries and keys removed.
  std::vector<std::vector<float>> D(patterns.size() * size_t(B));
  for (size_t i = 0; i < patterns.size(); ++i)
    for (int64_t b = 0; b < B; ++b) {
      auto& d = D[i * size_t(B) + size_t(b)];
      d = detection_pattern(patterns[i], batch.tokens.data() + b * T, T);
      for (int64_t q = 0; q < T; ++q)
        for (int64_t k = 0; k < T; ++k)
          if (!batch.valid(b, q) || !batch.valid(b, k)) d[size_t(q * T + k)] = 0;
    }
  std::vector<HeadScores> out(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    out[i].name = to_string(patterns[i]);
    out[i].n_layers = int(L);
    out[i].n_heads = int(H);
    out[i].scores.assign(size_t(L * H), 0.f);
  }
  HookRegistry reg(c);
  auto handle = reg.add("blocks.*.attn.hook_pattern", [&](TensorView& A, const HookContext& ctx) {
    const int l = ctx.point.layer;
    for (size_t i = 0; i < patterns.size(); ++i)
      for (int64_t b = 0; b < B; ++b) {
        const auto& d = D[i * size_t(B) + size_t(b)];
        for (int64_t h = 0; h < H; ++h) {
          const float* a = A.data + (b * H + h) * T * T;
          double num = 0, den = 0;
          for (int64_t q = 0; q < T; ++q) {
            if (!batch.valid(b, q)) continue;
            const float* dr = d.data() + q * T;
            if (opt.matched_rows_only && std::none_of(dr, dr + T, [](float x) { return x != 0; })) continue;
            for (int64_t k = 0; k <= q; ++k) {
              if ((opt.exclude_bos && k == 0) || (opt.exclude_current_token && k == q)) continue;
              num += double(a[q * T + k]) * dr[k];
              den += a[q * T + k];
            }
          }
          out[i].scores[size_t(l * H + h)] += float((den > 0 ? num / den : 0.0) / double(B));
        }
      }
  });
  ForwardOptions fo;
  fo.logits = LogitsMode::None;
  e.forward(batch, &reg, nullptr, fo);
  return out;
}

namespace {
int32_t bos_of(const Model& m) { return m.tokenizer() ? m.tokenizer()->bos_id() : -1; }
}  // namespace

Batch repeated_random_tokens(const Model& m, int64_t seq_len, int64_t rows, uint64_t seed) {
  return repeated_random_tokens(int32_t(m.config().d_vocab), seq_len, rows, seed, bos_of(m));
}

int64_t repeated_length_that_fits(const Model& m, int64_t want) {
  return std::max<int64_t>(0, std::min<int64_t>(want, (m.config().n_ctx - (bos_of(m) >= 0 ? 1 : 0)) / 2));
}

Batch repeated_random_tokens(int32_t d_vocab, int64_t seq_len, int64_t rows, uint64_t seed, int32_t bos) {
  if (d_vocab <= 0 || seq_len <= 0 || rows <= 0) fail("repeated_random_tokens: vocab, length and rows must be > 0");
  std::mt19937_64 rng(seed);
  std::vector<int32_t> pool;
  for (int32_t t = 0; t < d_vocab; ++t)
    if (t != bos) pool.push_back(t);
  std::vector<std::vector<int32_t>> out;
  for (int64_t r = 0; r < rows; ++r) {
    std::vector<int32_t> seq;
    if (int64_t(pool.size()) >= seq_len) {
      std::shuffle(pool.begin(), pool.end(), rng);
      seq.assign(pool.begin(), pool.begin() + seq_len);
    } else {
      for (int64_t i = 0; i < seq_len; ++i) seq.push_back(pool[size_t(rng() % pool.size())]);
    }
    std::vector<int32_t> row;
    if (bos >= 0) row.push_back(bos);
    row.insert(row.end(), seq.begin(), seq.end());
    row.insert(row.end(), seq.begin(), seq.end());
    out.push_back(std::move(row));
  }
  return Batch::from_rows(out);
}

}  // namespace glassbox::analysis

namespace glassbox {
template <>
analysis::HeadPattern from_string<analysis::HeadPattern>(std::string_view s) {
  return enum_table::value(s, analysis::kPatterns, "head pattern");
}
}  // namespace glassbox
