// The state of one forward or backward call, and the block-level pairs the
// two passes are made of (llm.c's layout, one level up from the kernels):
//
//   embed_forward / embed_backward          tokens (+ positions) -> resid_pre(0)
//   norm_forward / norm_backward            x -> ln*.hook_scale, ln*.hook_normalized -> affine
//   attention_forward / attention_backward  resid_pre -> q k v (rot) scores pattern z (result) attn_out
//   mlp_forward / mlp_backward              normed input -> pre (pre_linear) post mlp_out
//   block_forward / block_backward          one layer's residual wiring (sequential, parallel, attention-only)
//   unembed_forward / unembed_backward      resid -> ln_final -> logits
//
// Engine::forward and Engine::backward are short drivers over these. Every
// activation lives in the slice of its hook site: a scratch buffer of the
// Engine reused by every layer, or, for a kept site, a tensor of its own.
#pragma once
#include <cstdint>
#include <vector>

#include "glassbox/engine.h"

namespace glassbox::detail {

class LargeBuffer;

struct ForwardPass {
  const Config& c;
  const Weights& w;
  const HookRegistry* hooks;
  const ForwardOptions& opt;
  LargeBuffer* scratch;         // [kSiteCount]
  std::vector<Tensor>& spare;   // the last pass's tensors, for reuse
  ForwardResult& res;
  KVCache* kv;
  int64_t B, T, N, Tk, past;
  std::vector<int32_t> pos;        // [B*T] position ids
  std::vector<uint8_t> key_valid;  // [B, Tk]
  std::vector<float>& ln_out;      // a norm's affine output (the projections' input)
  std::vector<float>& last_rows;   // [B, d] the rows LogitsMode::Last unembeds
  // The last block of a LogitsMode::Last pass run for each row's last
  // position only (forward.cpp): one query per row, continuing the keys and
  // values of every position from a KV cache, through the tiled attention
  // kernels as in a full pass, so the logits are the full pass's.
  bool last_query_only = false;

  bool kept(Site s, int l) const;
  bool hooked(Site s, int l) const { return hooks && hooks->has({s, l}); }
  bool wanted(Site s, int l) const { return kept(s, l) || hooked(s, l); }
  // The slice for site s of layer l: a fresh kept tensor or the site's scratch.
  // Call once per site and pass: a kept site gets a new tensor each call.
  float* slice(Site s, int l);
  void fire(Site s, int l, float* data);
};

// A kept tensor of the last pass the caller has released, else a new one.
Tensor take_spare(std::vector<Tensor>& spare, const Shape& shape);

struct BackwardPass {
  BackwardPass(const Config& c_, const Weights& w_, const HookRegistry* h, const ForwardResult& f, const Weights* g,
               int64_t B_, int64_t T_)
      : c(c_), w(w_), hooks(h), fwd(f), G(g), B(B_), T(T_), N(B_ * T_) {}
  const Config& c;
  const Weights& w;
  const HookRegistry* hooks;
  const ForwardResult& fwd;
  const Weights* G;  // weight gradients (accumulated) or null
  int64_t B, T, N;
  std::vector<int32_t> pos;
  // Gradient buffers, named by what they hold; reused across layers.
  std::vector<float> d_resid;                      // the residual stream's gradient, [N, d]
  // d(a norm block's output): what the unembedding, the MLP and attention
  // hand back to ln_final, ln2 and ln1 in turn (one at a time, so one buffer).
  std::vector<float> d_norm_out;
  std::vector<float> d_normalized, d_scale, ln_out;  // norm blocks (ln_out: a recomputed norm output)
  std::vector<float> d_post, d_pre, d_pre_linear;                          // MLP
  std::vector<float> d_attn_out, d_result, dz, d_pattern, d_scores, dv;  // attention
  std::vector<float> d_rot_q, d_rot_k, dq, dk;
  std::vector<float> d_post_in;      // a post-norm's input gradient (Config::post_norms)
  std::vector<float> capped_scores;  // scores recomputed for the soft-cap's backward (Config::attn_softcap)
  std::vector<float> d_logits;       // dlogits through the final soft-cap (Config::final_softcap)

  const float* act(Site s, int l) const;  // a kept activation; Error if the forward did not keep it
  void grad(Site s, int l, float* g) const;
  bool wants_grad(Site s, int l) const { return hooks && hooks->has_grad({s, l}); }
};

// Zeroed scratch of n floats, reused.
float* zeros(std::vector<float>& buf, int64_t n);
// Gradient buffers are laid out like the (read-only) weights: views of them are writable.
inline float* mut(const float* p) { return const_cast<float*>(p); }
inline MutMatRef mut(const MatRef& m) { return {mut(m.data), m.rows, m.cols, m.rs, m.cs}; }

// ---- block pairs. Forward functions return the block's output slice.
float* embed_forward(ForwardPass& p, const int32_t* tokens);  // resid_pre(0)
void embed_backward(BackwardPass& p, const int32_t* tokens, const float* dx);

const float* norm_forward(ForwardPass& p, Site scale_site, Site norm_site, int l, const float* x, const float* w,
                          const float* b);
// dx += d(x) of x -> normalized -> affine(w, b), given dout; fires the norm's grad hooks.
void norm_backward(BackwardPass& p, Site scale_site, Site norm_site, int l, float* dx, const float* dout,
                   const float* w, const float* b, float* dw, float* db);
// Recomputes a norm's output (a projection's input) from the kept normalized
// value, or the residual stream itself without normalisation.
// A post-norm (Config::post_norms) applied in place to a branch's output x
// (attention's or the MLP's), firing its scale / normalized hooks.
void post_norm_forward(ForwardPass& p, Site scale_site, Site norm_site, int l, float* x, const float* w);
// d(the branch's raw output) given d(its normed output), into a buffer of p.
const float* post_norm_backward(BackwardPass& p, Site scale_site, Site norm_site, int l, const float* dout,
                                const float* w, const float* dw);
const float* norm_output(BackwardPass& p, Site norm_site, int norm_layer, Site resid_site, int resid_layer,
                         const float* w, const float* b);

float* attention_forward(ForwardPass& p, int l, const float* x);  // attn_out
// Layer l's keys (rotated where rotary) and values of every position, [N, n_kv_heads*d_head]
// each, as attention_forward computes them from resid_pre x; hooks on ln1 fire.
void keys_values_forward(ForwardPass& p, int l, const float* x, float* rk, float* v);
// dx (d resid_mid, or d resid_post plus the MLP branch) += attention's input
// gradient, given d_attn_out: dx becomes d resid_pre.
void attention_backward(BackwardPass& p, int l, const float* d_attn_out, float* dx);

float* mlp_forward(ForwardPass& p, int l, const float* in);  // mlp_out
// d(normed input) given d_mlp_out (a buffer of p).
const float* mlp_backward(BackwardPass& p, int l, const float* d_mlp_out);

float* block_forward(ForwardPass& p, int l, float* x);  // resid_post(l), given resid_pre(l)
void block_backward(BackwardPass& p, int l, float* dx);  // dx: d resid_post(l) -> d resid_pre(l)

void unembed_forward(ForwardPass& p, const float* x);
// dx = d(final residual) given dlogits (all positions, or the last of each row).
void unembed_backward(BackwardPass& p, const float* dlogits, bool last_only, float* dx);

}  // namespace glassbox::detail
