// Random-weight Llama GGUF written block by block (glassbox/gguf_random.h).
// The K-quant byte layouts are ggml-common.h's (see core/quant_k.cpp):
//   Q4_K  d, dmin (f16), scales[12] (eight 6-bit scale/min pairs), qs[128]  144 B
//         value = d * sc * q - dmin * m,  q in [0, 15]
//   Q6_K  ql[128], qh[64], scales[16] (int8), d (f16)                        210 B
//         value = d * sc * (q - 32),      q in [0, 63]
// Random q are uniform, so a value's standard deviation is d * sc * 4.61 (Q4_K,
// sqrt((16^2 - 1) / 12)) or d * sc * 18.47 (Q6_K); d is chosen from that for
// the wanted sigma. Q4_K's mins cancel the mean 7.5 * d * sc up to rounding.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <cstring>
#include <vector>

#include "arch/gguf_names.h"
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/gguf_random.h"
#include "glassbox/tensor.h"
#include "io/gguf_streamed.h"
#include "tokenizer/byte_level.h"

namespace glassbox {
namespace {

using detail::GgufTensor;
using detail::gguf_name;

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

void random_bytes(uint64_t& s, uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t r = splitmix64(s);
    std::memcpy(dst + i, &r, std::min<size_t>(8, n - i));
  }
}

// A uniform number in [0, 1).
float unit(uint64_t& s) { return float(splitmix64(s) >> 40) / float(1ull << 24); }

void put_f16(uint8_t* p, uint16_t h) {
  p[0] = uint8_t(h & 0xff);
  p[1] = uint8_t(h >> 8);
}

// Each block's f16 d is the tensor's base scale times a random factor in
// [0.75, 1.25): real files vary block to block, and so do these.
void q4_k_block(uint64_t& s, float sigma, uint8_t* b) {
  constexpr int kScMin = 8, kScSpan = 24;  // sc in [8, 31], mean 19.5
  const uint16_t dh = f32_to_f16(sigma / (4.61f * 19.5f) * (0.75f + 0.5f * unit(s)));
  const float d = f16_to_f32(dh);
  const uint16_t dminh = f32_to_f16(4.f * d);  // exact: a power-of-two multiple
  const float dmin = f16_to_f32(dminh);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = uint8_t(kScMin + splitmix64(s) % kScSpan);
    const long mj = dmin > 0 ? std::lround(7.5f * sc[j] * d / dmin) : 0;  // <= 58: fits 6 bits
    m[j] = uint8_t(std::min<long>(mj, 63));
  }
  put_f16(b, dh);
  put_f16(b + 2, dminh);
  uint8_t* q = b + 4;  // the inverse of quant_k.cpp's scale_min_k4
  for (int j = 0; j < 4; ++j) {
    q[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
    q[j + 4] = uint8_t(m[j] | ((m[j + 4] >> 4) << 6));
    q[j + 8] = uint8_t((sc[j + 4] & 0x0f) | ((m[j + 4] & 0x0f) << 4));
  }
  random_bytes(s, b + 16, 128);
}

void q6_k_block(uint64_t& s, float sigma, uint8_t* b) {
  constexpr int kScMin = 2, kScSpan = 6;  // sc in [2, 7], mean 4.5: keeps d above f16's subnormals
  random_bytes(s, b, 128 + 64);           // ql, qh
  for (int j = 0; j < 16; ++j) b[192 + j] = uint8_t(int8_t(kScMin + splitmix64(s) % kScSpan));
  put_f16(b + 208, f32_to_f16(sigma / (18.47f * 4.5f) * (0.75f + 0.5f * unit(s))));
}

int parse_int(std::string_view key, std::string_view v) {
  size_t used = 0;
  long long x = 0;
  try {
    x = std::stoll(std::string(v), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || x < 1 || x > INT32_MAX)
    fail("random model spec: ", key, "=", v, " is not a positive integer");
  return int(x);
}

float parse_float(std::string_view key, std::string_view v) {
  size_t used = 0;
  float x = 0;
  try {
    x = std::stof(std::string(v), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || !(x > 0) || !std::isfinite(x))
    fail("random model spec: ", key, "=", v, " is not a positive number");
  return x;
}

void check_spec(const RandomLlamaSpec& s) {
  const auto need = [](bool ok, const auto&... what) {
    if (!ok) fail("random model spec: ", what...);
  };
  need(s.d_model % 256 == 0, "d_model ", s.d_model, " is not a multiple of 256 (the K-quant super-block)");
  need(s.d_mlp % 256 == 0, "d_mlp ", s.d_mlp, " is not a multiple of 256 (the K-quant super-block)");
  need(s.d_model % s.n_heads == 0, "d_model ", s.d_model, " is not a multiple of heads ", s.n_heads);
  need((s.d_model / s.n_heads) % 2 == 0, "d_head ", s.d_model / s.n_heads, " is odd (RoPE rotates pairs)");
  need(s.n_heads % s.n_kv_heads == 0, "heads ", s.n_heads, " is not a multiple of kv_heads ", s.n_kv_heads);
  need(s.d_vocab >= 260, "vocab ", s.d_vocab, " is below 260 (256 byte tokens and the special tokens)");
}

// The synthetic vocabulary: byte symbols, then byte-pair and pair+byte
// merges (printable ASCII first, so ordinary text merges), then specials.
struct Vocab {
  std::vector<std::string> tokens, merges;
  std::vector<int32_t> types;
  int32_t bos = 0, eos = 0;
};

Vocab synthetic_vocab(int d_vocab) {
  const detail::ByteLevelTable& t = detail::byte_level_table();
  const auto sym = [&t](int byte) { return std::string(t.utf8[byte], t.utf8_len[byte]); };
  std::vector<int> order;  // bytes by how common they are in text, roughly
  const auto add = [&order](int lo, int hi) {
    for (int b = lo; b <= hi; ++b)
      if (std::find(order.begin(), order.end(), b) == order.end()) order.push_back(b);
  };
  add(' ', ' '), add('a', 'z'), add('A', 'Z'), add('0', '9'), add('!', '~'), add('\n', '\n'), add(0, 255);

  const int n_special = std::min(256, (d_vocab - 256) / 2);
  const int n_merges = d_vocab - 256 - n_special;
  Vocab v;
  v.tokens.reserve(size_t(d_vocab));
  v.merges.reserve(size_t(n_merges));
  for (int b = 0; b < 256; ++b) v.tokens.push_back(sym(b));
  std::vector<std::string> pairs;
  const auto merge = [&](const std::string& a, const std::string& b) {
    if (int(v.merges.size()) >= n_merges) return;
    v.merges.push_back(a + " " + b);
    v.tokens.push_back(a + b);
  };
  // Pairs of the first i+1 symbols before any pair with a later one.
  for (int i = 0; i < 256; ++i)
    for (int j = 0; j <= i; ++j) {
      pairs.push_back(sym(order[i]) + sym(order[j]));
      merge(sym(order[i]), sym(order[j]));
      if (j == i) continue;
      pairs.push_back(sym(order[j]) + sym(order[i]));
      merge(sym(order[j]), sym(order[i]));
    }
  for (size_t p = 0; p < pairs.size() && int(v.merges.size()) < n_merges; ++p)
    for (int c : order) merge(pairs[p], sym(c));
  if (int(v.merges.size()) != n_merges) fail("random model spec: vocab ", d_vocab, " is too large for the synthetic vocabulary");
  v.types.assign(v.tokens.size(), 1);  // llama.cpp's NORMAL
  v.bos = int32_t(v.tokens.size());
  v.eos = v.bos + 1;
  for (int k = 0; k < n_special; ++k) {
    v.tokens.push_back(k == 0   ? "<|begin_of_text|>"
                       : k == 1 ? "<|end_of_text|>"
                                : "<|reserved_special_token_" + std::to_string(k - 2) + "|>");
    v.types.push_back(3);  // CONTROL
  }
  return v;
}

struct Planned {
  DType dtype;
  float sigma;  // standard deviation of the values (quantised tensors)
  uint64_t seed;
};

}  // namespace

RandomLlamaSpec parse_random_llama_spec(std::string_view spec) {
  RandomLlamaSpec s;
  const size_t comma = spec.find(',');
  const std::string_view preset = spec.substr(0, comma);
  if (preset != "llama3-8b") fail("random model spec '", spec, "': unknown preset '", preset, "' (known: llama3-8b)");
  std::string_view rest = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
  while (!rest.empty()) {
    const size_t next = rest.find(',');
    const std::string_view item = rest.substr(0, next);
    rest = next == std::string_view::npos ? std::string_view{} : rest.substr(next + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) fail("random model spec: '", item, "' is not key=value");
    const std::string_view k = item.substr(0, eq), v = item.substr(eq + 1);
    if (k == "layers") s.n_layers = parse_int(k, v);
    else if (k == "d_model") s.d_model = parse_int(k, v);
    else if (k == "heads") s.n_heads = parse_int(k, v);
    else if (k == "kv_heads") s.n_kv_heads = parse_int(k, v);
    else if (k == "d_mlp") s.d_mlp = parse_int(k, v);
    else if (k == "vocab") s.d_vocab = parse_int(k, v);
    else if (k == "ctx") s.n_ctx = parse_int(k, v);
    else if (k == "rope_theta") s.rope_theta = parse_float(k, v);
    else if (k == "eps") s.norm_eps = parse_float(k, v);
    else if (k == "seed") s.seed = uint64_t(parse_int(k, v));
    else
      fail("random model spec: unknown key '", k,
           "' (known: layers, d_model, heads, kv_heads, d_mlp, vocab, ctx, rope_theta, eps, seed)");
  }
  check_spec(s);
  return s;
}

DType q4_k_m_type(const std::string& name, int n_layers) {
  if (name == gguf_name(GgufTensor::Output)) return DType::Q6_K;
  if (name.size() >= 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0) return DType::F32;
  // llama-quant.cpp: attn_v and ffn_down of the layers use_more_bits picks
  // (the first and last eighth, and every third in between) get Q6_K.
  int layer = -1;
  char what[32] = {};
  if (std::sscanf(name.c_str(), "blk.%d.%31[a-z_]", &layer, what) == 2 &&
      (std::string(what) == "attn_v" || std::string(what) == "ffn_down")) {
    const int n = n_layers;
    if (layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2) return DType::Q6_K;
  }
  return DType::Q4_K;
}

void random_quant_blocks(DType t, float sigma, uint64_t seed, uint64_t block0, int64_t nblocks, uint8_t* dst) {
  if (t != DType::Q4_K && t != DType::Q6_K) fail("random_quant_blocks: dtype ", to_string(t), " (Q4_K or Q6_K)");
  const size_t bytes = dtype_nbytes(t, 256);
  for (int64_t i = 0; i < nblocks; ++i) {
    uint64_t s = seed ^ (0x9e3779b97f4a7c15ull * (block0 + uint64_t(i) + 1));
    splitmix64(s);
    if (t == DType::Q4_K) q4_k_block(s, sigma, dst + size_t(i) * bytes);
    else q6_k_block(s, sigma, dst + size_t(i) * bytes);
  }
}

uint64_t write_random_llama_gguf(const RandomLlamaSpec& spec, const std::string& path,
                                 const std::function<void(uint64_t, uint64_t)>& progress) {
  check_spec(spec);
  const int64_t d = spec.d_model, m = spec.d_mlp, V = spec.d_vocab;
  const int64_t dh = d / spec.n_heads, kv = int64_t(spec.n_kv_heads) * dh;
  GgufWriter w;
  w.set("general.architecture", gguf_str("llama"));
  w.set("general.name", gguf_str("random llama (glassbox convert --random)"));
  w.set("general.file_type", gguf_u32(15));  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  w.set("general.quantization_version", gguf_u32(2));
  w.set("llama.context_length", gguf_u32(uint32_t(spec.n_ctx)));
  w.set("llama.embedding_length", gguf_u32(uint32_t(d)));
  w.set("llama.block_count", gguf_u32(uint32_t(spec.n_layers)));
  w.set("llama.feed_forward_length", gguf_u32(uint32_t(m)));
  w.set("llama.attention.head_count", gguf_u32(uint32_t(spec.n_heads)));
  w.set("llama.attention.head_count_kv", gguf_u32(uint32_t(spec.n_kv_heads)));
  w.set("llama.attention.layer_norm_rms_epsilon", gguf_f32(spec.norm_eps));
  w.set("llama.rope.dimension_count", gguf_u32(uint32_t(dh)));
  w.set("llama.rope.freq_base", gguf_f32(spec.rope_theta));
  w.set("llama.vocab_size", gguf_u32(uint32_t(V)));
  {
    Vocab v = synthetic_vocab(spec.d_vocab);
    w.set("tokenizer.ggml.model", gguf_str("gpt2"));
    w.set("tokenizer.ggml.pre", gguf_str("llama-bpe"));
    w.set("tokenizer.ggml.tokens", gguf_str_array(v.tokens));
    w.set("tokenizer.ggml.token_type", gguf_i32_array(v.types));
    w.set("tokenizer.ggml.merges", gguf_str_array(v.merges));
    w.set("tokenizer.ggml.bos_token_id", gguf_u32(uint32_t(v.bos)));
    w.set("tokenizer.ggml.eos_token_id", gguf_u32(uint32_t(v.eos)));
    w.set("tokenizer.ggml.add_bos_token", gguf_bool(true));
    w.set("tokenizer.ggml.add_eos_token", gguf_bool(false));
  }

  std::vector<Planned> plan;
  const auto tensor = [&](const std::string& name, Shape shape, float sigma) {
    const DType t = q4_k_m_type(name, spec.n_layers);
    const int64_t n = shape.size() == 2 ? shape[0] * shape[1] : shape[0];
    w.tensors.push_back({name, t, std::move(shape), nullptr, dtype_nbytes(t, n)});
    plan.push_back({t, sigma, spec.seed * 0x2545f4914f6cdd1dull ^ fnv1a(name)});
  };
  const float in_d = 1.f / std::sqrt(float(d)), in_m = 1.f / std::sqrt(float(m));
  tensor(gguf_name(GgufTensor::TokenEmbd), {V, d}, 1.f);
  for (int l = 0; l < spec.n_layers; ++l) {
    tensor(gguf_name(GgufTensor::AttnNorm, l), {d}, 0.f);
    tensor(gguf_name(GgufTensor::AttnQ, l), {d, d}, in_d);
    tensor(gguf_name(GgufTensor::AttnK, l), {kv, d}, in_d);
    tensor(gguf_name(GgufTensor::AttnV, l), {kv, d}, in_d);
    tensor(gguf_name(GgufTensor::AttnOut, l), {d, d}, in_d);
    tensor(gguf_name(GgufTensor::FfnNorm, l), {d}, 0.f);
    tensor(gguf_name(GgufTensor::FfnGate, l), {m, d}, in_d);
    tensor(gguf_name(GgufTensor::FfnUp, l), {m, d}, in_d);
    tensor(gguf_name(GgufTensor::FfnDown, l), {d, m}, in_m);
  }
  tensor(gguf_name(GgufTensor::OutputNorm), {d}, 0.f);
  tensor(gguf_name(GgufTensor::Output), {V, d}, in_d);

  uint64_t total = 0, done = 0;
  for (const TensorToWrite& t : w.tensors) total += t.nbytes;
  detail::save_gguf_streamed(w, path, [&](size_t i, uint64_t offset, uint8_t* dst, size_t n) {
    const Planned& p = plan[i];
    if (p.dtype == DType::F32) {  // norm weights: ones
      const float one = 1.f;
      for (size_t k = 0; k < n; k += sizeof(float)) std::memcpy(dst + k, &one, sizeof(float));
    } else {
      const size_t bytes = dtype_nbytes(p.dtype, 256);
      random_quant_blocks(p.dtype, p.sigma, p.seed, offset / bytes, int64_t(n / bytes), dst);
    }
    done += n;
    if (progress) progress(done, total);
  });
  return std::filesystem::file_size(path);
}

}  // namespace glassbox
