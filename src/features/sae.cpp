// Sae: configuration, initialisation and inference (encode / decode).
// The training forward / backward pairs live in sae_train_ops.cpp.
#include "glassbox/features/sae.h"

#include <cmath>
#include <random>

#include "features/sae_detail.h"
#include "glassbox/error.h"

namespace glassbox::features {

namespace {
constexpr enum_table::Names<SaeArch, 4> kArchNames = {{SaeArch::Relu, "relu"},
                                                      {SaeArch::TopK, "topk"},
                                                      {SaeArch::BatchTopK, "batchtopk"},
                                                      {SaeArch::JumpRelu, "jumprelu"}};
constexpr enum_table::Names<ActNorm, 4> kNormNames = {
    {ActNorm::None, "none"},
    {ActNorm::ExpectedAverageOnlyIn, "expected_average_only_in"},
    {ActNorm::ConstantNormRescale, "constant_norm_rescale"},
    {ActNorm::LayerNorm, "layer_norm"}};
}  // namespace

const char* to_string(SaeArch a) { return enum_table::name(a, kArchNames); }
const char* to_string(ActNorm n) { return enum_table::name(n, kNormNames); }

void SaeConfig::validate(const std::string& what) const {
  if (d_in <= 0) fail(what, ": d_in must be > 0, got ", d_in);
  if (d_sae <= 0) fail(what, ": d_sae must be > 0, got ", d_sae);
  if (d_out < 0) fail(what, ": d_out must be >= 0, got ", d_out);
  if (n_sources < 1) fail(what, ": n_sources must be >= 1, got ", n_sources);
  if ((arch == SaeArch::TopK || arch == SaeArch::BatchTopK) && (k < 1 || k > d_sae))
    fail(what, ": k must be in [1, d_sae = ", d_sae, "], got ", k);
  if (d_in > INT32_MAX || d_sae > INT32_MAX) fail(what, ": d_in / d_sae too large");
  if (!source_names.empty() && int64_t(source_names.size()) != n_sources)
    fail(what, ": ", source_names.size(), " source names for n_sources = ", n_sources);
}

Sae Sae::init(const SaeConfig& cfg, uint64_t seed) {
  cfg.validate("Sae::init");
  Sae s;
  s.cfg = cfg;
  const int64_t in = cfg.in_width(), out = cfg.out_width(), S = cfg.d_sae;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  s.W_dec.resize(size_t(S * out));
  for (float& w : s.W_dec) w = nd(rng);
  for (int64_t j = 0; j < S; ++j) {
    double ss = 0;
    for (int64_t i = 0; i < out; ++i) ss += double(s.W_dec[j * out + i]) * s.W_dec[j * out + i];
    const float inv = float(1.0 / std::sqrt(std::max(ss, 1e-30)));
    for (int64_t i = 0; i < out; ++i) s.W_dec[j * out + i] *= inv;
  }
  // Tied init (Gao et al. 2024) where encoder and decoder share a space;
  // a transcoder's encoder is its own random unit-norm matrix.
  s.W_enc.resize(size_t(in * S));
  if (in == out) {
    for (int64_t j = 0; j < S; ++j)
      for (int64_t i = 0; i < in; ++i) s.W_enc[i * S + j] = s.W_dec[j * out + i];
  } else {
    for (float& w : s.W_enc) w = nd(rng) / std::sqrt(float(in));
  }
  s.b_enc.assign(size_t(S), 0.f);
  s.b_dec.assign(size_t(out), 0.f);
  if (cfg.arch == SaeArch::JumpRelu || cfg.arch == SaeArch::BatchTopK)
    s.threshold.assign(size_t(S), cfg.arch == SaeArch::JumpRelu ? 1e-3f : 0.f);
  return s;
}

std::vector<float> Sae::output_direction(int64_t j) const {
  if (j < 0 || j >= cfg.d_sae) fail("Sae::output_direction: latent ", j, " not in [0, ", cfg.d_sae, ")");
  const int64_t out = cfg.out_width();
  return {W_dec.begin() + j * out, W_dec.begin() + (j + 1) * out};
}

std::vector<float> Sae::decoder_norms_per_source() const {
  const int64_t S = cfg.d_sae, K = cfg.n_sources;
  std::vector<float> n(static_cast<size_t>(S * K));
  detail::decoder_norms(n.data(), *this);
  return n;
}

namespace {

// SAELens SAE.run_time_activation_norm_fn_in / _out: per-row state that
// decode needs, so these two modes go through reconstruct().
struct RowNorm {
  std::vector<float> scale, shift;  // x_normed = (x - shift) * scale
  std::vector<float> undo;          // x_hat_out = x_hat * undo + shift (LayerNorm: std without eps)
};

RowNorm row_norm_in(std::vector<float>& x, const SaeConfig& c, int64_t rows) {
  RowNorm r;
  const int64_t D = c.in_width();
  r.scale.assign(size_t(rows), 1.f);
  r.shift.assign(size_t(rows), 0.f);
  r.undo.assign(size_t(rows), 1.f);
  for (int64_t n = 0; n < rows; ++n) {
    float* v = x.data() + n * D;
    if (c.normalize_activations == ActNorm::ConstantNormRescale) {
      double ss = 0;
      for (int64_t i = 0; i < D; ++i) ss += double(v[i]) * v[i];
      r.scale[n] = float(std::sqrt(double(c.d_in)) / std::sqrt(ss));
      r.undo[n] = 1.f / r.scale[n];
    } else {  // LayerNorm: torch's x.std() is the unbiased estimate; eps added to std
      double mu = 0;
      for (int64_t i = 0; i < D; ++i) mu += v[i];
      mu /= double(D);
      double var = 0;
      for (int64_t i = 0; i < D; ++i) var += (v[i] - mu) * (v[i] - mu);
      const double sd = std::sqrt(var / double(std::max<int64_t>(D - 1, 1)));
      r.shift[n] = float(mu);
      r.scale[n] = float(1.0 / (sd + 1e-5));
      r.undo[n] = float(sd);
    }
    for (int64_t i = 0; i < D; ++i) v[i] = (v[i] - r.shift[n]) * r.scale[n];
  }
  return r;
}

bool runtime_norm(const SaeConfig& c) {
  return c.normalize_activations == ActNorm::ConstantNormRescale ||
         c.normalize_activations == ActNorm::LayerNorm;
}

}  // namespace

void Sae::encode(const float* x, int64_t rows, float* f) const {
  const int64_t in = cfg.in_width(), S = cfg.d_sae;
  std::vector<float> xin(x, x + rows * in);
  if (runtime_norm(cfg)) row_norm_in(xin, cfg, rows);
  std::vector<float> sae_in(static_cast<size_t>(rows * in)), pre(static_cast<size_t>(rows * S));
  sae_encode_forward(sae_in.data(), pre.data(), *this, xin.data(), rows);
  SparseActs acts;
  float t = 0;
  sae_activate(acts, &t, pre.data(), *this, rows, false);
  std::fill(f, f + rows * S, 0.f);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t e = acts.row_ptr[n]; e < acts.row_ptr[n + 1]; ++e) f[n * S + acts.idx[e]] = acts.val[e];
}

