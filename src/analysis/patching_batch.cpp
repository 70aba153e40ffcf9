#include "analysis/patching_batch.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "glassbox/error.h"

namespace glassbox::analysis::detail {

Batch tile_batch(const Batch& b, int64_t k, int64_t p0) {
  Batch s;
  s.B = k * b.B;
  s.T = b.T - p0;
  s.tokens.reserve(size_t(s.B * s.T));
  for (int64_t j = 0; j < k; ++j)
    for (int64_t i = 0; i < b.B; ++i) {
      s.tokens.insert(s.tokens.end(), b.tokens.begin() + i * b.T + p0, b.tokens.begin() + (i + 1) * b.T);
      if (!b.mask.empty()) s.mask.insert(s.mask.end(), b.mask.begin() + i * b.T + p0, b.mask.begin() + (i + 1) * b.T);
    }
  return s;
}

const float* tile_rows(const float* x, int64_t B, int64_t T, int64_t d, int64_t p0, int64_t k,
                       std::vector<float>& out) {
  if (p0 == 0 && k == 1) return x;
  const int64_t n = (T - p0) * d;
  out.resize(size_t(k * B * n));
  for (int64_t j = 0; j < k; ++j)
    for (int64_t b = 0; b < B; ++b)
      std::memcpy(&out[size_t((j * B + b) * n)], x + (b * T + p0) * d, size_t(n) * sizeof(float));
  return out.data();
}

void tile_kv(const KVCache& full, const Batch& base, int first, int64_t p0, int64_t k, KVCache& out) {
  const int64_t B = full.B, cap = full.capacity;
  const size_t L = full.k.size();
  const int64_t row = full.k.empty() ? 0 : int64_t(full.k.back().size()) / (B * cap);  // n_kv_heads * d_head
  out.B = k * B;
  out.capacity = cap;
  out.length = p0;
  out.k.resize(L);
  out.v.resize(L);
  for (size_t l = size_t(first); l < L; ++l)
    for (auto [src, dst] : {std::pair{&full.k[l], &out.k[l]}, std::pair{&full.v[l], &out.v[l]}}) {
      dst->resize(size_t(out.B * cap * row));
      for (int64_t j = 0; j < k; ++j)
        for (int64_t b = 0; b < B; ++b)
          std::memcpy(dst->data() + (j * B + b) * cap * row, src->data() + b * cap * row,
                      size_t(p0 * row) * sizeof(float));
    }
  out.key_valid.assign(size_t(out.B * cap), 0);
  out.next_pos.assign(size_t(out.B), 0);
  for (int64_t j = 0; j < k; ++j)
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < p0; ++t) {
        const bool valid = base.valid(b, t);
        out.key_valid[size_t((j * B + b) * cap + t)] = valid;
        out.next_pos[size_t(j * B + b)] += valid;
      }
}

HookFn batch_hook(const std::vector<int64_t>& cells, int64_t B, CellPatch patch) {
  return [cells, B, patch = std::move(patch)](TensorView& act, const HookContext& ctx) {
    const int64_t per_row = act.numel() / act.shape[0];
    for (size_t j = 0; j < cells.size(); ++j) {
      TensorView rows{act.data + int64_t(j) * B * per_row, act.shape};
      rows.shape[0] = B;
      patch(rows, ctx, cells[j]);
    }
  };
}

LogitReader::LogitReader(const PatchMetric& m) : metric(m) {
  metric.pos = 0;  // the logits read hold one position
  if (m.kind != MetricKind::LogitDiff && m.kind != MetricKind::Logit) return;  // (log) probabilities need every column
  tokens = m.answer;
  tokens.insert(tokens.end(), m.wrong.begin(), m.wrong.end());
  std::sort(tokens.begin(), tokens.end());
  tokens.erase(std::unique(tokens.begin(), tokens.end()), tokens.end());
  auto column = [this](int32_t t) {
    return int32_t(std::lower_bound(tokens.begin(), tokens.end(), t) - tokens.begin());
  };
  for (int32_t& t : metric.answer) t = column(t);
  for (int32_t& t : metric.wrong) t = column(t);
}

void LogitReader::narrow(ForwardOptions& o, int64_t metric_pos, int64_t p0) const {
  o.logits = LogitsMode::All;
  o.logit_positions = {metric_pos - p0};
  o.logit_tokens = tokens;
}

double LogitReader::value(const Tensor& logits, int64_t j, int64_t B) const {
  const int64_t C = logits.shape[2];
  if (logits.shape[0] == B) return metric.value(logits, 1);
  const Tensor rows = Tensor::from_f32(logits.f32() + j * B * C, {B, 1, C});
  return metric.value(rows, 1);
}

std::vector<CellRange> group_cells(const std::vector<int64_t>& starts, int64_t T, int64_t overhead, int64_t max_cells) {
  const size_t n = starts.size();
  // cost[j]: the cheapest cut of cells [0, j); from[j]: where its last batch begins.
  std::vector<double> cost(n + 1, std::numeric_limits<double>::infinity());
  std::vector<size_t> from(n + 1, 0);
  cost[0] = 0;
  for (size_t j = 1; j <= n; ++j)
    for (size_t i = j; i-- > 0 && int64_t(j - i) <= max_cells;) {
      const double c = cost[i] + double(j - i) * double(T - starts[i]) + double(overhead);
      if (c <= cost[j]) cost[j] = c, from[j] = i;  // ties: the larger batch
    }
  std::vector<CellRange> out;
  for (size_t j = n; j > 0; j = from[j]) out.push_back({from[j], j});
  std::reverse(out.begin(), out.end());
  return out;
}

int64_t cells_per_batch(const Engine& e, int64_t B, int64_t T, const ForwardOptions& o, size_t bytes,
                        size_t extra_per_cell) {
  const size_t per_cell = e.estimate_bytes(B, T, o) + extra_per_cell;
  return std::max<int64_t>(1, int64_t(bytes / std::max<size_t>(per_cell, 1)));
}

}  // namespace glassbox::analysis::detail
