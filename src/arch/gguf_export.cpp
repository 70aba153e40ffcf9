// Model -> llama.cpp GGUF ("gpt2" or "llama"). Tensor names come from the
// table the GGUF loaders read by (arch/gguf_names.h); each weight is gathered
// from glassbox's strided views into llama.cpp's layout: nn.Linear [out, in]
// matrices, GPT-2's Q|K|V rows fused into attn_qkv, and Llama's attn_q /
// attn_k rows permuted within each head as convert_hf_to_gguf.py does (llama.cpp
// rotates adjacent pairs; gguf_llama.cpp undoes the permutation on load).
#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>

#include "arch/gguf_names.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/gguf_export.h"
#include "glassbox/model.h"
#include "glassbox/tokenizer.h"

namespace glassbox {

namespace {

using detail::GgufTensor;
using detail::gguf_name;

std::string unsupported(const Config& c, const std::string& what) {
  return "model family '" + c.family + "' has " + what +
         ", which neither llama.cpp architecture 'gpt2' nor 'llama' computes";
}

// Gathers weights into owned buffers (kept alive until the file is written).
class Gather {
 public:
  Gather(GgufWriter& w, DType matrix_dtype) : w_(w), dtype_(matrix_dtype) {}

  // A vector (norm weight, bias): always F32, as convert_hf_to_gguf.py keeps them.
  void vec(const std::string& name, const float* x, int64_t n) {
    std::vector<float>& v = f32_.emplace_back(x ? std::vector<float>(x, x + n) : std::vector<float>(size_t(n), 0.f));
    w_.tensors.push_back({name, DType::F32, {n}, v.data(), v.size() * sizeof(float)});
  }
  // A row-major [rows, cols] matrix.
  void rows(const std::string& name, const float* x, int64_t rows, int64_t cols) {
    matrix(name, std::vector<float>(x, x + rows * cols), rows, cols);
  }
  // The same of a table kept quantised (a keep_quantized load), dequantised.
  void rows(const std::string& name, const QuantMat& q) {
    std::vector<float> x(size_t(q.n_rows * q.row_len));
    for (int64_t r = 0; r < q.n_rows; ++r) q.dequantize_row(r, &x[size_t(r * q.row_len)]);
    matrix(name, std::move(x), q.n_rows, q.row_len);
  }
  // nn.Linear layout [out, in] of a MatRef mapping in -> out.
  void linear(const std::string& name, const MatRef& W) {
    std::vector<float> out(size_t(W.rows * W.cols));
    if (W.q) {  // kept quantised: its logical rows are the output features
      std::vector<float> row(size_t(W.q->row_len));
      for (int64_t o = 0; o < W.cols; ++o) {
        W.q->dequantize_row(W.q_row0 + o, row.data());
        std::copy_n(row.data() + W.q_col0, W.rows, &out[size_t(o * W.rows)]);
      }
      matrix(name, std::move(out), W.cols, W.rows);
      return;
    }
    for (int64_t o = 0; o < W.cols; ++o)
      for (int64_t i = 0; i < W.rows; ++i) out[o * W.rows + i] = W.data[i * W.rs + o * W.cs];
    matrix(name, std::move(out), W.cols, W.rows);
  }
  void matrix(const std::string& name, std::vector<float> x, int64_t rows, int64_t cols) {
    if (dtype_ == DType::F32) {
      std::vector<float>& v = f32_.emplace_back(std::move(x));
      w_.tensors.push_back({name, DType::F32, {rows, cols}, v.data(), v.size() * sizeof(float)});
      return;
    }
    std::vector<uint16_t>& h = f16_.emplace_back(x.size());
    for (size_t i = 0; i < x.size(); ++i) h[i] = f32_to_f16(x[i]);
    w_.tensors.push_back({name, DType::F16, {rows, cols}, h.data(), h.size() * sizeof(uint16_t)});
  }

