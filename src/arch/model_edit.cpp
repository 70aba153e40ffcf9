#include "glassbox/model_edit.h"

#include <cstring>

#include "arch/checkpoint.h"
#include "glassbox/error.h"

namespace glassbox {

namespace {

// An owned [rows, cols] row-major copy of a strided matrix, kept in `s`.
float* owned_copy(Model::Storage& s, const float* x, int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  s.owned.push_back(std::make_unique<float[]>(size_t(rows * cols)));
  float* out = s.owned.back().get();
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[i * cols + j] = x[i * rs + j * cs];
  s.owned_bytes += size_t(rows * cols) * sizeof(float);
  return out;
}

}  // namespace

Model edit_residual_writers(const Model& m, const ResidualRowsEdit& edit) {
  const Config& c = m.config();
  const int64_t d = c.d_model;
  Config cfg = c;
  Weights w = m.weights();  // views into m's storage; the writers are replaced below
  auto s = std::make_shared<Model::Storage>();
  const auto rows = [&](const float* x, int64_t n) {
    float* y = owned_copy(*s, x, n, d, d, 1);
    edit(y, n, d);
    return y;
  };
  // Weights kept quantised live in the file's blocks; editing them would need
  // a re-quantisation. Refuse rather than leave them unedited.
  bool quantized = m.weights().W_E_q != nullptr;
  for (const LayerWeights& lw : m.weights().layers) quantized |= lw.W_O.q != nullptr || lw.W_out.q != nullptr;
  if (quantized)
    fail(m.source(), ": its weights are kept quantised; load it with keep_quantized = false to edit the weights");
  const auto matrix = [&](MatRef& W) {  // W maps [rows] -> [d_model]
    if (!W.data) return;
    float* y = owned_copy(*s, W.data, W.rows, W.cols, W.rs, W.cs);
    edit(y, W.rows, d);
    W = {y, W.rows, W.cols, W.cols, 1};
  };
  w.W_E = rows(m.weights().W_E, c.d_vocab);
  cfg.tied_embeddings = false;  // W_U still reads the original W_E where it was tied
  if (w.W_pos) w.W_pos = rows(w.W_pos, c.n_ctx);
  for (LayerWeights& lw : w.layers) {
    matrix(lw.W_O);
    if (lw.b_O) lw.b_O = rows(lw.b_O, 1);
    matrix(lw.W_out);
    if (lw.b_out) lw.b_out = rows(lw.b_out, 1);
  }
  return ModelFactory::edited(m, std::move(cfg), std::move(w), std::move(s), m.source());
}

}  // namespace glassbox
