// Batched patched runs, shared by activation patching, path patching and
// ACDC: the patched forwards that start at the same layer run as the rows of
// one batch (k copies of the baseline's B rows, copy j carrying cell j's
// patch), and the metric reads only the logits it needs.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "glassbox/analysis/patching.h"
#include "glassbox/engine.h"

namespace glassbox::analysis::detail {

// k copies of every row of b, positions p0.. of each: [k*B, T - p0].
Batch tile_batch(const Batch& b, int64_t k, int64_t p0);
// k copies of positions p0.. of x [B, T, d]: out [k*B, T - p0, d].
const float* tile_rows(const float* x, int64_t B, int64_t T, int64_t d, int64_t p0, int64_t k,
                       std::vector<float>& out);
// For k copies of the baseline's rows, its keys / values of positions < p0 at
// layers first.. (a pass from `first` never reads earlier layers): each copy
// continues at position p0. `out` keeps its memory from call to call.
void tile_kv(const KVCache& full, const Batch& base, int first, int64_t p0, int64_t k, KVCache& out);

// Writes one cell's patch into the B rows of its copy (act.shape[0] == B).
using CellPatch = std::function<void(TensorView& act, const HookContext& ctx, int64_t cell)>;
// A hook giving copy j of the batch the patch of cells[j].
HookFn batch_hook(const std::vector<int64_t>& cells, int64_t B, CellPatch patch);

// The logits a PatchMetric reads: one position, and for logit / logit_diff
// only the answer and wrong columns (the metric's tokens renamed to columns).
struct LogitReader {
  std::vector<int32_t> tokens;  // vocabulary columns unembedded; empty: all
  PatchMetric metric;           // the metric on logits [B, 1, C]
  explicit LogitReader(const PatchMetric& m);
  // Asks a pass whose positions start at p0 for the metric position's logits only.
  void narrow(ForwardOptions& o, int64_t metric_pos, int64_t p0) const;
  // The metric of copy j (rows j*B .. j*B+B-1) of a narrowed pass's logits.
  double value(const Tensor& logits, int64_t j, int64_t B) const;
};

// Cells of one layer by the position their runs start at (ascending), cut
// into batches: [begin, end) ranges of `starts`, each run from starts[begin]
// for T - starts[begin] positions, at most max_cells cells. Minimises the
// positions computed plus `overhead` per batch (what a batch costs beyond its
// rows: every weight matrix read once more).
struct CellRange {
  size_t begin, end;
};
std::vector<CellRange> group_cells(const std::vector<int64_t>& starts, int64_t T, int64_t overhead, int64_t max_cells);

// How many cells of B rows and T positions one batch may hold within `bytes`
// (the pass's activations, Engine::estimate_bytes, plus `extra_per_cell`); at least 1.
int64_t cells_per_batch(const Engine& e, int64_t B, int64_t T, const ForwardOptions& o, size_t bytes,
                        size_t extra_per_cell);

}  // namespace glassbox::analysis::detail
