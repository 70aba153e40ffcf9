#include "glassbox/trainable.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "arch/family.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/safetensors.h"

namespace fs = std::filesystem;

namespace glassbox {

namespace {

const std::string& last_component(const std::string& name, std::string& buf) {
  buf = name.substr(name.rfind('.') + 1);
  return buf;
}

// Matrices that write into the residual stream get GPT-2's 1/sqrt(2 L) scaling.
bool writes_residual(const std::string& n) {
  for (const char* s : {"c_proj.weight", "attn.W_O", "mlp.W_out", "dense_4h_to_h.weight", "attention.dense.weight",
                        "o_proj.weight", "down_proj.weight"})
    if (n.size() >= std::strlen(s) && n.compare(n.size() - std::strlen(s), std::string::npos, s) == 0) return true;
  return false;
}

// HF configs carry "initializer_range" (GPT-2: 0.02). TransformerLens's
// default is 0.8/sqrt(d_model), which for the small toy models it is used for
// is 5x larger: 0.02 there leaves attention scores near zero and stretches the
// plateau before induction heads form.
float initializer_range(const nlohmann::json& config, const std::string& family, int64_t d_model) {
  if (config.contains("initializer_range") && config["initializer_range"].is_number())
    return config["initializer_range"].get<float>();
  if (family == "hooked_transformer") return 0.8f / std::sqrt(float(d_model));
  return 0.02f;
}

void init_tensor(const std::string& name, Tensor& t, float range, int n_layers, std::mt19937_64& rng) {
  std::string buf;
  const std::string& leaf = last_component(name, buf);
  float* x = t.f32();
  const int64_t n = t.numel();
  // HF "…bias", TransformerLens "b_Q"/"b_in" and LayerNorm "ln1.b".
  const bool bias = leaf == "bias" || leaf == "b" || leaf.rfind("b_", 0) == 0;
  if (bias) return;  // zeros
  if (t.shape.size() == 1) {  // norm gains
    std::fill(x, x + n, 1.f);
    return;
  }
  const float std = range * (writes_residual(name) ? 1.0f / std::sqrt(2.0f * float(n_layers)) : 1.0f);
  std::normal_distribution<float> dist(0.f, std);
  for (int64_t i = 0; i < n; ++i) x[i] = dist(rng);
}

}  // namespace

void Trainable::build(const nlohmann::json& config, std::map<std::string, Tensor> values, bool create, bool biases) {
  using namespace detail;
  config_ = config;
  const Family* fam = &family_of(config, "config");
  ConfigSource src{&config_, nullptr, "config"};
  Config cfg = fam->config(src);
  cfg.validate();

  values_ = std::move(values);
  auto storage = std::make_shared<Model::Storage>();
  const Checkpoint ckpt = Checkpoint::from_tensors(values_, "trainable");
  WeightLoader ld(ckpt, *storage);
  if (create) ld.create_into(&values_, biases);
  Weights w;
  fam->weights(ld, cfg, w);
  if (!create) {
    const auto extra = ld.unused(fam->ignorable);
    if (!extra.empty()) fail("checkpoint: tensor '", extra[0], "' is not used by the ", cfg.family, " layout");
  }
  if (storage->owned_bytes)
    fail("trainable models need F32 weights in their native layout (", cfg.family, " needed a conversion)");
  model_ = std::make_unique<Model>(ModelFactory::make(cfg, w, storage, "trainable", ld.n_params(), ld.stored()));

  // Gradient buffers: same names and shapes, mapped through the same family
  // function so their views have exactly the weights' strides.
  grad_values_.clear();
  for (const auto& [name, t] : values_) grad_values_[name] = Tensor::zeros(t.shape);
  Model::Storage gstorage;
  const Checkpoint gckpt = Checkpoint::from_tensors(grad_values_, "gradients");
  WeightLoader gld(gckpt, gstorage);
  grads_ = Weights{};
  fam->weights(gld, cfg, grads_);
  params_.clear();
  for (auto& [name, t] : values_) params_.push_back({name, t, grad_values_[name]});
}

Trainable Trainable::init(const nlohmann::json& config, uint64_t seed, bool biases) {
  Trainable tr;
  tr.build(config, {}, /*create=*/true, biases);
  std::mt19937_64 rng(seed);
  const Config& cfg = tr.model().config();
  const float range = initializer_range(config, cfg.family, cfg.d_model);
  for (auto& p : tr.params_) init_tensor(p.name, p.value, range, cfg.n_layers, rng);
  return tr;
}

Trainable Trainable::load(const std::string& path) {
  const fs::path dir = fs::is_directory(path) ? fs::path(path) : fs::path(path).parent_path();
  if (!fs::exists(dir / "config.json")) fail(path, ": expected a config.json beside the weights");
  const nlohmann::json cfg = read_json_file((dir / "config.json").string());
  const detail::Checkpoint ckpt = detail::Checkpoint::open_safetensors(path);
  std::map<std::string, Tensor> values;
  for (const auto& [name, r] : ckpt.tensors()) {
    Tensor t = Tensor::zeros(r.shape);
    to_f32(t.f32(), r.data, r.dtype, r.numel());
    values[name] = std::move(t);
  }
  Trainable tr;
  tr.build(cfg, std::move(values), /*create=*/false, false);
  return tr;
}

void Trainable::zero_grad() {
  for (auto& [name, g] : grad_values_) std::fill(g.f32(), g.f32() + g.numel(), 0.f);
}

int64_t Trainable::n_params() const {
  int64_t n = 0;
  for (const auto& p : params_) n += p.value.numel();
  return n;
}

void Trainable::save(const std::string& dir) const {
  fs::create_directories(dir);
  std::vector<TensorToWrite> ts;
  for (const auto& p : params_) ts.push_back({p.name, DType::F32, p.value.shape, p.value.data, p.value.nbytes()});
  save_safetensors((fs::path(dir) / "model.safetensors").string(), ts, {{"format", "pt"}});
  const std::string cfg = config_.dump(2) + "\n";
  write_file_atomic((fs::path(dir) / "config.json").string(), cfg.data(), cfg.size());
}

}  // namespace glassbox
