// Sparse dictionaries: SAEs, transcoders and crosscoders as one plain struct.
//
//   sae_in = x - b_dec * apply_b_dec_to_input          (x: [rows, in_width])
//   pre    = sae_in . W_enc + b_enc                     ([rows, d_sae])
//   f      = act(pre)                                   (the architecture)
//   x_hat  = f . W_dec + b_dec                          ([rows, out_width])
//
// Architectures (SaeArch): ReLU (L1 weighted by the decoder row norm, Anthropic
// "Towards Monosemanticity" April 2024 update / SAELens "standard"), TopK
// (Gao et al. 2024), BatchTopK (Bussmann et al. 2024: the top k*rows of the
// whole batch at train time; a global threshold at inference), JumpReLU
// (Rajamanoharan et al. 2024: f = pre * H(pre - threshold)).
// A transcoder reads one site and predicts another (out_width != in_width,
// no b_dec on the input). A crosscoder reads n_sources sites of d_in each as
// one concatenated row: per-source encoder and decoder blocks share the latent
// space (Anthropic's crosscoder note), and its sparsity penalty weights each
// latent by the SUM of its per-source decoder norms.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/enum_string.h"
#include "glassbox/codec.h"
#include "glassbox/features/activations.h"

namespace glassbox::features {

enum class SaeArch : uint8_t { Relu, TopK, BatchTopK, JumpRelu };
const char* to_string(SaeArch a);  // "relu", "topk", "batchtopk", "jumprelu"

// SAELens' normalize_activations. ExpectedAverageOnlyIn multiplies inputs by
// a scaling factor sqrt(d_in) / E||x|| in training; our trainer folds it into
// the weights on save (and writes "none"), as SAELens does.
// ConstantNormRescale and LayerNorm act per row at run time (SAELens
// SAE.run_time_activation_norm_fn_in/out).
enum class ActNorm : uint8_t { None, ExpectedAverageOnlyIn, ConstantNormRescale, LayerNorm };
const char* to_string(ActNorm n);  // SAELens' spellings

}  // namespace glassbox::features

namespace glassbox {
template <> features::SaeArch from_string<features::SaeArch>(std::string_view s);
template <> features::ActNorm from_string<features::ActNorm>(std::string_view s);
}  // namespace glassbox

namespace glassbox::features {

struct SaeConfig {
  SaeArch arch = SaeArch::TopK;
  int64_t d_in = 0;       // per source
  int64_t d_sae = 0;
  int64_t d_out = 0;      // per source; 0: d_in (an autoencoder). A transcoder's target width.
  int64_t n_sources = 1;  // > 1: a crosscoder over that many sources
  int64_t k = 32;         // TopK / BatchTopK: latents per token
  bool apply_b_dec_to_input = true;  // only meaningful for autoencoders (out == in)
  ActNorm normalize_activations = ActNorm::None;
  // Provenance, as SAELens records it (cfg.json).
  std::string model_name, hook_name;
  std::string hook_name_out;              // transcoder target site
  std::vector<std::string> source_names;  // crosscoder: one site name per source
  int64_t hook_layer = 0;
  int64_t hook_head_index = -1;           // -1: null
  int64_t context_size = 128;
  std::string dataset_path;
  bool prepend_bos = true;
  // cfg.json fields we keep but do not interpret, written back unchanged.
  nlohmann::json extra = nlohmann::json::object();

  int64_t out_dim() const { return d_out > 0 ? d_out : d_in; }
  int64_t in_width() const { return n_sources * d_in; }
  int64_t out_width() const { return n_sources * out_dim(); }
  bool autoencoder() const { return out_dim() == d_in && hook_name_out.empty(); }
  bool b_dec_on_input() const { return apply_b_dec_to_input && autoencoder(); }
  void validate(const std::string& what) const;  // Error naming `what` and the field
};

// Plain data: the weights, row-major, SAELens layouts.
struct Sae final : FeatureMap, LatentCodec {
  SaeConfig cfg;
  std::vector<float> W_enc;      // [in_width, d_sae]
  std::vector<float> b_enc;      // [d_sae]
  std::vector<float> W_dec;      // [d_sae, out_width]
  std::vector<float> b_dec;      // [out_width]
  std::vector<float> threshold;  // [d_sae]: JumpReLU; BatchTopK's global threshold in every entry

  // Random unit-norm decoder rows, W_enc = W_dec^T (Gao et al.'s tied init),
  // zero biases, JumpReLU threshold 1e-3 (Gemma Scope). Deterministic in seed.
  static Sae init(const SaeConfig& cfg, uint64_t seed);

  // Inference. f[rows, d_sae] of x[rows, in_width]; BatchTopK uses its global
  // threshold (rows are independent). Applies ConstantNormRescale / LayerNorm
  // to the input; decode() cannot undo those without x: use reconstruct().
  void encode(const float* x, int64_t rows, float* f) const override;
  void decode(const float* f, int64_t rows, float* x_hat) const override;
  void reconstruct(const float* x, int64_t rows, float* x_hat) const;

