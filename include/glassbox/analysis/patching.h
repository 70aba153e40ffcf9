// Activation patching (causal tracing of a clean vs. corrupted prompt pair):
// run one prompt, replace one activation with its value from the other, and
// measure how far the metric moves. Sweeps over (layer x position) for
// residual / attention-output / MLP-output sites and over (layer x head) for
// z / q / k / v / pattern / result (all positions at once).
//
// Metrics are normalised as in the IOI papers: (patched - corrupt) / (clean -
// corrupt), so 1 means "fully restores the clean behaviour" and 0 "no effect".
//
// Cost: one clean run (its cache is the patch source), one corrupted baseline
// run, then *partial* runs: a patch at layer l and position p leaves every
// layer below l and every position before p as in the baseline, so its run
// starts at layer l (the baseline's blocks.{l}.hook_resid_pre is fed to a
// model made of layers l.. only) and covers positions p.. only (the
// baseline's keys and values of earlier positions come from a KV cache).
// Heads are patched at all positions, so head sweeps reuse the layer prefix
// only. The cells of one layer run as the rows of one batch (or a few:
// grouped by start position, and capped at batch_bytes of activations), and
// each pass unembeds only the metric's position (and, for logit / logit_diff,
// only the answer and wrong columns). A cell whose patched value equals the
// baseline's, bit for bit, is not run: its value is the baseline's.
// All this agrees with a full rerun per cell up to float rounding (BLAS
// blocks a GEMM of more or fewer rows differently; ~1e-6 relative).
// `reuse_prefix = reuse_positions = false` is the exact reference: one full
// forward per cell, full logits, nothing batched or skipped.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/enum_string.h"

namespace glassbox::analysis {

enum class MetricKind : uint8_t { LogitDiff, Logit, Prob, LogProb };
const char* to_string(MetricKind k);  // "logit_diff", "logit", "prob", "logprob"

// A scalar read off the logits at one position, averaged over batch rows.
struct PatchMetric {
  MetricKind kind = MetricKind::LogitDiff;
  int64_t pos = -1;              // negative: from the end
  std::vector<int32_t> answer;   // one token for every row, or one per row
  std::vector<int32_t> wrong;    // LogitDiff: the token subtracted (same shape as answer)
  bool normalize = true;         // report (m - m_corrupt) / (m_clean - m_corrupt)

  // logits [B, Tl, V] are those of absolute positions [T - Tl, T). dlogits
  // (optional) receives d value / d logits, of logits' shape.
  double value(const Tensor& logits, int64_t T, Tensor* dlogits = nullptr) const;
  nlohmann::json to_json() const;
  static PatchMetric from_json(const nlohmann::json& j);
};

// Which run is patched: Denoise runs the corrupted prompt with clean
// activations patched in (what "restores" behaviour: sufficiency); Noise
// runs the clean prompt with corrupted activations (necessity).
enum class PatchDirection : uint8_t { Denoise, Noise };
const char* to_string(PatchDirection d);  // "denoise", "noise"

struct PatchingOptions {
  PatchMetric metric;
  PatchDirection direction = PatchDirection::Denoise;
  bool reuse_prefix = true;     // start patched runs at the patched layer (exact)
  bool reuse_positions = true;  // ... and at the patched position, earlier keys / values cached (rounding-level)
  // Cells of a layer run as copies of the baseline's rows in one batch, each
  // batch's activations, start rows and keys / values within this many bytes
  // (Engine::estimate_bytes); 0: one cell per pass.
  size_t batch_bytes = size_t(256) << 20;
  // Grouping a layer's cells by start position: what one more batch costs, in
  // token rows (every weight matrix is read once more). 0: a batch per start
  // position (fewest rows); large: one batch from the earliest start.
  int64_t batch_overhead_rows = 48;
  bool skip_unchanged = true;  // cells whose patch equals the baseline's value take its metric, no run
  // Sweep layers [first_layer, n_layers) only: the last few layers of an 8B
  // model cost a fraction of one forward per layer, all 32 about 17 forwards.
  int first_layer = 0;
};

// One sweep's result: values [n_layers, n_cols], columns are positions or heads.
struct PatchGrid {
  std::string hook;              // site suffix: "hook_resid_pre", "attn.hook_z" ...
  Site site = Site::resid_pre;
  bool by_head = false;
  int64_t n_layers = 0, n_cols = 0;  // n_layers: the rows, layers first_layer ..
  int64_t first_layer = 0;           // PatchingOptions::first_layer
  std::vector<float> values;
  double clean = 0, corrupt = 0; // raw metric of the unpatched runs
  bool normalized = true;
  std::string method = "activation_patching";  // or "attribution_patching", "path_patching"
  int64_t forward_runs = 0;      // partial or full forward passes spent on the cells (a batch counts once)
  std::vector<std::string> receivers;  // path patching: where the senders' effect may flow

  float at(int64_t layer, int64_t col) const { return values[size_t((layer - first_layer) * n_cols + col)]; }
  nlohmann::json to_json() const;
};

// Sites swept by position: resid_pre, resid_mid, resid_post, attn_out, mlp_out.
// Sites swept by head: q, k, v (kv heads with GQA), z, result, pattern.
bool patchable_by_position(Site s);
bool patchable_by_head(Site s);
// A patchable site by name ("resid_pre", "z") or hook suffix ("attn.hook_z"),
// as `glassbox patch --sites` and the server read them; Error naming `what`
// (the flag or field) and listing the patchable sites otherwise.
Site parse_patch_site(const std::string& name, const std::string& what);

// Clean and corrupt batches must have the same shape (and padding).
std::vector<PatchGrid> activation_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                                           const std::vector<Site>& sites, const PatchingOptions& opt);
PatchGrid activation_patching(Engine& e, const Batch& clean, const Batch& corrupt, Site site,
                              const PatchingOptions& opt);

// Pearson correlation of two equally long series (of two grids' values).
double correlation(const std::vector<float>& a, const std::vector<float>& b);
double correlation(const PatchGrid& a, const PatchGrid& b);

}  // namespace glassbox::analysis

namespace glassbox {
template <> analysis::MetricKind from_string<analysis::MetricKind>(std::string_view s);
template <> analysis::PatchDirection from_string<analysis::PatchDirection>(std::string_view s);
}  // namespace glassbox
