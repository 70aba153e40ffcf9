// The MLP keys' second moment E[k k^T] over text: ROME's C, MEMIT's C_0.
// A few thousand tokens fix it well for a d_mlp of a few hundred.
#include <cblas.h>

#include "glassbox/error.h"
#include "glassbox/progress.h"

#include "editing/detail.h"
#include "features/probe_detail.h"

namespace glassbox::editing {

KeyCovariance key_covariance(Engine& e, int layer, const std::vector<std::vector<int32_t>>& rows, bool progress) {
  const Config& c = e.model().config();
  if (layer < 0 || layer >= c.n_layers) fail("edit: layer ", layer, " out of range (", c.n_layers, " layers)");
  KeyCovariance cov;
  cov.layer = layer;
  cov.d = c.d_mlp;
  cov.second_moment.assign(size_t(cov.d * cov.d), 0.0);
  ForwardOptions opt;
  opt.logits = LogitsMode::None;
  opt.keep = {{Site::mlp_post, layer}};
  if (layer < c.n_layers - 1) opt.stop_at_layer = layer + 1;
  ProgressBar bar("key covariance", "rows", progress ? ProgressWhen::Terminal : ProgressWhen::Never);
  constexpr size_t kRows = 16;
  std::vector<double> K;
  for (size_t from = 0; from < rows.size(); from += kRows) {
    const size_t to = std::min(rows.size(), from + kRows);
    const Batch b = Batch::from_rows({rows.begin() + int64_t(from), rows.begin() + int64_t(to)});
    const ForwardResult r = e.forward(b, nullptr, nullptr, opt);
    const float* a = r.get({Site::mlp_post, layer}).f32();
    K.clear();
    int64_t n = 0;
    for (int64_t i = 0; i < b.B; ++i)
      for (int64_t t = 0; t < b.T; ++t)
        if (b.valid(i, t)) {
          K.insert(K.end(), a + (i * b.T + t) * cov.d, a + (i * b.T + t + 1) * cov.d);
          ++n;
        }
    if (n > 0)
      cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(cov.d), int(n), 1.0, K.data(), int(cov.d), 1.0,
                  cov.second_moment.data(), int(cov.d));
    cov.n_tokens += n;
    bar.update(int64_t(to), int64_t(rows.size()));
  }
  if (cov.n_tokens == 0) fail("edit: no text to estimate the key covariance of layer ", layer, " from");
  for (int64_t i = 0; i < cov.d; ++i)
    for (int64_t j = i; j < cov.d; ++j) {
      const double v = cov.second_moment[size_t(i * cov.d + j)] / double(cov.n_tokens);
      cov.second_moment[size_t(i * cov.d + j)] = cov.second_moment[size_t(j * cov.d + i)] = v;
    }
  return cov;
}

namespace detail {

std::vector<double> damped(const KeyCovariance& c, float ridge) {
  std::vector<double> C = c.second_moment;
  double mean_diag = 0;
  for (int64_t i = 0; i < c.d; ++i) mean_diag += C[size_t(i * c.d + i)] / double(c.d);
  for (int64_t i = 0; i < c.d; ++i) C[size_t(i * c.d + i)] += double(ridge) * mean_diag + 1e-12;
  return C;
}

const KeyCovariance& covariance_for(const std::vector<KeyCovariance>& cov, int layer) {
  for (const KeyCovariance& c : cov)
    if (c.layer == layer) return c;
  fail("edit: no key covariance was estimated for layer ", layer);
}

void solve_spd(std::vector<double> A, std::vector<double>& B, int64_t m, int64_t nrhs, const char* who) {
  features::detail::cholesky_solve(A, B, m, nrhs, who);
}

}  // namespace detail
}  // namespace glassbox::editing
