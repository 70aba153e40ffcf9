#include "glassbox/analysis/head_circuits.h"

#include <cmath>

#include "analysis/detail.h"
#include "analysis/eigen.h"
#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox::analysis {

namespace {

void check_head(const Config& c, int layer, int head, const char* what) {
  if (layer < 0 || layer >= c.n_layers) fail(what, ": layer ", layer, " is out of range (", c.n_layers, " layers)");
  if (head < 0 || head >= c.n_heads) fail(what, ": head ", head, " is out of range (", c.n_heads, " heads)");
}

std::vector<int32_t> token_set(const Config& c, const std::vector<int32_t>& tokens, const char* what) {
  std::vector<int32_t> s = tokens;
  if (s.empty())
    for (int32_t t = 0; t < c.d_vocab; ++t) s.push_back(t);
  for (int32_t t : s)
    if (t < 0 || t >= c.d_vocab) fail(what, ": token ", t, " is out of range [0, ", c.d_vocab, ")");
  return s;
}

// W_E[S]: [|S|, d_model].
std::vector<float> embed_rows(const Model& m, const std::vector<int32_t>& S) {
  const int64_t d = m.config().d_model;
  std::vector<float> E(S.size() * size_t(d));
  if (const QuantMat* q = m.weights().W_E_q) {  // kept quantised: dequantise the rows
    kernels::embedding_forward_quant(E.data(), S.data(), *q, int64_t(S.size()), d);
    return E;
  }
  for (size_t i = 0; i < S.size(); ++i) std::copy(m.weights().W_E + S[i] * d, m.weights().W_E + (S[i] + 1) * d, &E[i * size_t(d)]);
  return E;
}

int kv_head(const Config& c, int h) { return h / (c.n_heads / c.n_kv_heads); }

// W_O^h as a [d_head, d_model] view.
MatRef w_o(const LayerWeights& lw, const Config& c, int h) {
  return lw.W_O.row_block(int64_t(h) * c.d_head, c.d_head);
}

// C [M, N] = A [M, K] . B^T (B: [N, K]), row-major.
void mul_bt(float* C, const float* A, const float* B, int64_t M, int64_t N, int64_t K) {
  detail::matmul(C, A, K, M, MatRef{B, K, N, 1, K});
}

// P = W_U[:, S] . W_E[S]: [d_model, d_model], shared by every head's copying score.
std::vector<double> unembed_embed(const Model& m, const std::vector<int32_t>& S) {
  const int64_t d = m.config().d_model, n = int64_t(S.size());
  const std::vector<float> E = embed_rows(m, S);
  std::vector<float> Ut(size_t(n * d));  // W_U[:, S]^T: [|S|, d]
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) Ut[size_t(i * d + j)] = detail::at(m.weights().W_U, j, S[size_t(i)]);
  std::vector<float> P(size_t(d * d), 0.f);  // accumulated into
  detail::matmul_dW(MutMatRef{P.data(), d, d, d, 1}, Ut.data(), d, E.data(), n);
  return {P.begin(), P.end()};
}

CopyingScore score_from(const Model& m, int layer, int head, const std::vector<double>& P) {
  const Config& c = m.config();
  const int64_t d = c.d_model, dh = c.d_head;
  const LayerWeights& lw = m.weights().layers[size_t(layer)];
  const MatRef V = lw.W_V.head(kv_head(c, head));  // [d, dh]
  const MatRef O = w_o(lw, c, head);              // [dh, d]
  // PV = P . W_V^h [d, dh]; M = W_O^h . PV [dh, dh], in double (small).
  std::vector<double> PV(size_t(d * dh), 0.0), M(size_t(dh * dh), 0.0);
  for (int64_t i = 0; i < d; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double p = P[size_t(i * d + k)];
      if (p == 0) continue;
      for (int64_t j = 0; j < dh; ++j) PV[size_t(i * dh + j)] += p * detail::at(V, k, j);
    }
  for (int64_t i = 0; i < dh; ++i)
    for (int64_t k = 0; k < d; ++k) {
      const double o = detail::at(O, i, k);
      for (int64_t j = 0; j < dh; ++j) M[size_t(i * dh + j)] += o * PV[size_t(k * dh + j)];
    }
  CopyingScore s;
  s.eigenvalues = detail::eigenvalues(std::move(M), int(dh));
  double sum = 0, sum_abs = 0, max_abs = 0;
  for (const auto& l : s.eigenvalues) max_abs = std::max(max_abs, std::abs(l));
  int nonzero = 0, positive = 0;
  for (const auto& l : s.eigenvalues) {
    sum += l.real();
    sum_abs += std::abs(l);
    if (std::abs(l) > 1e-9 * max_abs) ++nonzero, positive += l.real() > 0;
  }
  s.positivity = sum_abs > 0 ? sum / sum_abs : 0.0;
  s.fraction_positive = nonzero ? double(positive) / nonzero : 0.0;
  return s;
}

}  // namespace

