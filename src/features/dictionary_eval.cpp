#include "glassbox/features/dictionary_eval.h"

#include <algorithm>
#include <cmath>

#include "features/sae_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

nlohmann::json DictionaryMetrics::to_json(bool with_frequency) const {
  nlohmann::json j = {{"rows", rows},
                      {"l0", l0},
                      {"mse", mse},
                      {"explained_variance", explained_variance},
                      {"fvu", fvu},
                      {"dead_fraction", dead_fraction},
                      {"dense_fraction", dense_fraction},
                      {"density_histogram", {{"log10_edges", hist_edges}, {"counts", hist_counts}}}};
  if (with_frequency) j["frequency"] = frequency;
  return j;
}

DictionaryMetrics evaluate_dictionary(const Sae& sae, ActivationStream& stream, const DictionaryEvalOptions& o) {
  const SaeConfig& c = sae.cfg;
  const detail::DictionarySites sites = detail::resolve_sites(stream, c, "evaluate_dictionary");
  if (o.batch_rows <= 0) fail("evaluate_dictionary: batch_rows must be > 0");
  if (o.hist_bin_width <= 0 || o.hist_min_log10 >= 0) fail("evaluate_dictionary: bad histogram range");
  const int64_t S = c.d_sae, out = c.out_width(), in = c.in_width();
  std::vector<int64_t> fires(static_cast<size_t>(S), 0);
  std::vector<double> sum_y(static_cast<size_t>(out), 0.0), sum_y2(size_t(out), 0.0);
  double se = 0;
  int64_t nnz = 0, rows = 0;
  ActivationBatch b;
  std::vector<float> x, y, x_hat, sae_in, pre;
  stream.rewind();
  while (o.max_rows <= 0 || rows < o.max_rows) {
    const int64_t want = o.max_rows > 0 ? std::min(o.batch_rows, o.max_rows - rows) : o.batch_rows;
    if (stream.next(b, want) == 0) break;
    detail::gather_rows(x, b, sites.in, stream.dims(), 1.f);
    detail::gather_rows(y, b, sites.out, stream.dims(), 1.f);
    sae_in.resize(size_t(b.rows * in));
    pre.resize(size_t(b.rows * S));
    x_hat.resize(size_t(b.rows * out));
    SparseActs f;
    if (c.normalize_activations == ActNorm::ConstantNormRescale || c.normalize_activations == ActNorm::LayerNorm) {
      std::vector<float> dense(static_cast<size_t>(b.rows * S));
      sae.encode(x.data(), b.rows, dense.data());
      f = detail::sparse_from_dense(dense.data(), b.rows, S);
      sae.reconstruct(x.data(), b.rows, x_hat.data());
    } else {
      float t = 0;
      sae_encode_forward(sae_in.data(), pre.data(), sae, x.data(), b.rows);
      sae_activate(f, &t, pre.data(), sae, b.rows, false);
      sae_decode_forward(x_hat.data(), f, sae, b.rows, true);
    }
    for (int32_t j : f.idx) ++fires[size_t(j)];
    nnz += f.nnz();
    for (int64_t n = 0; n < b.rows; ++n)
      for (int64_t i = 0; i < out; ++i) {
        const double v = y[size_t(n * out + i)], d = x_hat[size_t(n * out + i)] - v;
        se += d * d;
        sum_y[size_t(i)] += v;
        sum_y2[size_t(i)] += v * v;
      }
    rows += b.rows;
  }
  if (rows == 0) fail("evaluate_dictionary: the activation stream is empty");
  DictionaryMetrics m;
  m.rows = rows;
  m.l0 = double(nnz) / double(rows);
  m.mse = se / double(rows);
  double total_var = 0;  // sum over tokens and dims of (y - mean y)^2
  for (int64_t i = 0; i < out; ++i) total_var += sum_y2[size_t(i)] - sum_y[size_t(i)] * sum_y[size_t(i)] / double(rows);
  m.explained_variance = total_var > 0 ? 1.0 - se / total_var : 0.0;
  m.fvu = 1.0 - m.explained_variance;
  m.frequency.resize(size_t(S));
  const int64_t bins = int64_t(std::ceil(-o.hist_min_log10 / o.hist_bin_width));
  for (int64_t k = 0; k <= bins; ++k) m.hist_edges.push_back(std::min(0.0, o.hist_min_log10 + double(k) * o.hist_bin_width));
  m.hist_counts.assign(size_t(bins), 0);
  int64_t dead = 0, dense = 0;
  for (int64_t j = 0; j < S; ++j) {
    const double fr = double(fires[size_t(j)]) / double(rows);
    m.frequency[size_t(j)] = fr;
    if (fires[size_t(j)] == 0) {
      ++dead;
      continue;
    }
    dense += fr > o.dense_frequency;
    const int64_t k = std::clamp(int64_t(std::floor((std::log10(fr) - o.hist_min_log10) / o.hist_bin_width)),
                                 int64_t(0), bins - 1);
    ++m.hist_counts[size_t(k)];
  }
  m.dead_fraction = double(dead) / double(S);
  m.dense_fraction = double(dense) / double(S);
  return m;
}

}  // namespace glassbox::features
