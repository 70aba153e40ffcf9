// MLP neurons as features: the identity on blocks.L.mlp.hook_post, so every
// dashboard and explainer built for dictionary latents also reads neurons.
#pragma once
#include <string>
#include <vector>

#include "glassbox/features/activations.h"
#include "glassbox/model.h"

namespace glassbox::features {

class NeuronMap : public FeatureMap {
 public:
  // Error when the layer is out of range or the model has no MLPs
  // (attention-only). The model must outlive the map (W_out is read from it).
  NeuronMap(const Model& m, int layer);
  // "blocks.1.mlp.hook_post" (the only site whose features are neurons);
  // Error naming the hook otherwise.
  static NeuronMap from_hook(const Model& m, const std::string& hook_name);

  std::string hook_name() const override;
  int64_t d_in() const override { return d_mlp_; }
  int64_t n_features() const override { return d_mlp_; }
  void encode(const float* x, int64_t rows, float* f) const override;  // a copy
  // Neuron j's row of W_out [d_mlp, d_model]: what it adds to the residual stream.
  std::vector<float> output_direction(int64_t j) const override;

  int layer() const { return layer_; }

 private:
  const Model* model_;
  int layer_;
  int64_t d_mlp_;
};

}  // namespace glassbox::features
