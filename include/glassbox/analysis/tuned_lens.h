// The tuned lens (Belrose et al. 2023, "Eliciting Latent Predictions from
// Transformers with the Tuned Lens"): the logit lens with a learned affine
// translator per layer, h -> h + W_l h + b_l, trained so that decoding the
// translated residual stream through the model's own final norm and
// unembedding matches the model's final next-token distribution:
// loss_l = KL(p_final || p_lens,l), averaged over the positions of a token stream.
//
// Layout follows the tuned-lens Python package: one translator for every
// blocks.{l}.hook_resid_pre (hidden_states[l], the embeddings first), none
// for the final residual stream (whose lens is the model itself). Translators
// start at zero, i.e. the identity (the logit lens), and weight decay pulls
// them back towards it. A lens directory holds the package's config.json
// (TunedLensConfig: base_model_name_or_path, d_model, num_hidden_layers, bias,
// lens_type = "linear_tuned_lens") and params.safetensors with the package's
// state-dict names "{l}.weight" [d_model (out), d_model (in)] (torch.nn.Linear)
// and "{l}.bias" [d_model], so in Python
//   lens.layer_translators.load_state_dict(safetensors.torch.load_file(".../params.safetensors"))
// loads it into a TunedLens built from the same config.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/logit_lens.h"
#include "glassbox/train.h"
#include "glassbox/trainable.h"

namespace glassbox::analysis {

// Copies share their tensors (Tensor storage is shared), as Params do.
struct TunedLens {
  std::string base_model;  // base_model_name_or_path
  int64_t d_model = 0;
  int n_layers = 0;        // num_hidden_layers: translators 0 .. n_layers-1
  bool bias = true;
  // "{l}.weight" then (with bias) "{l}.bias" for every layer; Param so the
  // training optimisers (train.h) update them as they update a model.
  std::vector<Param> params;

  // Zero translators (the identity: exactly the logit lens) for this model.
  static TunedLens identity(const Model& m, bool bias = true);
  // Error naming the file / field / tensor at fault.
  static TunedLens load(const std::string& dir);
  void save(const std::string& dir) const;  // config.json + params.safetensors (atomic each)

  Param& weight(int layer);
  const Param& weight(int layer) const;
  Param* bias_param(int layer);  // null without bias
  const Param* bias_param(int layer) const;
  // Error unless the lens was made for a model of this width and depth.
  void check_fits(const Config& c, const char* what) const;

  // out [N, d_model] = h + h W_l^T + b_l (out must not alias h).
  void translate(float* out, const float* h, int64_t N, int layer) const;
  void zero_grad();
  nlohmann::json config_json() const;
};

// The logit lens's result (logit_lens.h) with every blocks.{l}.hook_resid_pre
// decoded through its translator; the final residual stream is decoded as is.
LogitLensResult tuned_lens(Engine& e, const TunedLens& lens, const Batch& batch, const LogitLensOptions& opt = {});

// KL(p_final || p_lens) of one layer, averaged over the batch's valid
// positions. With accumulate_grad, d loss / d translator is ADDED to the
// layer's Param::grad: the gradient w.r.t. the translated residual comes from
// Engine::backward through a model of no layers (the final norm and
// unembedding alone) fed the translated residual.
double tuned_lens_loss(Engine& e, TunedLens& lens, const Batch& batch, int layer, bool accumulate_grad = false);

struct TunedLensTrainOptions {
  int steps = 250;
  int64_t rows = 8;        // windows per step
  int64_t seq_len = 64;    // tokens per window (at most the model's context)
  // The package's defaults: SGD with Nesterov momentum 0.9, lr 1, weight
  // decay 1e-3, global gradient norm clipped to 1, learning rate decaying
  // linearly to 0.
  OptimizerConfig optimizer{.kind = "sgd", .lr = 1.0f, .weight_decay = 1e-3f, .momentum = 0.9f, .nesterov = true};
  ScheduleConfig schedule{.warmup_steps = 0, .min_lr_ratio = 0.0f, .decay = Decay::Linear};
  float grad_clip = 1.0f;  // 0 = off
  uint64_t seed = 0;       // window offsets
};

// Trains every translator on random windows of `tokens`; returns the mean
// loss over layers at every step.
std::vector<double> train_tuned_lens(Engine& e, TunedLens& lens, const std::vector<int32_t>& tokens,
                                     const TunedLensTrainOptions& opt = {});

// Mean KL(p_final || p_lens) by layer for the logit lens and the tuned lens
// on held-out tokens (cut into windows of seq_len; a shorter tail window too).
struct LensComparison {
  std::vector<std::string> layers;  // as LogitLensResult::layers
  std::vector<double> logit_lens_kl, tuned_lens_kl;
  int64_t positions = 0;
  nlohmann::json to_json() const;
};
LensComparison compare_lenses(Engine& e, const TunedLens& lens, const std::vector<int32_t>& tokens,
                              int64_t seq_len = 64);

}  // namespace glassbox::analysis
