#include "make_tiny_model.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "glassbox/error.h"
#include "glassbox/mmap_file.h"
#include "glassbox/trainable.h"

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

void write_json(const fs::path& path, const json& j) {
  const std::string text = j.dump(2) + "\n";
  write_file_atomic(path.string(), text.data(), text.size());
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

  // config.json last (Trainable::save writes it after the weights): its presence marks a finished checkpoint.
  fs::remove(root / "config.json", ec);
  write_json(root / "tokenizer.json", tokenizer_json());
  // The tensors come from the gpt2 family's own layout (arch/gpt2.cpp, which
  // Trainable creates them through): the one place GPT-2's names and shapes live.
  Trainable::init(config_json(o), o.seed).save(dir);
}

bool tiny_gpt2_exists(const std::string& dir) {
  const fs::path root(dir);
  return fs::exists(root / "config.json") && fs::exists(root / "model.safetensors") &&
         fs::exists(root / "tokenizer.json");
}

}  // namespace glassbox::cli
