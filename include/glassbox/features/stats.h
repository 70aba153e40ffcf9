// The statistics probes and autointerp scores are judged by: accuracy, AUROC,
// R^2 and Pearson correlation, one implementation each.
#pragma once
#include <cstdint>
#include <vector>

namespace glassbox::features {

// Fraction of rows where pred == y; NaN for no rows.
double accuracy(const int32_t* pred, const int32_t* y, int64_t n);

// Area under the ROC curve of `score` for rows with positive[i] != 0 against
// the rest: the probability that a random positive outscores a random
// negative, ties counting one half (Mann-Whitney U from midranks; exact,
// O(n log n)). NaN when either group is empty.
double auroc(const double* score, const uint8_t* positive, int64_t n);
// The same from the two groups' scores, but 0.5 (chance) when a group is
// empty: what autointerp reports for a latent with nothing to tell apart.
double auroc(const std::vector<double>& positive, const std::vector<double>& negative);

// 1 - SSE / SST over the rows (SST around the targets' own mean); NaN when the targets are constant.
double r_squared(const double* pred, const double* target, int64_t n);

// Pearson correlation; 0 when either side is constant or has fewer than two
// values. Throws glassbox::Error when the sizes differ.
double pearson(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace glassbox::features
