// Directional ablation and weight orthogonalisation (Arditi et al. 2024,
// "Refusal in language models is mediated by a single direction").
//
// Ablating a unit direction r from the residual stream — x <- x - (x.r) r at
// every residual site, every position — is the same as removing it from
// every tensor that writes there: the token and positional embeddings, each
// attention output W_O and its bias, each MLP output W_out and its bias
// (W <- W - W r r^T on their d_model side). Nothing else writes into the
// stream, so a model so orthogonalised never holds r, and its logits equal
// the run-time ablation's. The unembedding reads the stream and is left as
// it was (a tied one is untied: the saved model carries its own copy).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/config.h"
#include "glassbox/dtype.h"
#include "glassbox/interventions.h"
#include "glassbox/model.h"
#include "glassbox/steering/direction.h"

namespace glassbox::steering {

// One direction out of a steering vector: its vector at `layer` (< 0: the
// only layer it has). Error naming `what` for a layer it lacks (listing the
// ones it has), several layers and no choice, or a zero vector.
std::vector<float> ablation_direction(const SteeringVector& v, int layer, const std::string& what);

// The run-time form: a project_out intervention at every residual-stream
// site of config c — hook_embed, hook_pos_embed (learned positions), and per
// layer hook_resid_pre, hook_resid_mid (sequential MLP) and hook_resid_post.
// Error naming `what` for a width other than c.d_model or a zero direction.
std::vector<Intervention> ablation_interventions(const std::vector<float>& direction, const Config& c,
                                                 const std::string& what = "direction");

// x <- x - (x.r) r for each of `rows` d-wide rows of a strided matrix
// (element (i, j) at x[i*rs + j*cs]); r is unit length. In double.
void project_out_rows(float* x, int64_t rows, int64_t d, int64_t rs, int64_t cs, const std::vector<double>& r);

// The orthogonalised model, in memory (glassbox/model_edit.h).
Model orthogonalized_model(const Model& m, const std::vector<float>& direction, const std::string& what = "direction");

struct OrthogonalizeResult {
  std::string out, format;      // format: "safetensors" or "gguf"
  int64_t tensors_edited = 0;   // embeddings, W_O, b_O, W_out, b_out
  bool untied = false;          // the unembedding was tied to W_E and now has its own copy
};

// Reads the model at `model_path` and saves it orthogonalised in its own
// format: for a Hugging Face safetensors directory, a directory `out` with
// model.safetensors (F32, the checkpoint's own names; a tied unembedding
// written as lm_head.weight / embed_out.weight with "tie_word_embeddings":
// false in config.json) and the source's other files (tokenizer ...); for a
// .gguf, a GGUF file `out` (F32 or F16 matrices, gguf_dtype) that llama.cpp
// loads. Error naming the path for a width other than d_model, a zero
// direction, an `out` of the other format, or `out` equal to the source.
OrthogonalizeResult save_orthogonalized(const std::string& model_path, const std::vector<float>& direction,
                                        const std::string& out, DType gguf_dtype = DType::F32,
                                        const std::string& what = "direction");

}  // namespace glassbox::steering
