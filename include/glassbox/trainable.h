// A model whose weights live in owned f32 buffers, with gradient buffers of
// the same layout: what training (organisms, fine-tuning) works on. Its
// Model() is an ordinary Model, so every engine feature applies unchanged;
// grads() is a Weights of views into the gradient buffers, which
// Engine::backward accumulates into.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/model.h"
#include "glassbox/tensor.h"

namespace glassbox {

struct Param {
  std::string name;  // checkpoint name (HF / TransformerLens)
  Tensor value, grad;
};

class Trainable {
 public:
  // A fresh model: `config` is a config.json object of any supported family
  // (model_type gpt2 / gpt_neox / llama / qwen2, or TransformerLens fields).
  // GPT-2-style init: N(0, 0.02), residual-writing matrices scaled by
  // 1/sqrt(2 n_layers), norm weights 1, biases 0. Deterministic in `seed`.
  static Trainable init(const nlohmann::json& config, uint64_t seed, bool biases = true);
  // Copies a safetensors checkpoint (directory with config.json) into owned buffers.
  static Trainable load(const std::string& path);

  const Model& model() const { return *model_; }
  const Weights& grads() const { return grads_; }
  std::vector<Param>& params() { return params_; }
  const std::vector<Param>& params() const { return params_; }
  const nlohmann::json& config_json() const { return config_; }
  void zero_grad();
  int64_t n_params() const;

  // Writes model.safetensors + config.json (atomically) into dir.
  void save(const std::string& dir) const;

 private:
  void build(const nlohmann::json& config, std::map<std::string, Tensor> values, bool create, bool biases);
  nlohmann::json config_;
  std::map<std::string, Tensor> values_, grad_values_;
  std::vector<Param> params_;
  std::unique_ptr<Model> model_;
  Weights grads_;
};

}  // namespace glassbox
