// Analysis results as report charts (Vega-Lite specs), with the axis labels
// they share: what the CLI's --html pages, the tour and the bindings draw
// from patching grids, head scores, lens tables, DLA, attention patterns and
// training logs.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/model.h"
#include "glassbox/report.h"
#include "glassbox/tensor.h"

namespace glassbox::pages {

// "3 ' Mary'"-style position labels ("#id" without a tokenizer), "L2", "H3".
std::vector<std::string> position_labels(const Model& m, const std::vector<int32_t>& tokens);
std::vector<std::string> layer_labels(int64_t n, int64_t first = 0);
std::vector<std::string> head_labels(int64_t n_heads);

// [layer, position] or [layer, head] on a diverging scale; col_labels name
// the positions (unused for a by-head grid).
report::json patch_heatmap(const analysis::PatchGrid& g, const std::vector<std::string>& col_labels);
report::json head_score_heatmap(const analysis::HeadScores& s);
// The probability of each cell's top token, [residual stream, position].
report::json lens_heatmap(const Model& m, const analysis::LogitLensResult& r);
report::json dla_head_heatmap(const analysis::DlaResult& r);

// One head's [query, key] attention on row 0 of `tokens`; pattern is a
// hook_pattern activation [B, H, T, T], axes label the tokens as the
// tokenizer spells them ("#id" without one). Title "L0H1".
report::json attention_heatmap(const Model& m, const std::vector<int32_t>& tokens, const Tensor& pattern, int layer,
                               int head);

// Direct logit attribution by component (embeddings, each attn_out / mlp_out, bias) as bars.
report::json dla_component_chart(const analysis::DlaResult& r);

// KL to the final distribution by layer, logit lens against tuned lens.
report::json lens_comparison_chart(const analysis::LensComparison& c);

// The loss curve of a training log (train_log.json: {"log": [{step, loss,
// eval_loss?}...]}): training loss, and held-out loss where logged. Null
// JSON when the log has no entries array.
report::json loss_curve_chart(const nlohmann::json& train_log);

}  // namespace glassbox::pages
