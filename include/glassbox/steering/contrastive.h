// Steering directions from contrastive data, one per layer:
//
//  * prompt pairs: the same prompt with a positive and a negative completion
//    (CAA's A/B answers, repeng's persona pairs); the activations are read at
//    the completion's last token or averaged over its tokens;
//  * two labelled prompt sets (features/labels.h: a JSONL file or a built-in
//    set with two classes): class 1 is the positive side.
//
// The activations come from features::ProbeActivations (one forward pass per
// batch of texts serving every layer); the directions from the plain
// functions below.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "glassbox/engine.h"
#include "glassbox/features/labels.h"
#include "glassbox/steering/direction.h"

namespace glassbox::steering {

struct ContrastivePair {
  std::vector<int32_t> prompt;               // what both sides share (BOS included where the model expects it)
  std::vector<int32_t> positive, negative;   // the two completions (may be empty: the prompt's last token is read)
  std::string text;                          // for people: the prompt as written
};

// JSONL, one object a line: {"prompt": "...", "positive": "...", "negative": "..."}
// (completions appended to the prompt as written: start them with a space
// where the tokenizer expects one). The prompt gets the tokenizer's special
// tokens (a BOS), the completions none. Error naming the file, line and field.
std::vector<ContrastivePair> read_pairs_jsonl(const std::string& path, const Model& m);

// Where each text's activation is read.
//   last             the last token of prompt + completion (CAA reads the answer token)
//   completion-mean  the mean over the positions that predict the
//                    completion's tokens: the prompt's last token through the
//                    completion's second-to-last (the last token where the
//                    completion or the prompt is empty)
enum class ReadAt : uint8_t { Last, CompletionMean };
const char* to_string(ReadAt r);  // "last", "completion-mean"

struct BuildOptions {
  Method method = Method::MeanDiff;  // mean-diff or pca-diff
  Site site = Site::resid_post;
  std::vector<int> layers;           // empty: every layer
  ReadAt read_at = ReadAt::Last;
  // pca-diff: subtract the differences' mean before the PCA (what repeng's
  // sklearn PCA does). Off by default: the mean shift is most of the signal
  // a consistent behaviour leaves, and centring throws it away.
  bool pca_center = false;
  int64_t batch = 32;  // texts per forward pass
  std::string name;
  std::function<void(int64_t done, int64_t total)> progress;  // over texts
};

// Error for no pairs, a pair whose texts exceed the context, a method other
// than mean-diff / pca-diff.
SteeringVector build_from_pairs(Engine& e, const std::vector<ContrastivePair>& pairs, const BuildOptions& opt = {});
// The positive side read by one model, the negative by another of the same
// shape (a tuned model and its base: the difference is then partly the
// models', as in model diffing).
SteeringVector build_from_pairs(Engine& positive_reader, Engine& negative_reader,
                                const std::vector<ContrastivePair>& pairs, const BuildOptions& opt = {});
// A two-class label set read at `position` (features' ProbePosition spec:
// "last", "mean", an index or a named position); `positive_class` names the
// positive side (empty: classes[1], the later name in sorted order, e.g.
// "positive" over "negative", "true" over "false"). mean-diff only: the sets
// are not paired. Error for another number of classes or an unknown class.
SteeringVector build_from_labels(Engine& e, const features::LabelSet& labels, const BuildOptions& opt = {},
                                 const std::string& position = "last", const std::string& positive_class = "");

// ---- the arithmetic (rows are [n, d] row-major; pos[i] and neg[i] are a pair)

// mean_i (pos[i] - neg[i]), accumulated in double.
std::vector<float> mean_difference(const float* pos, const float* neg, int64_t n, int64_t d);
// The unit first principal component of diffs[i] = pos[i] - neg[i] (about
// their mean when `center`), by power iteration on D^T D in double; its sign
// makes most pairs project higher on the positive side (ties: agree with
// the mean difference). Error when every difference is zero.
std::vector<float> pca_difference(const float* pos, const float* neg, int64_t n, int64_t d, bool center = false);
// Fraction of pairs with pos[i].v > neg[i].v.
double pair_separation(const float* pos, const float* neg, int64_t n, int64_t d, const std::vector<float>& v);

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::ReadAt from_string<steering::ReadAt>(std::string_view s);
}  // namespace glassbox