void Sae::decode(const float* f, int64_t rows, float* x_hat) const {
  if (runtime_norm(cfg))
    fail("Sae::decode: normalize_activations = ", to_string(cfg.normalize_activations),
         " needs the input rows to undo; use Sae::reconstruct(x, rows, x_hat)");
  const SparseActs acts = detail::sparse_from_dense(f, rows, cfg.d_sae);
  sae_decode_forward(x_hat, acts, *this, rows, true);
}

void Sae::reconstruct(const float* x, int64_t rows, float* x_hat) const {
  const int64_t in = cfg.in_width(), S = cfg.d_sae, out = cfg.out_width();
  std::vector<float> xin(x, x + rows * in);
  RowNorm rn;
  if (runtime_norm(cfg)) rn = row_norm_in(xin, cfg, rows);
  std::vector<float> sae_in(static_cast<size_t>(rows * in)), pre(static_cast<size_t>(rows * S));
  sae_encode_forward(sae_in.data(), pre.data(), *this, xin.data(), rows);
  SparseActs acts;
  float t = 0;
  sae_activate(acts, &t, pre.data(), *this, rows, false);
  sae_decode_forward(x_hat, acts, *this, rows, true);
  if (runtime_norm(cfg))
    for (int64_t n = 0; n < rows; ++n)
      for (int64_t i = 0; i < out; ++i) x_hat[n * out + i] = x_hat[n * out + i] * rn.undo[n] + rn.shift[n];
}

}  // namespace glassbox::features

namespace glassbox {
template <>
features::SaeArch from_string<features::SaeArch>(std::string_view s) {
  return enum_table::value(s, features::kArchNames, "SAE architecture");
}
template <>
features::ActNorm from_string<features::ActNorm>(std::string_view s) {
  return enum_table::value(s, features::kNormNames, "normalize_activations");
}
}  // namespace glassbox