 private:
  GgufWriter& w_;
  DType dtype_;
  std::deque<std::vector<float>> f32_;
  std::deque<std::vector<uint16_t>> f16_;
};

// Rows [n_heads * d_head, d_model] of a per-head projection; with
// `rope_permute`, row j of each head goes where llama.cpp's permute() puts it
// (original row s*half + i -> 2*i + s).
std::vector<float> head_rows(const HeadProj& p, bool rope_permute) {
  const int64_t dh = p.d_head, d = p.d_model, half = dh / 2;
  std::vector<float> out(size_t(p.n_heads * dh * d));
  for (int h = 0; h < p.n_heads; ++h)
    for (int64_t j = 0; j < dh; ++j) {
      const int64_t to = rope_permute ? (j < half ? 2 * j : 2 * (j - half) + 1) : j;
      float* row = out.data() + (h * dh + to) * d;
      if (p.q) {  // kept quantised: logical row j of head h (a quantised row is one head row, d wide)
        p.q->dequantize_row(p.head(h).q_row0 + j, row);
        continue;
      }
      const float* base = p.w + h * p.head_stride + j * p.cs;
      for (int64_t i = 0; i < d; ++i) row[i] = base[i * p.rs];
    }
  return out;
}

std::vector<float> head_bias(const HeadProj& p) {
  std::vector<float> out(size_t(p.n_heads) * p.d_head, 0.f);
  if (p.b)
    for (int h = 0; h < p.n_heads; ++h)
      for (int j = 0; j < p.d_head; ++j) out[size_t(h) * p.d_head + j] = p.b[h * p.b_head_stride + j];
  return out;
}

void write_gpt2_tensors(const Model& m, Gather& g) {
  const Config& c = m.config();
  const Weights& w = m.weights();
  const int64_t d = c.d_model, m_ = c.d_mlp;
  g.rows(gguf_name(GgufTensor::TokenEmbd), w.W_E, c.d_vocab, d);
  g.rows(gguf_name(GgufTensor::PosEmbd), w.W_pos, c.n_ctx, d);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    g.vec(gguf_name(GgufTensor::AttnNorm, l), lw.ln1_w, d);
    g.vec(gguf_name(GgufTensor::AttnNormBias, l), lw.ln1_b, d);
    std::vector<float> qkv, qkv_b;
    for (const HeadProj* p : {&lw.W_Q, &lw.W_K, &lw.W_V}) {
      const std::vector<float> r = head_rows(*p, false), b = head_bias(*p);
      qkv.insert(qkv.end(), r.begin(), r.end());
      qkv_b.insert(qkv_b.end(), b.begin(), b.end());
    }
    g.matrix(gguf_name(GgufTensor::AttnQkv, l), std::move(qkv), 3 * d, d);
    g.vec(gguf_name(GgufTensor::AttnQkvBias, l), qkv_b.data(), 3 * d);
    g.linear(gguf_name(GgufTensor::AttnOut, l), lw.W_O);
    g.vec(gguf_name(GgufTensor::AttnOutBias, l), lw.b_O, d);
    g.vec(gguf_name(GgufTensor::FfnNorm, l), lw.ln2_w, d);
    g.vec(gguf_name(GgufTensor::FfnNormBias, l), lw.ln2_b, d);
    g.linear(gguf_name(GgufTensor::FfnUp, l), lw.W_in);
    g.vec(gguf_name(GgufTensor::FfnUpBias, l), lw.b_in, m_);
    g.linear(gguf_name(GgufTensor::FfnDown, l), lw.W_out);
    g.vec(gguf_name(GgufTensor::FfnDownBias, l), lw.b_out, d);
  }
  g.vec(gguf_name(GgufTensor::OutputNorm), w.ln_final_w, d);
  g.vec(gguf_name(GgufTensor::OutputNormBias), w.ln_final_b, d);
}

void write_llama_tensors(const Model& m, Gather& g) {
  const Config& c = m.config();
  const Weights& w = m.weights();
  const int64_t d = c.d_model, dh = c.d_head;
  if (w.W_E_q) g.rows(gguf_name(GgufTensor::TokenEmbd), *w.W_E_q);
  else g.rows(gguf_name(GgufTensor::TokenEmbd), w.W_E, c.d_vocab, d);
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string where = m.source() + ": layer " + std::to_string(l);
    if (lw.ln1_b || lw.ln2_b) fail(where, ": norm biases have no place in a GGUF 'llama' model");
    if (lw.W_Q.b || lw.W_K.b || lw.W_V.b) fail(where, ": Q/K/V biases are not exported to GGUF 'llama' yet");
    if (lw.b_in || lw.b_gate || lw.b_out) fail(where, ": MLP biases are not exported to GGUF 'llama' yet");
    g.vec(gguf_name(GgufTensor::AttnNorm, l), lw.ln1_w, d);
    g.matrix(gguf_name(GgufTensor::AttnQ, l), head_rows(lw.W_Q, true), c.n_heads * dh, d);
    g.matrix(gguf_name(GgufTensor::AttnK, l), head_rows(lw.W_K, true), c.n_kv_heads * dh, d);
    g.matrix(gguf_name(GgufTensor::AttnV, l), head_rows(lw.W_V, false), c.n_kv_heads * dh, d);
    g.linear(gguf_name(GgufTensor::AttnOut, l), lw.W_O);
    if (lw.b_O) g.vec(gguf_name(GgufTensor::AttnOutBias, l), lw.b_O, d);
    g.vec(gguf_name(GgufTensor::FfnNorm, l), lw.ln2_w, d);
    g.linear(gguf_name(GgufTensor::FfnGate, l), lw.W_gate);
    g.linear(gguf_name(GgufTensor::FfnUp, l), lw.W_in);
    g.linear(gguf_name(GgufTensor::FfnDown, l), lw.W_out);
  }
  if (w.ln_final_b) fail(m.source(), ": final norm bias has no place in a GGUF 'llama' model");
  if (!c.rope_freq_factors.empty())
    g.vec(gguf_name(GgufTensor::RopeFreqs), c.rope_freq_factors.data(), int64_t(c.rope_freq_factors.size()));
  g.vec(gguf_name(GgufTensor::OutputNorm), w.ln_final_w, d);
}

}  // namespace

