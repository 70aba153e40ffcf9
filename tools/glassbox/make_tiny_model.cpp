#include "make_tiny_model.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/safetensors.h"

#include "tokenizer/byte_level.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

namespace {

// GPT-2's bytes_to_unicode() piece for one byte (the tokenizer's own table).
std::string byte_piece(int byte) {
  std::string out;
  const char c = char(byte);
  detail::byte_level_encode(std::string_view(&c, 1), out);
  return out;
}

// Box-Muller over mt19937_64, whose output sequence the standard fixes
// (std::normal_distribution's is implementation-defined).
class Normal {
 public:
  explicit Normal(uint64_t seed) : rng_(seed) {}
  float operator()(float std) {
    const double u1 = (double(rng_() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = double(rng_() >> 11) * 0x1.0p-53;
    return float(std * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2));
  }

 private:
  std::mt19937_64 rng_;
};

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

void write_json(const fs::path& path, const json& j) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp);
    if (!out) fail(tmp.string(), ": cannot open for writing");
    out << j.dump(2) << '\n';
    if (!out) fail(tmp.string(), ": write failed");
  }
  fs::rename(tmp, path);
}

json tokenizer_json() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_piece(b)] = b;
  vocab["<|endoftext|>"] = kTinyEndOfText;
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                           {"use_regex", true}};
  return {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", json::array({{{"id", kTinyEndOfText},
                                     {"content", "<|endoftext|>"},
                                     {"single_word", false},
                                     {"lstrip", false},
                                     {"rstrip", false},
                                     {"normalized", true},
                                     {"special", true}}})},
      {"normalizer", nullptr},
      {"pre_tokenizer", byte_level},
      {"post_processor", byte_level},
      {"decoder", byte_level},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", nullptr},
        {"continuing_subword_prefix", ""},
        {"end_of_word_suffix", ""},
        {"fuse_unk", false},
        {"byte_fallback", false},
        {"vocab", vocab},
        {"merges", json::array()}}},
  };
}

json config_json(const TinyModelOptions& o) {
  return {
      {"architectures", {"GPT2LMHeadModel"}},
      {"model_type", "gpt2"},
      {"vocab_size", kTinyVocab},
      {"n_positions", o.n_positions},
      {"n_ctx", o.n_positions},
      {"n_embd", o.n_embd},
      {"n_layer", o.n_layer},
      {"n_head", o.n_head},
      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", 1e-5},
      {"initializer_range", o.init_std},
      {"bos_token_id", kTinyEndOfText},
      {"eos_token_id", kTinyEndOfText},
      {"torch_dtype", "float32"},
  };
}

}  // namespace

void make_tiny_gpt2(const std::string& dir, const TinyModelOptions& o) {
  if (o.n_layer <= 0 || o.n_embd <= 0 || o.n_head <= 0 || o.n_embd % o.n_head || o.n_positions <= 0)
    fail("make_tiny_gpt2: inconsistent sizes (n_embd must be a positive multiple of n_head)");
  const fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) fail(dir, ": cannot create directory: ", ec.message());

  const int64_t d = o.n_embd, V = kTinyVocab;
  Normal normal(o.seed);
  std::vector<NamedTensor> ts;
  auto random = [&](std::string name, std::vector<int64_t> shape) {
    std::vector<float> v(size_t(shape[0] * (shape.size() > 1 ? shape[1] : 1)));
    for (float& x : v) x = normal(o.init_std);
    ts.push_back({std::move(name), std::move(shape), std::move(v)});
  };
  auto constant = [&](std::string name, int64_t n, float value) {
    ts.push_back({std::move(name), {n}, std::vector<float>(size_t(n), value)});
  };
  random("transformer.wte.weight", {V, d});
  random("transformer.wpe.weight", {o.n_positions, d});
  for (int l = 0; l < o.n_layer; ++l) {
    const std::string h = "transformer.h." + std::to_string(l) + ".";
    constant(h + "ln_1.weight", d, 1.f);
    constant(h + "ln_1.bias", d, 0.f);
    random(h + "attn.c_attn.weight", {d, 3 * d});  // Conv1D: [in, out]
    constant(h + "attn.c_attn.bias", 3 * d, 0.f);
    random(h + "attn.c_proj.weight", {d, d});
    constant(h + "attn.c_proj.bias", d, 0.f);
    constant(h + "ln_2.weight", d, 1.f);
    constant(h + "ln_2.bias", d, 0.f);
    random(h + "mlp.c_fc.weight", {d, 4 * d});
    constant(h + "mlp.c_fc.bias", 4 * d, 0.f);
    random(h + "mlp.c_proj.weight", {4 * d, d});
    constant(h + "mlp.c_proj.bias", d, 0.f);
  }
  constant("transformer.ln_f.weight", d, 1.f);
  constant("transformer.ln_f.bias", d, 0.f);

  std::vector<TensorToWrite> out;
  for (const NamedTensor& t : ts)
    out.push_back({t.name, DType::F32, t.shape, t.data.data(), t.data.size() * sizeof(float)});

  // config.json last: its presence marks a finished checkpoint.
  fs::remove(root / "config.json", ec);
  write_json(root / "tokenizer.json", tokenizer_json());
  save_safetensors((root / "model.safetensors").string(), out, {{"format", "pt"}});
  write_json(root / "config.json", config_json(o));
}

bool tiny_gpt2_exists(const std::string& dir) {
  const fs::path root(dir);
  return fs::exists(root / "config.json") && fs::exists(root / "model.safetensors") &&
         fs::exists(root / "tokenizer.json");
}

}  // namespace glassbox::cli
