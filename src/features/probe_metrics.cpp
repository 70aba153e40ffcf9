#include "glassbox/features/probe_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "glassbox/error.h"

namespace glassbox::features {

namespace {
// Seeded and identical on every platform (no std::*_distribution).
uint64_t below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }
}  // namespace

double probe_auroc(const double* scores, int64_t n_outputs, const int32_t* y, int64_t n, int n_classes) {
  std::vector<uint8_t> pos(static_cast<size_t>(n));
  if (n_outputs == 1) {
    for (int64_t i = 0; i < n; ++i) pos[size_t(i)] = y[i] == 1;
    return auroc(scores, pos.data(), n);
  }
  if (n_outputs != n_classes) fail("probe_auroc: ", n_outputs, " outputs for ", n_classes, " classes");
  std::vector<double> s(static_cast<size_t>(n));
  double sum = 0;
  int used = 0;
  for (int k = 0; k < n_classes; ++k) {
    for (int64_t i = 0; i < n; ++i) s[size_t(i)] = scores[i * n_outputs + k], pos[size_t(i)] = y[i] == k;
    const double a = auroc(s.data(), pos.data(), n);
    if (!std::isnan(a)) sum += a, ++used;
  }
  return used ? sum / used : NAN;
}


Split stratified_split(const int32_t* y, int64_t n, double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) fail("stratified_split: test fraction must be in (0, 1), got ", test_fraction);
  std::map<int32_t, std::vector<int64_t>> by_class;
  for (int64_t i = 0; i < n; ++i) by_class[y ? y[i] : 0].push_back(i);
  std::mt19937_64 rng(seed);
  Split s;
  for (auto& [label, items] : by_class) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(rng, i)]);
    auto k = int64_t(std::llround(test_fraction * double(items.size())));
    if (items.size() >= 2) k = std::clamp<int64_t>(k, 1, int64_t(items.size()) - 1);
    s.test.insert(s.test.end(), items.begin(), items.begin() + k);
    s.train.insert(s.train.end(), items.begin() + k, items.end());
  }
  std::sort(s.train.begin(), s.train.end());
  std::sort(s.test.begin(), s.test.end());
  return s;
}

Split group_split(const std::vector<std::string>& groups, double test_fraction, uint64_t seed) {
  if (!(test_fraction > 0 && test_fraction < 1)) fail("group_split: test fraction must be in (0, 1), got ", test_fraction);
  std::map<std::string, size_t> index;
  std::vector<std::string> order;  // first appearance
  for (const auto& g : groups)
    if (index.emplace(g, order.size()).second) order.push_back(g);
  if (order.size() < 2) fail("group_split: ", order.size(), " group(s); need two to hold one out");
  std::vector<size_t> perm(order.size());
  std::iota(perm.begin(), perm.end(), 0);
  std::mt19937_64 rng(seed);
  for (size_t i = perm.size(); i > 1; --i) std::swap(perm[i - 1], perm[below(rng, i)]);
  const auto k = std::clamp<int64_t>(std::llround(test_fraction * double(order.size())), 1, int64_t(order.size()) - 1);
  std::vector<uint8_t> test(order.size(), 0);
  for (int64_t i = 0; i < k; ++i) test[perm[size_t(i)]] = 1;
  Split s;
  for (size_t i = 0; i < groups.size(); ++i) (test[index[groups[i]]] ? s.test : s.train).push_back(int64_t(i));
  return s;
}

namespace {
// The index into the rows whose value each key's control label copies.
std::vector<int64_t> control_draws(const std::vector<std::string>& keys, int64_t n, uint64_t seed) {
  if (int64_t(keys.size()) != n) fail("control task: ", keys.size(), " keys for ", n, " rows");
  std::mt19937_64 rng(seed);
  std::map<std::string, int64_t> drawn;
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    auto it = drawn.find(keys[size_t(i)]);
    // Copying a uniformly drawn row's label samples the empirical distribution.
    if (it == drawn.end()) it = drawn.emplace(keys[size_t(i)], int64_t(below(rng, uint64_t(n)))).first;
    out[size_t(i)] = it->second;
  }
  return out;
}
}  // namespace

std::vector<int32_t> control_labels(const std::vector<std::string>& keys, const int32_t* y, int64_t n,
                                    uint64_t seed) {
  std::vector<int32_t> out(static_cast<size_t>(n));
  const std::vector<int64_t> from = control_draws(keys, n, seed);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = y[from[size_t(i)]];
  return out;
}

std::vector<double> control_targets(const std::vector<std::string>& keys, const double* target, int64_t n,
                                    uint64_t seed) {
  std::vector<double> out(static_cast<size_t>(n));
  const std::vector<int64_t> from = control_draws(keys, n, seed);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = target[from[size_t(i)]];
  return out;
}

}  // namespace glassbox::features