std::string gguf_architecture(const Config& c) {
  const auto check = [&c](bool ok, const std::string& what) {
    if (!ok) fail(unsupported(c, what));
  };
  check(!c.attn_only && c.d_mlp > 0, "no MLP (attention-only)");
  check(!c.parallel_residual, "parallel attention and MLP");
  check(c.d_head * c.n_heads == c.d_model, "d_head * n_heads != d_model");
  check(!c.post_norms && c.embed_scale == 1.f && c.attn_softcap == 0.f && c.final_softcap == 0.f &&
            c.sliding_window == 0,
        "Gemma-2 features (post-norms, embedding scale, soft-capping, sliding windows)");
  check(c.attn_scale == 0.f || std::fabs(c.attn_scale * std::sqrt(float(c.d_head)) - 1.f) < 1e-6f,
        "an attention scale other than 1/sqrt(d_head)");
  if (c.norm == NormKind::LayerNorm && c.positional == PosKind::Learned) {
    check(c.act == ActKind::GeluNew, std::string("activation '") + to_string(c.act) + "' (gpt2: gelu_new)");
    check(!c.gated_mlp, "a gated MLP with LayerNorm");
    check(c.n_kv_heads == c.n_heads, "grouped-query attention with LayerNorm");
    return "gpt2";
  }
  if (c.norm == NormKind::RMSNorm && c.positional == PosKind::Rotary) {
    check(c.act == ActKind::Silu && c.gated_mlp, "an MLP other than SwiGLU with RMSNorm");
    check(c.rotary_dim == c.d_head, "partial rotary embeddings");
    return "llama";
  }
  fail(unsupported(c, std::string(to_string(c.norm)) + " with " + to_string(c.positional) + " positions"));
}

void save_gguf(const Model& m, const std::string& path, const GgufExportOptions& opt) {
  const Config& c = m.config();
  std::string arch;
  try {
    arch = gguf_architecture(c);
  } catch (const Error& e) {
    fail(m.source(), ": cannot export to GGUF: ", e.what());
  }
  if (opt.dtype != DType::F32 && opt.dtype != DType::F16)
    fail(path, ": GGUF export writes F32 or F16 weights, not ", to_string(opt.dtype));
  if (m.weights().b_U) fail(m.source(), ": an unembedding bias has no place in a GGUF '", arch, "' model");

  GgufWriter w;
  const auto key = [&arch](const char* k) { return arch + "." + k; };
  w.set("general.architecture", gguf_str(arch));
  w.set("general.name", gguf_str(opt.name.empty() ? std::filesystem::path(m.source()).filename().string() : opt.name));
  w.set("general.file_type", gguf_u32(opt.dtype == DType::F32 ? 0 : 1));  // llama_ftype ALL_F32 / MOSTLY_F16
  w.set(key("context_length"), gguf_u32(uint32_t(c.n_ctx)));
  w.set(key("embedding_length"), gguf_u32(uint32_t(c.d_model)));
  w.set(key("block_count"), gguf_u32(uint32_t(c.n_layers)));
  w.set(key("feed_forward_length"), gguf_u32(uint32_t(c.d_mlp)));
  w.set(key("attention.head_count"), gguf_u32(uint32_t(c.n_heads)));
  w.set(key("vocab_size"), gguf_u32(uint32_t(c.d_vocab)));
  if (arch == "gpt2") {
    w.set(key("attention.layer_norm_epsilon"), gguf_f32(c.norm_eps));
  } else {
    w.set(key("attention.head_count_kv"), gguf_u32(uint32_t(c.n_kv_heads)));
    w.set(key("attention.layer_norm_rms_epsilon"), gguf_f32(c.norm_eps));
    w.set(key("rope.dimension_count"), gguf_u32(uint32_t(c.rotary_dim)));
    w.set(key("rope.freq_base"), gguf_f32(c.rope_theta));
  }
  const Tokenizer* tok = opt.tokenizer ? opt.tokenizer : m.tokenizer();
  if (tok) {
    // Both readers take the vocabulary size from the token list.
    if (tok->vocab_size() != c.d_vocab)
      fail(path, ": the tokenizer has ", tok->vocab_size(), " tokens, the model's embedding ", c.d_vocab,
           " rows; GGUF needs one token per row");
    tok->to_gguf(w);
  }

  Gather g(w, opt.dtype);
  if (arch == "gpt2") write_gpt2_tensors(m, g);
  else write_llama_tensors(m, g);
  // Tied embeddings: no output.weight (both loaders then reuse token_embd).
  if (!c.tied_embeddings) g.linear(gguf_name(GgufTensor::Output), m.weights().W_U);
  w.save(path);
}

}  // namespace glassbox
