#include "glassbox/features/stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "glassbox/error.h"

namespace glassbox::features {

double accuracy(const int32_t* pred, const int32_t* y, int64_t n) {
  if (n <= 0) return NAN;
  int64_t right = 0;
  for (int64_t i = 0; i < n; ++i) right += pred[i] == y[i];
  return double(right) / double(n);
}

double auroc(const double* score, const uint8_t* positive, int64_t n) {
  std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return score[a] < score[b]; });
  // Sum of the positives' ranks, tied scores sharing their midrank.
  double rank_sum = 0;
  int64_t n_pos = 0;
  for (int64_t i = 0; i < n;) {
    int64_t j = i;
    while (j < n && score[order[size_t(j)]] == score[order[size_t(i)]]) ++j;
    const double midrank = 0.5 * double(i + 1 + j);  // ranks i+1 .. j
    for (int64_t k = i; k < j; ++k)
      if (positive[order[size_t(k)]]) rank_sum += midrank, ++n_pos;
    i = j;
  }
  const int64_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) return NAN;
  return (rank_sum - 0.5 * double(n_pos) * double(n_pos + 1)) / (double(n_pos) * double(n_neg));
}

double auroc(const std::vector<double>& positive, const std::vector<double>& negative) {
  if (positive.empty() || negative.empty()) return 0.5;
  std::vector<double> score(positive);
  score.insert(score.end(), negative.begin(), negative.end());
  std::vector<uint8_t> is_positive(score.size(), 0);
  std::fill(is_positive.begin(), is_positive.begin() + std::ptrdiff_t(positive.size()), uint8_t(1));
  return auroc(score.data(), is_positive.data(), int64_t(score.size()));
}

double r_squared(const double* pred, const double* target, int64_t n) {
  if (n <= 0) return NAN;
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += target[i];
  mean /= double(n);
  double sse = 0, sst = 0;
  for (int64_t i = 0; i < n; ++i) {
    sse += (pred[i] - target[i]) * (pred[i] - target[i]);
    sst += (target[i] - mean) * (target[i] - mean);
  }
  return sst > 0 ? 1 - sse / sst : NAN;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) fail("pearson: ", a.size(), " vs. ", b.size(), " values");
  const double n = double(a.size());
  if (a.size() < 2) return 0;
  double ma = 0, mb = 0;
  for (size_t i = 0; i < a.size(); ++i) ma += a[i], mb += b[i];
  ma /= n, mb /= n;
  double sab = 0, saa = 0, sbb = 0;
  for (size_t i = 0; i < a.size(); ++i)
    sab += (a[i] - ma) * (b[i] - mb), saa += (a[i] - ma) * (a[i] - ma), sbb += (b[i] - mb) * (b[i] - mb);
  return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : 0;
}

}  // namespace glassbox::features
