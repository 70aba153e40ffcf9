// Edited copies of a loaded model, in memory: the tensors an edit changes are
// owned F32 copies, every other weight stays a view into the original's
// storage (kept alive by the copy). What a weight edit gives before it is
// written in a file format (steering/orthogonalize.h writes GGUF from one).
#pragma once
#include <cstdint>
#include <functional>

#include "glassbox/model.h"

namespace glassbox {

// An edit of d_model-wide rows: x is [rows, d_model] row-major.
using ResidualRowsEdit = std::function<void(float* x, int64_t rows, int64_t d_model)>;

// The model with every tensor that writes into the residual stream edited:
// W_E [d_vocab, d_model], W_pos [n_ctx, d_model] (learned positions), and
// per layer W_O [n_heads*d_head, d_model], b_O [1, d_model], W_out [d_mlp,
// d_model], b_out [1, d_model] (absent biases stay absent). A tied unembedding
// is untied first (W_U keeps reading the original W_E; the config says
// tied_embeddings = false), so the edit changes what is written, not what
// is read out.
Model edit_residual_writers(const Model& m, const ResidualRowsEdit& edit);

}  // namespace glassbox