nlohmann::json TokenMatrix::to_json() const { return {{"tokens", tokens}, {"values", values}}; }

nlohmann::json CopyingScore::to_json() const {
  nlohmann::json ev = nlohmann::json::array();
  for (const auto& l : eigenvalues) ev.push_back({l.real(), l.imag()});
  return {{"positivity", positivity}, {"fraction_positive", fraction_positive}, {"eigenvalues", ev}};
}

TokenMatrix ov_circuit(const Model& m, int layer, int head, const std::vector<int32_t>& tokens) {
  const Config& c = m.config();
  check_head(c, layer, head, "ov_circuit");
  TokenMatrix r;
  r.tokens = token_set(c, tokens, "ov_circuit");
  const int64_t n = int64_t(r.tokens.size()), d = c.d_model, dh = c.d_head;
  const LayerWeights& lw = m.weights().layers[size_t(layer)];
  const std::vector<float> E = embed_rows(m, r.tokens);
  std::vector<float> EV(size_t(n * dh)), EVO(size_t(n * d));
  detail::matmul(EV.data(), E.data(), d, n, lw.W_V.head(kv_head(c, head)));
  detail::matmul(EVO.data(), EV.data(), dh, n, w_o(lw, c, head));
  std::vector<float> Ut(size_t(n * d));  // W_U[:, S]^T
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < d; ++j) Ut[size_t(i * d + j)] = detail::at(m.weights().W_U, j, r.tokens[size_t(i)]);
  r.values.resize(size_t(n * n));
  mul_bt(r.values.data(), EVO.data(), Ut.data(), n, n, d);
  return r;
}

TokenMatrix qk_circuit(const Model& m, int layer, int head, const std::vector<int32_t>& tokens) {
  const Config& c = m.config();
  check_head(c, layer, head, "qk_circuit");
  TokenMatrix r;
  r.tokens = token_set(c, tokens, "qk_circuit");
  const int64_t n = int64_t(r.tokens.size()), d = c.d_model, dh = c.d_head;
  const LayerWeights& lw = m.weights().layers[size_t(layer)];
  const std::vector<float> E = embed_rows(m, r.tokens);
  std::vector<float> Q(size_t(n * dh)), K(size_t(n * dh));
  detail::matmul(Q.data(), E.data(), d, n, lw.W_Q.head(head));
  detail::matmul(K.data(), E.data(), d, n, lw.W_K.head(kv_head(c, head)));
  r.values.resize(size_t(n * n));
  mul_bt(r.values.data(), Q.data(), K.data(), n, n, dh);
  return r;
}

std::vector<float> qk_circuit_positional(const Model& m, int layer, int head, int64_t n_pos) {
  const Config& c = m.config();
  check_head(c, layer, head, "qk_circuit_positional");
  if (c.positional != PosKind::Learned || !m.weights().W_pos)
    fail("qk_circuit_positional: the model has no learned positional embedding");
  if (n_pos <= 0 || n_pos > c.n_ctx) fail("qk_circuit_positional: n_pos must be in [1, ", c.n_ctx, "], got ", n_pos);
  const int64_t d = c.d_model, dh = c.d_head;
  const LayerWeights& lw = m.weights().layers[size_t(layer)];
  std::vector<float> Q(size_t(n_pos * dh)), K(size_t(n_pos * dh)), out(size_t(n_pos * n_pos));
  detail::matmul(Q.data(), m.weights().W_pos, d, n_pos, lw.W_Q.head(head));
  detail::matmul(K.data(), m.weights().W_pos, d, n_pos, lw.W_K.head(kv_head(c, head)));
  mul_bt(out.data(), Q.data(), K.data(), n_pos, n_pos, dh);
  return out;
}

CopyingScore copying_score(const Model& m, int layer, int head, const std::vector<int32_t>& tokens) {
  check_head(m.config(), layer, head, "copying_score");
  return score_from(m, layer, head, unembed_embed(m, token_set(m.config(), tokens, "copying_score")));
}

HeadScores copying_scores(const Model& m, const std::vector<int32_t>& tokens) {
  const Config& c = m.config();
  const std::vector<double> P = unembed_embed(m, token_set(c, tokens, "copying_scores"));
  HeadScores s;
  s.name = "copying";
  s.n_layers = c.n_layers;
  s.n_heads = c.n_heads;
  for (int l = 0; l < c.n_layers; ++l)
    for (int h = 0; h < c.n_heads; ++h) s.scores.push_back(float(score_from(m, l, h, P).positivity));
  return s;
}

}  // namespace glassbox::analysis
