// Model diffing, the static half: whether two models can be compared at all,
// and how far each weight matrix moved (relative Frobenius norm).
#include <cmath>
#include <functional>

#include "analysis/detail.h"
#include "glassbox/analysis/model_diff.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

void check_diffable(const Model& base, const Model& tuned) {
  const Config &b = base.config(), &t = tuned.config();
  const auto same = [&](const char* field, int64_t vb, int64_t vt, const char* why) {
    if (vb != vt)
      fail("model diff: the base model (", base.source(), ") has ", field, " ", vb, " and the tuned model (",
           tuned.source(), ") ", vt, "; ", why);
  };
  same("d_vocab", b.d_vocab, t.d_vocab, "their next-token distributions cannot be compared (another vocabulary)");
  same("d_model", b.d_model, t.d_model, "activations cannot be patched between them (another width)");
  same("n_layers", b.n_layers, t.n_layers, "activations cannot be patched layer by layer (another depth)");
  same("n_heads", b.n_heads, t.n_heads, "their attention weights cannot be compared (another head count)");
  same("n_kv_heads", b.n_kv_heads, t.n_kv_heads, "their attention weights cannot be compared");
  same("d_head", b.d_head, t.d_head, "their attention weights cannot be compared");
  same("d_mlp", b.d_mlp, t.d_mlp, "their MLP weights cannot be compared (another MLP width)");
  same("gated_mlp", b.gated_mlp, t.gated_mlp, "their MLPs differ in kind");
  same("learned positions (W_pos)", base.weights().W_pos != nullptr, tuned.weights().W_pos != nullptr,
       "their embeddings differ in kind");
}

namespace {

// Squared Frobenius norms of a base matrix and of its difference, element by
// element through the two (possibly differently strided) views.
struct Norms {
  double base = 0, diff = 0;
  void add(float b, float t) {
    base += double(b) * b;
    diff += (double(t) - b) * (double(t) - b);
  }
};

void add_mat(Norms& n, const MatRef& b, const MatRef& t) {
  for (int64_t i = 0; i < b.rows; ++i)
    for (int64_t j = 0; j < b.cols; ++j) n.add(detail::at(b, i, j), detail::at(t, i, j));
}

void add_vec(Norms& n, const float* b, const float* t, int64_t len) {
  for (int64_t i = 0; i < len; ++i) n.add(b[i], t[i]);
}

void push(std::vector<WeightDiff>& out, std::string name, int layer, const Norms& n) {
  WeightDiff d;
  d.name = std::move(name);
  d.layer = layer;
  d.base_norm = std::sqrt(n.base);
  d.diff_norm = std::sqrt(n.diff);
  d.relative = d.base_norm > 0 ? d.diff_norm / d.base_norm : (d.diff_norm > 0 ? INFINITY : 0.0);
  out.push_back(std::move(d));
}

}  // namespace

std::vector<WeightDiff> weight_diff(const Model& base, const Model& tuned) {
  check_diffable(base, tuned);
  const Config& c = base.config();
  const Weights &b = base.weights(), &t = tuned.weights();
  std::vector<WeightDiff> out;
  const auto vec = [&](std::string name, int layer, const float* vb, const float* vt, int64_t len) {
    if (!vb || !vt) return;  // a model without that tensor (no norm, no bias)
    Norms n;
    add_vec(n, vb, vt, len);
    push(out, std::move(name), layer, n);
  };
  const auto mat = [&](std::string name, int layer, const MatRef& mb, const MatRef& mt) {
    if (!mb.data || !mt.data) return;
    Norms n;
    add_mat(n, mb, mt);
    push(out, std::move(name), layer, n);
  };
  const auto heads = [&](std::string name, int layer, const HeadProj& pb, const HeadProj& pt) {
    if (!pb.w || !pt.w) return;
    Norms n;
    for (int h = 0; h < pb.n_heads; ++h) add_mat(n, pb.head(h), pt.head(h));
    push(out, std::move(name), layer, n);
  };
  vec("W_E", -1, b.W_E, t.W_E, int64_t(c.d_vocab) * c.d_model);
  vec("W_pos", -1, b.W_pos, t.W_pos, int64_t(c.n_ctx) * c.d_model);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights &lb = b.layers[size_t(l)], &lt = t.layers[size_t(l)];
    const std::string p = glassbox::detail::cat("blocks.", l, ".");
    vec(p + "ln1.w", l, lb.ln1_w, lt.ln1_w, c.d_model);
    heads(p + "attn.W_Q", l, lb.W_Q, lt.W_Q);
    heads(p + "attn.W_K", l, lb.W_K, lt.W_K);
    heads(p + "attn.W_V", l, lb.W_V, lt.W_V);
    mat(p + "attn.W_O", l, lb.W_O, lt.W_O);
    vec(p + "ln2.w", l, lb.ln2_w, lt.ln2_w, c.d_model);
    mat(p + "mlp.W_in", l, lb.W_in, lt.W_in);
    mat(p + "mlp.W_gate", l, lb.W_gate, lt.W_gate);
    mat(p + "mlp.W_out", l, lb.W_out, lt.W_out);
  }
  vec("ln_final.w", -1, b.ln_final_w, t.ln_final_w, c.d_model);
  if (!c.tied_embeddings) mat("W_U", -1, b.W_U, t.W_U);
  return out;
}

}  // namespace glassbox::analysis
