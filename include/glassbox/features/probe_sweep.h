// Probes at every layer and site: one forward pass per batch of prompts keeps
// every requested site of every layer (ForwardOptions::keep), the rows at the
// probed position(s) are gathered, and a probe is fitted per (site, layer) on
// a seeded, stratified split of the examples (rows of one example never span
// train and test), next to the same probe on a control task.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/features/activations.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe.h"

namespace glassbox::features {

// Which token of each example the probe reads: "last", "every" (each token a
// row), "mean" (one row: the mean over the tokens after the first, BOS), an
// index ("0", "-2": from the end), or a name from the examples' `positions`
// ("IO", "S2", "end").
struct ProbePosition {
  std::string spec = "last";
  // The token indices of `ex` this spec selects (none for "mean"); Error naming the example and the spec.
  std::vector<int64_t> resolve(const ProbeExample& ex, size_t example_index) const;
};

// The rows at the probed positions of a label set, for each hook: an
// ActivationStream, so what reads activations for dictionaries reads these
// too. Rows come in example order; row_example(r) says whose each row is.
class ProbeActivations : public ActivationStream {
 public:
  ProbeActivations(Engine& e, const LabelSet& labels, std::vector<HookPoint> hooks, ProbePosition position,
                   int64_t batch_examples = 64);
  const std::vector<std::string>& site_names() const override { return names_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override;
  const std::vector<HookPoint>& hooks() const { return hooks_; }
  // The example of each row returned so far (since the last rewind).
  const std::vector<int64_t>& row_examples() const { return row_example_; }

 private:
  void run_batch();
  Engine& engine_;
  const LabelSet& labels_;
  std::vector<HookPoint> hooks_;
  std::vector<std::string> names_;
  std::vector<int64_t> dims_;
  ProbePosition position_;
  int64_t batch_examples_;
  size_t next_example_ = 0;
  ActivationBatch pending_;          // rows computed but not yet returned
  std::vector<int64_t> pending_example_;
  int64_t pending_from_ = 0;
  std::vector<int64_t> row_example_;
};

struct ProbeSweepOptions {
  std::vector<Site> sites = {Site::resid_post};  // each at every layer (global sites once)
  ProbePosition position;
  ProbeOptions probe;
  double test_fraction = 0.25;
  uint64_t seed = 0;        // the split and the control task
  bool control = true;      // also fit the control task (selectivity)
  int64_t batch_examples = 64;
  // Called with (stage, done, total): "activations" over examples, "probes" over cells.
  std::function<void(const char*, int64_t, int64_t)> progress;
};

struct ProbeCell {
  Site site = Site::resid_post;
  int layer = -1;
  std::string hook;  // "blocks.2.hook_resid_post"
  int64_t d = 0;
  // Classification (NaN for regression): held-out accuracy and AUROC, training accuracy.
  double accuracy = NAN, auroc = NAN, train_accuracy = NAN;
  // Regression (NaN for classification): held-out R^2 and mean squared error.
  double r2 = NAN, mse = NAN;
  // The same probe on the control task, and task - control (accuracy, or R^2).
  double control = NAN, selectivity = NAN;
  LinearProbe probe;
  nlohmann::json to_json(bool with_probe = false) const;
};

struct ProbeSweep {
  std::string label_set, model, position;
  ProbeKind kind = ProbeKind::Logistic;
  std::vector<std::string> classes;
  int64_t n_examples = 0, n_train = 0, n_test = 0;  // examples (rows: n_train_rows ...)
  int64_t n_train_rows = 0, n_test_rows = 0;
  double majority = NAN;  // held-out accuracy of always answering the most frequent training class
  int n_layers = 0;
  std::vector<ProbeCell> cells;  // sites in the order asked, layers ascending
  const ProbeCell* find(Site s, int layer) const;
  // The first layer whose held-out accuracy (R^2) reaches `threshold` at site s; -1 if none.
  int first_layer_reaching(Site s, double threshold) const;
  nlohmann::json to_json(bool with_probes = false) const;
};

ProbeSweep probe_sweep(Engine& e, const LabelSet& labels, const ProbeSweepOptions& opt = {});

}  // namespace glassbox::features
