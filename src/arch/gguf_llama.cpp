// llama.cpp GGUF, the Llama-style architectures: "llama" (Llama-2/3, Mistral),
// "qwen2" (Q/K/V biases) and "phi3" (fused attn_qkv, gate|up fused in ffn_up).
// Tensors token_embd / blk.{l}.attn_q ... / output. For "llama",
// convert_hf_to_gguf.py permutes the rows of attn_q / attn_k so llama.cpp can
// rotate adjacent pairs; we undo that permutation at load (a row map over
// tensors kept quantised, a copy otherwise) so the engine (and hook_q /
// hook_rot_q) see exactly the Hugging Face layout. "qwen2" and
// "phi3" use NeoX-style rotation and are stored unpermuted.
#include "arch/family.h"
#include "arch/gguf_config.h"
#include "arch/gguf_names.h"

namespace glassbox::detail {

Config gguf_llama_config(const ConfigSource& s) {
  GgufKeys k(*s.gguf);
  Config c;
  c.family = s.gguf->kv("general.architecture").as_string("general.architecture");
  c.d_model = k.u("embedding_length");
  c.n_layers = k.u("block_count");
  c.n_heads = k.u("attention.head_count");
  c.n_kv_heads = k.u_opt("attention.head_count_kv", c.n_heads);
  c.d_mlp = k.u("feed_forward_length");
  c.n_ctx = k.u("context_length");
  // attention.key_length: a head size independent of d_model / n_heads (gemma2 writes it; llama.cpp reads it for all)
  c.d_head = k.u_opt("attention.key_length", c.n_heads ? c.d_model / c.n_heads : 0);
  c.d_vocab = k.vocab_size();
  c.norm = NormKind::RMSNorm;
  c.norm_eps = float(k.f_opt("attention.layer_norm_rms_epsilon", 1e-5));
  c.positional = PosKind::Rotary;
  c.rotary_dim = k.u_opt("rope.dimension_count", c.d_head);
  c.rope_theta = float(k.f_opt("rope.freq_base", 10000.0));
  c.act = ActKind::Silu;
  c.gated_mlp = true;
  c.tied_embeddings = s.gguf->find(gguf_name(GgufTensor::Output)) == nullptr;
  c.n_ctx = cap_context_at_window(c.n_ctx, k.u_opt("attention.sliding_window", 0));
  if (const RawTensor* f = s.gguf->find(gguf_name(GgufTensor::RopeFreqs))) {
    if (f->shape != Shape{c.rotary_dim / 2})
      fail(s.where, ": tensor '", f->name, "' has shape ", shape_str(f->shape), "; [", c.rotary_dim / 2,
           "] (rope.dimension_count / 2) was expected");
    c.rope_freq_factors.resize(size_t(c.rotary_dim / 2));
    to_f32(c.rope_freq_factors.data(), f->data, f->dtype, f->numel());
  }
  return c;
}

// Inverse of llama.cpp's permute(w, n_head): within each head, permuted row
// 2*i + s holds original row s*(d_head/2) + i.
static const float* unpermute_rows(WeightLoader& ld, const std::string& name, int n_heads,
                                   const Config& c) {
  const int64_t dh = c.d_head, d = c.d_model, half = dh / 2;
  const float* src = ld.get_copy(name, {n_heads * dh, d});
  float* dst = ld.alloc(size_t(n_heads * dh * d));
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t s = 0; s < 2; ++s) {
        const float* from = src + (h * dh + 2 * i + s) * d;
        float* to = dst + (h * dh + s * half + i) * d;
        std::copy(from, from + d, to);
      }
  return dst;
}

// The same inverse permutation as a row map: logical row s*half + i of head h
// reads stored row 2*i + s, so quantised Q/K stay in the file's order.
static std::vector<int32_t> unpermute_map(int n_heads, const Config& c) {
  const int64_t dh = c.d_head, half = dh / 2;
  std::vector<int32_t> map(size_t(n_heads * dh));
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t s = 0; s < 2; ++s) map[size_t(h * dh + s * half + i)] = int32_t(h * dh + 2 * i + s);
  return map;
}

// Heads stored as rows [row0, row0 + n_heads * d_head) of a quantised [rows, d] matrix.
static HeadProj quant_heads(const QuantMat* q, const float* b, int64_t row0, int n_heads, const Config& c) {
  // linear_heads only offsets its pointer argument; the strides are what a float view would have.
  HeadProj p = linear_heads(nullptr, b, 0, c.d_head, c, n_heads);
  p.w = nullptr;
  p.q = q;
  p.q_row0 = row0;
  return p;
}

// Rows [row0, row0 + out) of a quantised [rows, in] matrix, as an nn.Linear view.
static MatRef quant_linear(const QuantMat* q, int64_t row0, int64_t out, int64_t in) {
  return {nullptr, in, out, 1, in, q, row0, 0};
}

