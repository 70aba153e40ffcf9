// The superposition organism's stream, readout and recovery test.
#include "glassbox/features/superposition.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox::features {

SuperpositionStream::SuperpositionStream(zoo::SuperpositionModel model, uint64_t seed, int64_t total_rows)
    : model_(std::move(model)), seed_(seed), total_(total_rows), rng_(seed), dims_{model_.d_hidden} {
  if (total_rows < 0) fail("SuperpositionStream: total_rows must be >= 0 (0: endless), got ", total_rows);
}

int64_t SuperpositionStream::next(ActivationBatch& out, int64_t max_rows) {
  if (max_rows <= 0) fail("SuperpositionStream::next: max_rows must be positive, got ", max_rows);
  const int64_t rows = total_ > 0 ? std::min(max_rows, total_ - done_) : max_rows;
  const int64_t n = model_.n_features, m = model_.d_hidden;
  out.rows = rows;
  out.tokens.clear();
  out.sites.resize(1);
  out.sites[0].resize(static_cast<size_t>(rows * m));
  x_.resize(static_cast<size_t>(rows * n));
  if (rows == 0) return 0;
  zoo::sample_sparse_features(x_.data(), rows, n, model_.probability, rng_);
  std::vector<float> recon(x_.size());  // forward computes x' too; the stream only hands out h
  zoo::superposition_forward(out.sites[0].data(), recon.data(), x_.data(), model_.W.data(), model_.b.data(), rows, n,
                             m);
  done_ += rows;
  return rows;
}

void SuperpositionStream::rewind() {
  rng_.seed(seed_);
  done_ = 0;
}

void SuperpositionReadout::encode(const float* h, int64_t rows, float* f) const {
  const int64_t n = m_.n_features, m = m_.d_hidden;
  kernels::matmul_forward(f, n, h, m, {m_.W.data(), m, n, n, 1}, m_.b.data(), 1, rows);
  for (int64_t i = 0; i < rows * n; ++i) f[i] = std::max(f[i], 0.f);
}

std::vector<float> SuperpositionReadout::output_direction(int64_t j) const {
  if (j < 0 || j >= m_.n_features) fail("SuperpositionReadout: feature ", j, " out of range [0, ", m_.n_features, ")");
  std::vector<float> d(static_cast<size_t>(m_.d_hidden));
  for (int64_t k = 0; k < m_.d_hidden; ++k) d[size_t(k)] = m_.W[size_t(k * m_.n_features + j)];
  return d;
}

std::vector<BestMatch> best_matches(const std::vector<float>& true_dirs, const std::vector<float>& candidates,
                                    int64_t dim) {
  if (dim <= 0 || true_dirs.size() % size_t(dim) || candidates.size() % size_t(dim))
    fail("best_cosines: true_dirs (", true_dirs.size(), " values) and candidates (", candidates.size(),
         " values) must both be rows of dim ", dim);
  const int64_t n = int64_t(true_dirs.size()) / dim, k = int64_t(candidates.size()) / dim;
  auto norm = [dim](const float* v) {
    double q = 0;
    for (int64_t i = 0; i < dim; ++i) q += double(v[i]) * v[i];
    return std::sqrt(q);
  };
  std::vector<double> cnorm(static_cast<size_t>(k));
  for (int64_t c = 0; c < k; ++c) cnorm[size_t(c)] = norm(candidates.data() + c * dim);
  std::vector<BestMatch> best(static_cast<size_t>(n));
  for (int64_t t = 0; t < n; ++t) {
    const float* a = true_dirs.data() + t * dim;
    const double na = norm(a);
    if (na == 0) continue;
    for (int64_t c = 0; c < k; ++c) {
      if (cnorm[size_t(c)] == 0) continue;
      const float* b = candidates.data() + c * dim;
      double d = 0;
      for (int64_t i = 0; i < dim; ++i) d += double(a[i]) * b[i];
      const double cos = d / (na * cnorm[size_t(c)]);
      if (cos > best[size_t(t)].cosine) best[size_t(t)] = {c, cos};
    }
  }
  return best;
}

std::vector<double> best_cosines(const std::vector<float>& true_dirs, const std::vector<float>& candidates,
                                 int64_t dim) {
  std::vector<double> out;
  for (const BestMatch& b : best_matches(true_dirs, candidates, dim)) out.push_back(b.cosine);
  return out;
}

double recovered_fraction(const std::vector<float>& true_dirs, const std::vector<float>& candidates, int64_t dim,
                          double min_cos) {
  const std::vector<double> best = best_cosines(true_dirs, candidates, dim);
  if (best.empty()) fail("recovered_fraction: no true directions");
  return double(std::count_if(best.begin(), best.end(), [&](double c) { return c >= min_cos; })) /
         double(best.size());
}

}  // namespace glassbox::features
