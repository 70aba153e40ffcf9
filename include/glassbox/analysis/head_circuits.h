// QK and OV circuits of one attention head (Elhage et al. 2021, "A
// Mathematical Framework for Transformer Circuits"), read through the token
// embedding and unembedding as TransformerLens' model.QK / model.OV do: raw
// W_E and W_U, no LayerNorm and no biases.
//   OV[s, t] = W_E[s] . W_V^h . W_O^h . W_U[:, t]   (source token s -> logit of t)
//   QK[q, k] = (W_E[q] . W_Q^h) . (W_E[k] . W_K^h)  (query token q attending to key token k)
// With grouped-query attention, head h reads kv head h / (n_heads / n_kv_heads).
//
// Copying score: the eigenvalues of the OV circuit. A head that copies the
// token it attends to raises that token's logit, so OV has mostly positive
// eigenvalues; Elhage et al. summarise them as sum(lambda) / sum(|lambda|)
// (`positivity`, in [-1, 1]). OV over a token subset S is [|S|, |S|] of rank
// <= d_head; its nonzero eigenvalues are those of the d_head x d_head matrix
//   M = W_O^h . (W_U[:, S] . W_E[S]) . W_V^h
// (eig(AB) = eig(BA) away from 0), computed exactly by Hessenberg + shifted
// QR in double — never the |S| x |S| matrix. W_U[:, S] . W_E[S] (d_model^2)
// is shared by all heads.
#pragma once
#include <complex>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/head_detectors.h"
#include "glassbox/model.h"

namespace glassbox::analysis {

struct TokenMatrix {
  std::vector<int32_t> tokens;   // rows and columns, in this order
  std::vector<float> values;     // [tokens.size(), tokens.size()] row-major
  float at(size_t i, size_t j) const { return values[i * tokens.size() + j]; }
  nlohmann::json to_json() const;
};

// tokens empty = the whole vocabulary (memory: d_vocab^2 floats).
TokenMatrix ov_circuit(const Model& m, int layer, int head, const std::vector<int32_t>& tokens);
TokenMatrix qk_circuit(const Model& m, int layer, int head, const std::vector<int32_t>& tokens);
// W_pos W_Q^h (W_pos W_K^h)^T [n_pos, n_pos] for learned positional embeddings: previous-token
// heads in attention-only models show a bright sub-diagonal.
std::vector<float> qk_circuit_positional(const Model& m, int layer, int head, int64_t n_pos);

struct CopyingScore {
  double positivity = 0;          // sum(lambda) / sum(|lambda|), Elhage et al.
  double fraction_positive = 0;   // of the nonzero eigenvalues, the share with positive real part
  std::vector<std::complex<double>> eigenvalues;  // of M (d_head of them)
  nlohmann::json to_json() const;
};

CopyingScore copying_score(const Model& m, int layer, int head, const std::vector<int32_t>& tokens = {});
// positivity of every head.
HeadScores copying_scores(const Model& m, const std::vector<int32_t>& tokens = {});

}  // namespace glassbox::analysis