  // FeatureMap
  std::string hook_name() const override { return cfg.hook_name; }
  int64_t d_in() const override { return cfg.in_width(); }
  int64_t n_features() const override { return cfg.d_sae; }
  std::vector<float> output_direction(int64_t j) const override;  // W_dec row j
  // LatentCodec (the "sae" intervention): an autoencoder's latents
  int64_t n_latents() const override { return cfg.d_sae; }

  // ||W_dec[j, source s]|| for every latent: [d_sae, n_sources]. A crosscoder
  // latent whose norm sits in one source is exclusive to it; spread, shared.
  std::vector<float> decoder_norms_per_source() const;
};

// ---------------------------------------------------------------- training pairs
// Active latents of a batch, row by row (CSR): what every architecture's
// decode and backward read, so TopK decodes k rows of W_dec per token.
struct SparseActs {
  std::vector<int64_t> row_ptr;  // [rows + 1]
  std::vector<int32_t> idx;      // latent ids
  std::vector<float> val;        // f values (> 0)
  int64_t nnz() const { return int64_t(idx.size()); }
};

// What the loss adds to the reconstruction error; see sae_loss_forward.
struct SaeLossOptions {
  float l1_coefficient = 5.f;       // ReLU: sum_j f_j * sum_s ||W_dec[j, s]||
  float l0_coefficient = 1e-3f;     // JumpReLU: sum_j H(pre_j - threshold_j)
  float jumprelu_bandwidth = 1e-3f; // rectangle-kernel width of the straight-through estimator
  float aux_coefficient = 1.f / 32; // auxiliary-k loss (Gao et al.) on dead latents
  int64_t aux_k = 0;                // 0: no auxiliary loss
  const uint8_t* dead = nullptr;    // [d_sae], 1 = dead; the aux loss reads only these
  bool train_batchtopk = true;      // BatchTopK: top k*rows of the batch (false: the threshold)
};

struct SaeLossParts {
  double mse = 0;       // mean over rows of sum over dims of (x_hat - y)^2 (SAELens)
  double sparsity = 0;  // the weighted L1 / L0 term (0 for TopK / BatchTopK)
  double aux = 0;       // the weighted auxiliary-k term
  double l0 = 0;        // mean active latents per row
  double total() const { return mse + sparsity + aux; }
};

// Everything one training forward keeps for its backward.
struct SaeForward {
  int64_t rows = 0;
  std::vector<float> sae_in;  // [rows, in_width]
  std::vector<float> pre;     // [rows, d_sae]
  SparseActs f;
  std::vector<float> x_hat;   // [rows, out_width]
  SparseActs aux_f;           // auxiliary-k activations over dead latents
  std::vector<float> aux_hat; // [rows, out_width] their reconstruction of the residual
  std::vector<float> dec_norm;// [d_sae, n_sources] decoder norms (ReLU penalty)
  float batch_threshold = 0;  // BatchTopK: the smallest selected activation of the batch
};

// Gradients, same shapes as the Sae's tensors. backward ACCUMULATES (+=).
struct SaeGrads {
  std::vector<float> W_enc, b_enc, W_dec, b_dec, threshold;
  void zero_like(const Sae& s);
};

// pre = sae_in . W_enc + b_enc (sae_in = x - b_dec when the config applies it).
void sae_encode_forward(float* sae_in, float* pre, const Sae& s, const float* x, int64_t rows);
void sae_encode_backward(SaeGrads& g, const float* dpre_dense, const SparseActs* dpre_sparse,
                         const float* sae_in, const Sae& s, int64_t rows);
// The architecture's nonlinearity: active latents of pre.
void sae_activate(SparseActs& f, float* batch_threshold, const float* pre, const Sae& s,
                  int64_t rows, bool train_batchtopk);
// x_hat = f . W_dec (+ b_dec unless bias == false).
void sae_decode_forward(float* x_hat, const SparseActs& f, const Sae& s, int64_t rows, bool bias);
// df (at the active entries of f, same layout) and dW_dec / db_dec from dx_hat.
void sae_decode_backward(SaeGrads& g, std::vector<float>& df, const float* dx_hat,
                         const SparseActs& f, const Sae& s, int64_t rows, bool bias);

// The whole training loss of one batch: y = target (x for an autoencoder).
SaeLossParts sae_loss_forward(SaeForward& fw, const Sae& s, const SaeLossOptions& o,
                              const float* x, const float* y, int64_t rows);
// Gradients of sae_loss_forward's total into g. The JumpReLU threshold gets the
// straight-through pseudo-derivative (Rajamanoharan et al. eq. 11-12).
void sae_loss_backward(SaeGrads& g, const SaeForward& fw, const Sae& s, const SaeLossOptions& o,
                       const float* x, const float* y);

}  // namespace glassbox::features
