// The tuned lens: translators, their files, and decoding through them.
// Training lives in tuned_lens_train.cpp.
#include "glassbox/analysis/tuned_lens.h"

#include <filesystem>
#include <set>

#include "analysis/detail.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"

namespace glassbox::analysis {

namespace fs = std::filesystem;

namespace {

TunedLens zero_lens(std::string base_model, int64_t d, int n_layers, bool bias) {
  TunedLens t;
  t.base_model = std::move(base_model);
  t.d_model = d;
  t.n_layers = n_layers;
  t.bias = bias;
  for (int l = 0; l < n_layers; ++l) {
    t.params.push_back({std::to_string(l) + ".weight", Tensor::zeros({d, d}), Tensor::zeros({d, d})});
    if (bias) t.params.push_back({std::to_string(l) + ".bias", Tensor::zeros({d}), Tensor::zeros({d})});
  }
  return t;
}

}  // namespace

TunedLens TunedLens::identity(const Model& m, bool bias) {
  const Config& c = m.config();
  return zero_lens(m.source(), c.d_model, c.n_layers, bias);
}

Param& TunedLens::weight(int l) { return params[size_t(bias ? 2 * l : l)]; }
const Param& TunedLens::weight(int l) const { return params[size_t(bias ? 2 * l : l)]; }
Param* TunedLens::bias_param(int l) { return bias ? &params[size_t(2 * l + 1)] : nullptr; }
const Param* TunedLens::bias_param(int l) const { return bias ? &params[size_t(2 * l + 1)] : nullptr; }

void TunedLens::check_fits(const Config& c, const char* what) const {
  if (d_model != c.d_model || n_layers != c.n_layers)
    fail(what, ": the lens is for d_model ", d_model, " and ", n_layers, " layers, the model has d_model ", c.d_model,
         " and ", c.n_layers, " layers");
}

void TunedLens::translate(float* out, const float* h, int64_t N, int layer) const {
  const int64_t d = d_model;
  // torch.nn.Linear's [out, in] weight read transposed: out = h W^T.
  detail::matmul(out, h, d, N, MatRef{weight(layer).value.f32(), d, d, 1, d});
  const Param* b = bias_param(layer);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < d; ++j) out[n * d + j] += h[n * d + j] + (b ? b->value.f32()[j] : 0.f);
}

void TunedLens::zero_grad() {
  for (Param& p : params) std::fill(p.grad.f32(), p.grad.f32() + p.grad.numel(), 0.f);
}

nlohmann::json TunedLens::config_json() const {
  return {{"base_model_name_or_path", base_model}, {"d_model", d_model}, {"num_hidden_layers", n_layers},
          {"bias", bias}, {"base_model_revision", nullptr}, {"unembed_hash", nullptr},
          {"lens_type", "linear_tuned_lens"}};
}

void TunedLens::save(const std::string& dir) const {
  fs::create_directories(dir);
  std::vector<TensorToWrite> ts;
  for (const Param& p : params) ts.push_back({p.name, DType::F32, p.value.shape, p.value.data, p.value.nbytes()});
  save_safetensors((fs::path(dir) / "params.safetensors").string(), ts, {{"format", "pt"}});
  const std::string cfg = config_json().dump(2) + "\n";
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.data(), cfg.size());
}

TunedLens TunedLens::load(const std::string& dir) {
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  const nlohmann::json j = read_json_file(cfg_path);
  if (!j.is_object()) fail(cfg_path, ": expected a JSON object");
  auto field = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) fail(cfg_path, ": missing field '", key, "'");
    return j.at(key);
  };
  const nlohmann::json& d = field("d_model");
  const nlohmann::json& L = field("num_hidden_layers");
  if (!d.is_number_integer() || d.get<int64_t>() <= 0) fail(cfg_path, ": 'd_model' must be a positive integer");
  if (!L.is_number_integer() || L.get<int64_t>() <= 0 || L.get<int64_t>() > 100000)
    fail(cfg_path, ": 'num_hidden_layers' must be a positive integer");
  const bool bias = j.value("bias", true);
  const std::string type = j.value("lens_type", std::string("linear_tuned_lens"));
  if (type != "linear_tuned_lens") fail(cfg_path, ": lens_type '", type, "' is not supported (linear_tuned_lens)");
  const nlohmann::json& base = j.value("base_model_name_or_path", nlohmann::json(""));
  TunedLens t = zero_lens(base.is_string() ? base.get<std::string>() : "", d.get<int64_t>(), L.get<int>(), bias);

  const SafetensorsFile f = SafetensorsFile::open((fs::path(dir) / "params.safetensors").string());
  std::set<std::string> expected;
  for (Param& p : t.params) {
    expected.insert(p.name);
    const RawTensor* r = f.find(p.name);
    if (!r) fail(f.path(), ": missing tensor '", p.name, "'");
    if (r->shape != p.value.shape)
      fail(f.path(), ": tensor '", p.name, "' is ", shape_str(r->shape), ", expected ", shape_str(p.value.shape));
    if (r->dtype != DType::F32 && r->dtype != DType::F16 && r->dtype != DType::BF16)
      fail(f.path(), ": tensor '", p.name, "' has dtype ", dtype_name(r->dtype), " (expected F32, F16 or BF16)");
    to_f32(p.value.f32(), r->data, r->dtype, r->numel());
  }
  for (const RawTensor& r : f.tensors())
    if (!expected.count(r.name)) fail(f.path(), ": unexpected tensor '", r.name, "' for this config");
  return t;
}

