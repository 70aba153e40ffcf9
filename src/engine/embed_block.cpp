// Embedding and unembedding, forward and backward.
#include <algorithm>
#include <cstring>

#include "engine/pass.h"
#include "kernels/kernels.h"

namespace glassbox::detail {

namespace k = kernels;

float* embed_forward(ForwardPass& p, const int32_t* tokens) {
  const int64_t N = p.N, d = p.c.d_model;
  float* x = p.slice(Site::resid_pre, 0);
  float* embed = p.slice(Site::embed, -1);
  if (p.w.W_E_q) k::embedding_forward_quant(embed, tokens, *p.w.W_E_q, N, d);
  else k::embedding_forward(embed, tokens, p.w.W_E, N, d);
  if (p.c.embed_scale != 1.f)  // Gemma: sqrt(d_model); hook_embed shows the scaled rows, as TransformerLens
    for (int64_t i = 0; i < N * d; ++i) embed[i] *= p.c.embed_scale;
  p.fire(Site::embed, -1, embed);
  if (p.c.positional == PosKind::Learned) {
    float* pe = p.slice(Site::pos_embed, -1);
    k::embedding_forward(pe, p.pos.data(), p.w.W_pos, N, d);
    p.fire(Site::pos_embed, -1, pe);
    k::add_forward(x, embed, pe, N * d);
  } else {
    std::memcpy(x, embed, size_t(N * d) * sizeof(float));
  }
  return x;
}

// resid_pre(0) = embed + pos_embed.
void embed_backward(BackwardPass& p, const int32_t* tokens, const float* dx) {
  const int64_t N = p.N, d = p.c.d_model;
  float* g = mut(dx);  // grad hooks get a mutable view, as at every other site
  p.grad(Site::embed, -1, g);
  if (p.G && p.c.embed_scale != 1.f) {  // W_E's rows were scaled: so is their gradient
    std::vector<float> scaled(dx, dx + N * d);
    for (float& v : scaled) v *= p.c.embed_scale;
    k::embedding_backward(mut(p.G->W_E), scaled.data(), tokens, N, d);
  } else if (p.G) {
    k::embedding_backward(mut(p.G->W_E), dx, tokens, N, d);
  }
  if (p.c.positional == PosKind::Learned) {
    p.grad(Site::pos_embed, -1, g);
    if (p.G) k::embedding_backward(mut(p.G->W_pos), dx, p.pos.data(), N, d);
  }
}

void unembed_forward(ForwardPass& p, const float* x) {
  const Config& c = p.c;
  const float* xf = norm_forward(p, Site::ln_final_scale, Site::ln_final_normalized, -1, x, p.w.ln_final_w,
                                 p.w.ln_final_b);
  const int64_t B = p.B, T = p.T, d = c.d_model, V = c.d_vocab;
  if (p.opt.logits == LogitsMode::All) {
    p.res.logits = take_spare(p.spare, {B, T, V});
    k::matmul_forward(p.res.logits.f32(), V, xf, d, p.w.W_U, p.w.b_U, 1, p.N);
    if (c.final_softcap > 0) k::softcap_forward(p.res.logits.f32(), p.N * V, c.final_softcap);
  } else if (p.opt.logits == LogitsMode::Last) {
    auto& rows = p.last_rows;
    rows.resize(size_t(B * d));
    for (int64_t b = 0; b < B; ++b) std::memcpy(&rows[size_t(b * d)], xf + ((b + 1) * T - 1) * d, size_t(d) * 4);
    p.res.logits = take_spare(p.spare, {B, 1, V});
    k::matmul_forward(p.res.logits.f32(), V, rows.data(), d, p.w.W_U, p.w.b_U, 1, B);
    if (c.final_softcap > 0) k::softcap_forward(p.res.logits.f32(), B * V, c.final_softcap);
  }
}

// logits = affine(ln_final(x)) . W_U + b_U
void unembed_backward(BackwardPass& p, const float* dlogits, bool last_only, float* dx) {
  const Config& c = p.c;
  const Weights& w = p.w;
  const Weights* G = p.G;
  const int64_t B = p.B, T = p.T, d = c.d_model, V = c.d_vocab;
  // ln_final reads the last block's output, or the start residual of a pass from start_at_layer == n_layers:
  // the forward keeps both under blocks.{n-1}.hook_resid_post.
  if (c.final_softcap > 0) {  // d(W_U's output) = d(capped logits) * (1 - (capped / c)^2)
    const int64_t n = (last_only ? B : p.N) * V;
    p.d_logits.assign(dlogits, dlogits + n);
    k::softcap_backward(p.d_logits.data(), p.fwd.logits.f32(), n, c.final_softcap);
    dlogits = p.d_logits.data();
  }
  const float* xf = norm_output(p, Site::ln_final_normalized, -1, Site::resid_post, c.n_layers - 1, w.ln_final_w,
                                w.ln_final_b);
  float* dxf = zeros(p.d_norm_out, p.N * d);
  const MutMatRef dW_U = G ? mut(G->W_U) : MutMatRef{};
  float* db_U = G ? mut(G->b_U) : nullptr;
  if (last_only) {  // the B last rows, gathered, then scattered back
    std::vector<float> x_last(static_cast<size_t>(B * d)), dx_last(static_cast<size_t>(B * d), 0.f);
    for (int64_t b = 0; b < B; ++b) std::copy_n(xf + (b * T + T - 1) * d, d, x_last.data() + b * d);
    k::matmul_backward(dx_last.data(), d, dW_U, db_U, 1, dlogits, V, x_last.data(), d, w.W_U, B);
    for (int64_t b = 0; b < B; ++b) std::copy_n(dx_last.data() + b * d, d, dxf + (b * T + T - 1) * d);
  } else {
    k::matmul_backward(dxf, d, dW_U, db_U, 1, dlogits, V, xf, d, w.W_U, p.N);
  }
  norm_backward(p, Site::ln_final_scale, Site::ln_final_normalized, -1, dx, dxf, w.ln_final_w, w.ln_final_b,
                G ? mut(G->ln_final_w) : nullptr, G ? mut(G->ln_final_b) : nullptr);
}

}  // namespace glassbox::detail
