// Path patching (Wang et al. 2022, "Interpretability in the Wild";
// Goldowsky-Dill et al. 2023, "Localizing Model Behavior with Path Patching"):
// how much of a behaviour flows from sender heads into chosen receivers only.
// Activation patching a head measures its total effect, through every later
// component; path patching lets the senders' change reach the receivers and
// nothing else.
//
// The three steps, for the patched prompt `base` (Noise: clean, Denoise:
// corrupted) and the other prompt `source`:
//   a. run both and keep every head's hook_z;
//   b. rerun base with the senders' z taken from source and every other head's
//      z (all layers) frozen at its base value (MLP outputs too, if asked), and
//      record what the receivers read: their per-head slice of hook_q / hook_k /
//      hook_v, or the final residual stream;
//   c. rerun base with only the receivers' inputs replaced by those records,
//      everything downstream recomputed, and measure the metric.
// With the final residual stream (blocks.{L-1}.hook_resid_post, what the
// unembedding reads) as the only receiver, step c is step b's own logits: the
// senders' direct effect. Together with head receivers, step c adds the
// final-stream change of step b to its own final stream.
#pragma once
#include <string>
#include <vector>

#include "glassbox/analysis/patching.h"

namespace glassbox::analysis {

struct HeadRef {
  int layer = 0, head = 0;
};

// What a sender's effect may reach: one head's query, key or value input
// (key / value heads are the model's kv heads under GQA), or the final
// residual stream (layer = -1).
struct PathReceiver {
  int layer = -1;
  int head = 0;
  Site input = Site::q;  // q, k or v

  static PathReceiver resid_final() { return {}; }
  static PathReceiver head_input(int layer, int head, Site input) { return {layer, head, input}; }
  bool is_final() const { return layer < 0; }
  // "blocks.3.attn.hook_q[2]" (head 2), or "blocks.{L-1}.hook_resid_post".
  std::string name(const Config& c) const;
};

struct PathPatchingOptions {
  PatchMetric metric;  // normalised as in patching.h: (m - m_corrupt) / (m_clean - m_corrupt)
  // Noise, the papers' setting: clean run, corrupted senders (1 = the path
  // does not matter, 0 = it carries the whole clean-vs-corrupt difference).
  PatchDirection direction = PatchDirection::Noise;
  // Wang et al. freeze heads only and let MLPs recompute; freezing them too
  // confines the path to sender -> receiver without MLP mediation.
  bool freeze_mlps = false;
  // path_patching: the sender heads of one layer run as copies of the base's
  // rows in one batch (steps b and c each), within this many bytes of
  // activations (0: one sender per pass); step b starts at the senders' layer,
  // step c at the first receiver's, and only the metric's logits are unembedded.
  // path_patch (one sender set) runs full forwards: the reference.
  size_t batch_bytes = size_t(256) << 20;
};

// The metric after patching the path senders -> receivers. Every receiver
// must lie in a later layer than every sender (Error naming the argument).
double path_patch(Engine& e, const Batch& clean, const Batch& corrupt, const std::vector<HeadRef>& senders,
                  const std::vector<PathReceiver>& receivers, const PathPatchingOptions& opt);

// One path patch per sender head (l, h) -> receivers: values [n_layers, n_heads],
// method "path_patching", hook "attn.hook_z". A sender in or after the last
// receiver's layer cannot reach it: its cell is the unpatched metric, not run.
PatchGrid path_patching(Engine& e, const Batch& clean, const Batch& corrupt,
                        const std::vector<PathReceiver>& receivers, const PathPatchingOptions& opt);

}  // namespace glassbox::analysis
