#include "glassbox/features/fourier.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "glassbox/error.h"

namespace glassbox::features {

FrequencyProfile frequency_profile(const float* f, int p, int64_t stride) {
  if (p < 3) fail("frequency_profile: p must be >= 3, got ", p);
  const size_t P = size_t(p), H = P / 2;
  std::vector<double> cs(P), sn(P);
  for (size_t i = 0; i < P; ++i) {
    const double w = 2 * std::numbers::pi * double(i) / double(p);
    cs[i] = std::cos(w), sn[i] = std::sin(w);
  }
  // A contiguous copy: a column of an activation matrix is strided by its width.
  std::vector<double> x(P * P);
  for (size_t i = 0; i < P * P; ++i) x[i] = f[int64_t(i) * stride];
  // Total non-constant power by Parseval: sum |F|^2 = p^2 sum f^2, |F(0,0)|^2 = (sum f)^2.
  double sum = 0, sum2 = 0;
  for (double v : x) sum += v, sum2 += v * v;
  const double total = double(P * P) * sum2 - sum * sum;
  FrequencyProfile out;
  out.fraction.assign(H + 1, 0.0);
  // Float rounding leaves a constant function a sliver of power; that is no frequency.
  if (total <= 1e-9 * double(P * P) * sum2) return out;
  // g[a][kb] = sum_b f(a, b) e^{-i 2 pi kb b / p} for kb <= p/2 (f is real, so
  // g[a][p - kb] = conj(g[a][kb])); e^{-i 2 pi k n / p} = table[(k n) mod p].
  std::vector<double> gr(P * (H + 1)), gi(P * (H + 1));
  for (size_t a = 0; a < P; ++a)
    for (size_t kb = 0; kb <= H; ++kb) {
      double re = 0, im = 0;
      for (size_t b = 0, t = 0; b < P; ++b, t = t + kb >= P ? t + kb - P : t + kb) {
        re += x[a * P + b] * cs[t], im -= x[a * P + b] * sn[t];
      }
      gr[a * (H + 1) + kb] = re, gi[a * (H + 1) + kb] = im;
    }
  // |F(ka, kb)|^2 for kb <= p/2, or its mirror (F(-ka, -kb) = conj F(ka, kb)).
  auto power = [&](size_t ka, size_t kb) {
    if (kb > H) ka = (P - ka) % P, kb = P - kb;
    double re = 0, im = 0;
    for (size_t a = 0, t = 0; a < P; ++a, t = t + ka >= P ? t + ka - P : t + ka) {
      const double xr = gr[a * (H + 1) + kb], xi = gi[a * (H + 1) + kb];
      re += xr * cs[t] + xi * sn[t];
      im += xi * cs[t] - xr * sn[t];
    }
    return re * re + im * im;
  };
  for (size_t k = 1; k <= H; ++k) {
    const size_t idx[3] = {0, k, P - k};
    double pw = 0;
    for (size_t ka : idx)
      for (size_t kb : idx)
        if (ka || kb) pw += power(ka, kb);
    out.fraction[k] = pw / total;
  }
  out.dominant = int(std::max_element(out.fraction.begin(), out.fraction.end()) - out.fraction.begin());
  return out;
}

std::vector<float> modadd_grid(Engine& e, const std::string& hook, int p) {
  const Config& c = e.model().config();
  if (c.d_vocab < p + 1) fail("modadd_grid: the model's vocabulary (", c.d_vocab, ") has no tokens 0..", p, " (p = ", p, ")");
  const HookPoint point = parse_hook_name(hook, c);
  std::vector<float> out;
  int64_t d = 0;
  // One batch per value of a keeps memory small and the passes few.
  for (int a = 0; a < p; ++a) {
    std::vector<std::vector<int32_t>> rows;
    for (int b = 0; b < p; ++b) rows.push_back({a, b, p});
    ForwardOptions o;
    o.logits = LogitsMode::None;
    o.keep = {point};
    // Blocks past the hook's compute nothing anyone reads (global sites: run all).
    o.stop_at_layer = point.layer >= 0 && point.layer + 1 < c.n_layers ? point.layer + 1 : -1;
    const ForwardResult r = e.forward(Batch::from_rows(rows), nullptr, nullptr, o);
    const Tensor& t = r.get(point);
    if (t.shape.size() < 3) fail("modadd_grid: '", hook, "' has no position axis");
    d = t.numel() / (int64_t(p) * 3);
    if (out.empty()) out.resize(size_t(int64_t(p) * p * d));
    for (int b = 0; b < p; ++b) {
      const float* src = t.f32() + (int64_t(b) * 3 + 2) * d;
      std::copy(src, src + d, out.begin() + (int64_t(a) * p + b) * d);
    }
  }
  return out;
}

}  // namespace glassbox::features