// A projection's heads: a quantised view when the loader keeps quantised
// tensors, else F32; llama's permuted Q/K rows through a row map or a copy.
static HeadProj heads(WeightLoader& ld, const std::string& name, const std::string& bias, int n_heads,
                      bool permuted, const Config& c) {
  const int64_t rows = int64_t(n_heads) * c.d_head;
  const float* b = ld.get_opt(bias, {rows});
  const std::vector<int32_t> map = permuted ? unpermute_map(n_heads, c) : std::vector<int32_t>{};
  if (const QuantMat* q = ld.quant(name, {rows, c.d_model}, permuted ? map.data() : nullptr))
    return quant_heads(q, b, 0, n_heads, c);
  const float* W = permuted ? unpermute_rows(ld, name, n_heads, c) : ld.get(name, {rows, c.d_model});
  return linear_heads(W, b, 0, c.d_head, c, n_heads);
}

// An [out, in] matrix: a quantised view when kept quantised, else F32.
static MatRef linear_any(WeightLoader& ld, const std::string& name, int64_t out, int64_t in) {
  if (const QuantMat* q = ld.quant(name, {out, in})) return quant_linear(q, 0, out, in);
  return linear(ld.get(name, {out, in}), out, in);
}

void gguf_llama_weights(WeightLoader& ld, const Config& c, Weights& w) {
  using T = GgufTensor;
  const int64_t d = c.d_model, m = c.d_mlp, V = c.d_vocab, dh = c.d_head;
  const int64_t q_out = int64_t(c.n_heads) * dh, kv_out = int64_t(c.n_kv_heads) * dh;
  const bool permuted = c.family == "llama";  // see the top of this file
  w.W_E_q = ld.quant(gguf_name(T::TokenEmbd), {V, d});
  w.W_E = w.W_E_q ? nullptr : ld.get(gguf_name(T::TokenEmbd), {V, d});
  w.layers.resize(c.n_layers);
  for (int l = 0; l < c.n_layers; ++l) {
    auto& lw = w.layers[l];
    lw.ln1_w = ld.get(gguf_name(T::AttnNorm, l), {d});
    lw.ln2_w = ld.get(gguf_name(T::FfnNorm, l), {d});
    if (const std::string qkv = gguf_name(T::AttnQkv, l); ld.has(qkv)) {  // phi3: Q | K | V rows of one matrix
      if (const QuantMat* q = ld.quant(qkv, {q_out + 2 * kv_out, d})) {
        lw.W_Q = quant_heads(q, nullptr, 0, c.n_heads, c);
        lw.W_K = quant_heads(q, nullptr, q_out, c.n_kv_heads, c);
        lw.W_V = quant_heads(q, nullptr, q_out + kv_out, c.n_kv_heads, c);
      } else {
        const float* W = ld.get(qkv, {q_out + 2 * kv_out, d});
        lw.W_Q = linear_heads(W, nullptr, 0, dh, c, c.n_heads);
        lw.W_K = linear_heads(W, nullptr, q_out, dh, c, c.n_kv_heads);
        lw.W_V = linear_heads(W, nullptr, q_out + kv_out, dh, c, c.n_kv_heads);
      }
    } else {
      lw.W_Q = heads(ld, gguf_name(T::AttnQ, l), gguf_name(T::AttnQBias, l), c.n_heads, permuted, c);
      lw.W_K = heads(ld, gguf_name(T::AttnK, l), gguf_name(T::AttnKBias, l), c.n_kv_heads, permuted, c);
      lw.W_V = heads(ld, gguf_name(T::AttnV, l), gguf_name(T::AttnVBias, l), c.n_kv_heads, false, c);
    }
    lw.W_O = linear_any(ld, gguf_name(T::AttnOut, l), d, q_out);
    lw.b_O = ld.get_opt(gguf_name(T::AttnOutBias, l), {d});
    if (ld.has(gguf_name(T::FfnGate, l))) {
      lw.W_gate = linear_any(ld, gguf_name(T::FfnGate, l), m, d);
      lw.W_in = linear_any(ld, gguf_name(T::FfnUp, l), m, d);
    } else if (const QuantMat* q = ld.quant(gguf_name(T::FfnUp, l), {2 * m, d})) {
      // phi3: ffn_up holds gate | up, gate first (llama.cpp's LLM_FFN_SWIGLU split)
      lw.W_gate = quant_linear(q, 0, m, d);
      lw.W_in = quant_linear(q, m, m, d);
    } else {
      const float* gate_up = ld.get(gguf_name(T::FfnUp, l), {2 * m, d});
      lw.W_gate = linear(gate_up, m, d);
      lw.W_in = linear(gate_up + m * d, m, d);
    }
    lw.W_out = linear_any(ld, gguf_name(T::FfnDown, l), d, m);
    if (c.post_norms) {  // gemma2
      lw.ln1_post_w = ld.get(gguf_name(T::AttnPostNorm, l), {d});
      lw.ln2_post_w = ld.get(gguf_name(T::FfnPostNorm, l), {d});
    }
  }
  w.ln_final_w = ld.get(gguf_name(T::OutputNorm), {d});
  if (!c.tied_embeddings) w.W_U = linear_any(ld, gguf_name(T::Output), V, d);
  else if (w.W_E_q) w.W_U = quant_linear(w.W_E_q, 0, V, d);
  else w.W_U = linear(w.W_E, V, d);
}

// rope_freqs is read into the Config (rope_freq_factors), not the weights.
const Family kGgufLlamaFamily{{"gguf:llama", "gguf:qwen2", "gguf:phi3"},
                              gguf_llama_config,
                              gguf_llama_weights,
                              {"rope_freqs.weight"}};

}  // namespace glassbox::detail
