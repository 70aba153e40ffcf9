#include "glassbox/features/neuron_map.h"

#include <cstring>

#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "kernels/kernels.h"

namespace glassbox::features {

NeuronMap::NeuronMap(const Model& m, int layer) : model_(&m), layer_(layer), d_mlp_(m.config().d_mlp) {
  const Config& c = m.config();
  if (layer < 0 || layer >= c.n_layers)
    fail("NeuronMap: layer ", layer, " is out of range; the model has ", c.n_layers, " layers");
  if (!site_exists(Site::mlp_post, c) || d_mlp_ <= 0)
    fail("NeuronMap: the model (", m.source(), ") has no MLP neurons (attention-only)");
}

NeuronMap NeuronMap::from_hook(const Model& m, const std::string& hook_name) {
  const HookPoint p = parse_hook_name(hook_name, m.config());
  if (p.site != Site::mlp_post)
    fail("NeuronMap: ", hook_name, " is not an MLP neuron site; expected blocks.L.mlp.hook_post");
  return NeuronMap(m, p.layer);
}

std::string NeuronMap::hook_name() const { return HookPoint{Site::mlp_post, layer_}.name(); }

void NeuronMap::encode(const float* x, int64_t rows, float* f) const {
  std::memcpy(f, x, size_t(rows * d_mlp_) * sizeof(float));
}

std::vector<float> NeuronMap::output_direction(int64_t j) const {
  if (j < 0 || j >= d_mlp_) fail("NeuronMap: neuron ", j, " is out of range [0, ", d_mlp_, ")");
  const MatRef& W = model_->weights().layers[size_t(layer_)].W_out;  // [d_mlp, d_model], strided
  std::vector<float> out(size_t(W.cols));
  if (W.q) {  // kept quantised: dequantise its columns ([cols, rows] row-major) and read row j across them
    std::vector<float> cols(size_t(W.cols * W.rows));
    kernels::dequantize_weight_rows(cols.data(), W, 0, W.cols);
    for (int64_t i = 0; i < W.cols; ++i) out[size_t(i)] = cols[size_t(i * W.rows + j)];
    return out;
  }
  for (int64_t i = 0; i < W.cols; ++i) out[size_t(i)] = W.data[j * W.rs + i * W.cs];
  return out;
}

}  // namespace glassbox::features