LogitLensResult tuned_lens(Engine& e, const TunedLens& lens, const Batch& batch, const LogitLensOptions& opt) {
  lens.check_fits(e.model().config(), "tuned_lens");
  return logit_lens(e, batch, opt, [&lens](float* x, int64_t N, size_t layer) {
    if (int64_t(layer) >= lens.n_layers) return;  // the final stream is decoded as is
    const std::vector<float> h(x, x + N * lens.d_model);
    lens.translate(x, h.data(), N, int(layer));
  });
}

nlohmann::json LensComparison::to_json() const {
  return {{"technique", "lens_comparison"}, {"layers", layers}, {"logit_lens_kl", logit_lens_kl},
          {"tuned_lens_kl", tuned_lens_kl}, {"positions", positions}};
}

LensComparison compare_lenses(Engine& e, const TunedLens& lens, const std::vector<int32_t>& tokens, int64_t seq_len) {
  const Model& m = e.model();
  const Config& c = m.config();
  lens.check_fits(c, "compare_lenses");
  if (seq_len <= 0 || seq_len > c.n_ctx)
    fail("compare_lenses: seq_len ", seq_len, " must be in [1, ", c.n_ctx, "] (the model's context)");
  if (tokens.empty()) fail("compare_lenses: no tokens given");
  const int64_t L = c.n_layers, d = c.d_model, V = c.d_vocab;
  std::vector<HookPoint> sites;
  for (int l = 0; l < L; ++l) sites.push_back({Site::resid_pre, l});
  sites.push_back({Site::resid_post, int(L - 1)});
  LensComparison r;
  for (const HookPoint& s : sites) r.layers.push_back(s.name());
  r.logit_lens_kl.assign(sites.size(), 0.0);
  r.tuned_lens_kl.assign(sites.size(), 0.0);
  CacheOptions co;
  for (const HookPoint& s : sites) co.names.push_back(s.name());

  // Windows of seq_len (the tail may be shorter), batched by equal length.
  const int64_t n = int64_t(tokens.size());
  std::vector<std::vector<int32_t>> windows;
  for (int64_t s = 0; s < n; s += seq_len)
    windows.emplace_back(tokens.begin() + s, tokens.begin() + std::min(s + seq_len, n));
  std::vector<double> lp;
  std::vector<std::vector<double>> final_lp;
  for (size_t w = 0; w < windows.size();) {
    std::vector<std::vector<int32_t>> rows;
    while (w < windows.size() && rows.size() < 8 && (rows.empty() || windows[w].size() == rows[0].size()))
      rows.push_back(windows[w++]);
    const Batch b = Batch::from_rows(rows);
    const int64_t N = b.B * b.T;
    const ActivationCache cache = run_with_cache(e, b, co);
    final_lp.resize(size_t(N));
    for (int64_t i = 0; i < N; ++i) detail::log_softmax(cache.logits.f32() + i * V, V, final_lp[size_t(i)]);
    std::vector<float> logits(size_t(N * V)), translated(size_t(N * d));
    auto sum_kl = [&](const float* x) {
      detail::lens_logits(logits.data(), x, N, c, m.weights());
      double s = 0;
      for (int64_t i = 0; i < N; ++i) {
        detail::log_softmax(logits.data() + i * V, V, lp);
        s += detail::kl(final_lp[size_t(i)], lp);
      }
      return s;
    };
    for (size_t i = 0; i < sites.size(); ++i) {
      const std::vector<float> x = detail::cached_f32(cache, sites[i]);
      const double logit_kl = sum_kl(x.data());
      r.logit_lens_kl[i] += logit_kl;
      if (int64_t(i) < lens.n_layers) {
        lens.translate(translated.data(), x.data(), N, int(i));
        r.tuned_lens_kl[i] += sum_kl(translated.data());
      } else {
        r.tuned_lens_kl[i] += logit_kl;
      }
    }
    r.positions += N;
  }
  for (size_t i = 0; i < sites.size(); ++i) {
    r.logit_lens_kl[i] /= double(r.positions);
    r.tuned_lens_kl[i] /= double(r.positions);
  }
  return r;
}

}  // namespace glassbox::analysis
