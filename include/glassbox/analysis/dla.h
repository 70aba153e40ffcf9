// Direct logit attribution: how much each component writing to the residual
// stream contributes, directly, to a logit (or a logit difference) at one
// position.
//
// The final norm is linear once its scale is fixed, so with the scale cached
// from the clean run (ln_final.hook_scale), as TransformerLens'
// apply_ln_to_stack does:
//   logit = sum_i  center(c_i) / scale . (w_ln * u)   +   (b_ln . u + b_U . dir)
// where u = W_U . dir, c_i are the components (hook_embed, hook_pos_embed,
// every attention and MLP output) and center() subtracts the row mean
// (LayerNorm only; RMSNorm does not centre, no norm means scale = 1). The
// second term — the final norm's bias and the unembedding bias read along the
// direction — is reported as `bias`, so the components plus `bias` sum to the
// actual logit (difference) up to float rounding, for every norm kind.
// Per-head contributions come from attn.hook_result, which excludes b_O; each
// layer's b_O is reported in `head_bias`. Per-neuron contributions are
// mlp.hook_post[n] * W_out[n, :]; each layer's b_out is in `neuron_bias`.
// Values are averaged over the batch rows.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"

namespace glassbox::analysis {

struct DlaOptions {
  int64_t pos = -1;              // the predicting position (negative: from the end)
  std::vector<int32_t> answer;   // one token for every row, or one per row
  std::vector<int32_t> wrong;    // optional: same shape; direction = W_U[:, answer] - W_U[:, wrong]
  bool heads = true;             // per-head (needs attn.hook_result)
  bool neurons = true;           // per MLP neuron
};

struct DlaComponent {
  std::string name;              // "hook_embed", "blocks.3.hook_attn_out", "bias"
  double value = 0;
};

struct DlaResult {
  std::vector<DlaComponent> by_layer;  // embeddings, attn_out / mlp_out per layer, bias: sums to `logit`
  double logit = 0;                    // the model's actual logit (difference)
  int n_layers = 0, n_heads = 0, d_mlp = 0;
  std::vector<double> by_head;         // [n_layers, n_heads]
  std::vector<double> head_bias;       // [n_layers]: b_O's part; heads + head_bias = attn_out
  std::vector<double> by_neuron;       // [n_layers, d_mlp]
  std::vector<double> neuron_bias;     // [n_layers]: b_out's part; neurons + neuron_bias = mlp_out

  double sum() const;                  // of by_layer
  double head(int l, int h) const { return by_head[size_t(l * n_heads + h)]; }
  double neuron(int l, int n) const { return by_neuron[size_t(l * d_mlp + n)]; }
  nlohmann::json to_json() const;
};

DlaResult direct_logit_attribution(Engine& e, const Batch& batch, const DlaOptions& opt);

}  // namespace glassbox::analysis
