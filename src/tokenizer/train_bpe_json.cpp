// tokenizer.json for a trained byte-level BPE, in the shape HF `tokenizers`
// writes for GPT-2 (ByteLevel pre-tokenizer with its built-in regex) and
// Llama-3 / Qwen2 (Sequence[Split(regex), ByteLevel(use_regex=false)]).
// https://huggingface.co/docs/tokenizers/api/pre-tokenizers
#include "glassbox/error.h"
#include "glassbox/mmap_file.h"
#include "glassbox/tokenizer_train.h"
#include "tokenizer/regex_split.h"
#include "tokenizer/train_bpe.h"

namespace glassbox {

namespace detail {

using ojson = nlohmann::ordered_json;

const char* train_pre_pattern(const std::string& name) {
  if (name == "gpt2" || name == "gpt-2") return pattern::kGpt2;
  if (name == "llama3" || name == "llama-3") return pattern::kLlama3;
  if (name == "qwen2") return pattern::kQwen2;
  fail("train_bpe: unknown pre_tokenizer '", name, "' (expected gpt2, llama3 or qwen2)");
}

static ojson byte_level(bool use_regex, bool add_prefix_space) {
  return {{"type", "ByteLevel"},
          {"add_prefix_space", add_prefix_space},
          {"trim_offsets", true},
          {"use_regex", use_regex}};
}

ojson trained_bpe_json(const TrainedBpe& t, const std::string& pre_tokenizer) {
  const std::string pattern = train_pre_pattern(pre_tokenizer);
  ojson pre;
  if (pattern == detail::pattern::kGpt2) {
    pre = byte_level(/*use_regex=*/true, /*add_prefix_space=*/false);  // HF's ByteLevel regex is GPT-2's
  } else {
    const ojson split = {{"type", "Split"},
                         {"pattern", {{"Regex", pattern}}},
                         {"behavior", "Isolated"},
                         {"invert", false}};
    pre = {{"type", "Sequence"}, {"pretokenizers", {split, byte_level(false, false)}}};
  }

  ojson added = ojson::array();
  for (int32_t id = 0; id < t.num_specials; ++id)
    added.push_back({{"id", id},
                     {"content", t.pieces[id]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});

  // Insertion order = id order, as HF writes it. Pieces are unique, so append
  // to the ordered_map's vector directly: its operator[] searches linearly.
  ojson vocab = ojson::object();
  auto& entries = vocab.get_ref<ojson::object_t&>();
  entries.reserve(t.pieces.size());
  for (size_t id = 0; id < t.pieces.size(); ++id) entries.emplace_back(t.pieces[id], id);
  ojson merges = ojson::array();
  for (const auto& [a, b] : t.merges) merges.push_back(t.pieces[a] + " " + t.pieces[b]);

  // Post-processor and decoder as in GPT-2's tokenizer.json; the ByteLevel
  // post-processor only adjusts offsets in HF.
  ojson post = byte_level(true, true);
  post["trim_offsets"] = false;
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", pre},
          {"post_processor", post},
          {"decoder", byte_level(true, true)},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", false},
            {"vocab", vocab},
            {"merges", merges}}}};
}

}  // namespace detail

void save_tokenizer_json(const nlohmann::ordered_json& tokenizer_json, const std::string& path) {
  const std::string text = tokenizer_json.dump(2) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

}  // namespace glassbox
