// How well a probe does on held-out rows (accuracy, AUROC and R^2 are in
// stats.h), and the baselines it is judged against: a seeded stratified
// train/test split, and control tasks (Hewitt & Liang 2019, "Designing and Interpreting Probes with
// Control Tasks"): every word type gets a random label, so a probe can only
// learn the control task by memorising types; selectivity = task accuracy -
// control accuracy says how much of the accuracy the representation, not the
// probe, accounts for.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/features/stats.h"

namespace glassbox::features {

// A probe's AUROC from its scores [n, n_outputs]: two classes, output 0
// against label 1; more, the mean over classes of one-vs-rest AUROC (classes
// absent from y left out).
double probe_auroc(const double* scores, int64_t n_outputs, const int32_t* y, int64_t n, int n_classes);

// A train/test split of n items: within each class (y may be null: one
// class), a seeded shuffle puts round(test_fraction x size) items in the test
// set, at least one in each part when the class has two or more. Sorted indices.
struct Split {
  std::vector<int64_t> train, test;
};
Split stratified_split(const int32_t* y, int64_t n, double test_fraction, uint64_t seed);
// A split that keeps items of one group together: round(test_fraction x
// groups) of the distinct groups (at least one, never all), seeded, go to the test set.
Split group_split(const std::vector<std::string>& groups, double test_fraction, uint64_t seed);

// Hewitt & Liang's control task: each distinct key (a word type) gets one
// label drawn, seeded, from the empirical distribution of y; the result maps
// every row to its key's label. Keys get their labels in order of first
// appearance, so the same keys and seed give the same control task.
std::vector<int32_t> control_labels(const std::vector<std::string>& keys, const int32_t* y, int64_t n,
                                    uint64_t seed);
// The same for scalar targets: each key gets a target drawn from `target`.
std::vector<double> control_targets(const std::vector<std::string>& keys, const double* target, int64_t n,
                                    uint64_t seed);

}  // namespace glassbox::features
