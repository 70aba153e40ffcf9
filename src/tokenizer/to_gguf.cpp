// Vocabulary to GGUF metadata (tokenizer.ggml.*): the inverse of
// from_gguf.cpp, in the form llama.cpp's llama_vocab::impl::load reads.
#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/model.h"

namespace glassbox {

namespace {

// llama.cpp's llama_token_type (see token_type_from_gguf in from_gguf.cpp).
int32_t token_type_to_gguf(TokenType t) {
  switch (t) {
    case TokenType::Normal: return 1;
    case TokenType::Unknown: return 2;
    case TokenType::Control: return 3;
    case TokenType::UserDefined: return 4;
    case TokenType::Unused: return 5;
    case TokenType::Byte: return 6;
  }
  return 1;
}

// The tokenizer.ggml.pre value that selects the same pre-tokenizer regexes
// (pretokenizer_for_gguf_pre maps these back to the canonical names).
const char* gguf_pre_name(const detail::TokenizerModel& m) {
  if (m.pre_name == "gpt-2") return "gpt-2";
  if (m.pre_name == "llama3") return "llama-bpe";
  if (m.pre_name == "qwen2") return "qwen2";
  if (m.pre_name == "default") return "default";
  fail(m.source, ": tokenizer pre-tokenizer '", m.pre_name,
       "' has no GGUF name (exportable: gpt-2, llama3, qwen2, default)");
}

}  // namespace

void Tokenizer::to_gguf(GgufWriter& w) const {
  const detail::TokenizerModel& m = *m_;
  std::vector<int32_t> types(m.pieces.size());
  for (size_t i = 0; i < m.pieces.size(); ++i) types[i] = token_type_to_gguf(m.types[i]);

  if (m.kind == TokenizerKind::ByteLevelBPE) {
    if (m.byte_level_add_prefix_space)
      fail(m.source, ": byte-level tokenizer with add_prefix_space has no GGUF form");
    w.set("tokenizer.ggml.model", gguf_str("gpt2"));
    w.set("tokenizer.ggml.pre", gguf_str(gguf_pre_name(m)));
  } else {
    if (!m.merges_by_score || m.scores.size() != m.pieces.size())
      fail(m.source, ": SentencePiece tokenizer without piece scores has no GGUF form "
                     "(llama.cpp's 'llama' vocabularies merge by score)");
    w.set("tokenizer.ggml.model", gguf_str("llama"));
    w.set("tokenizer.ggml.add_space_prefix", gguf_bool(m.space_prefix == detail::SpacePrefix::Always));
  }
  w.set("tokenizer.ggml.tokens", gguf_str_array(m.pieces));
  w.set("tokenizer.ggml.token_type", gguf_i32_array(types));
  if (m.kind == TokenizerKind::ByteLevelBPE) {
    // Merges in rank order, "left right" as llama.cpp splits them again.
    std::vector<std::pair<int32_t, uint64_t>> ranked;
    ranked.reserve(m.merges.size());
    for (const auto& [key, merge] : m.merges) ranked.emplace_back(merge.rank, key);
    std::sort(ranked.begin(), ranked.end());
    std::vector<std::string> rules;
    rules.reserve(ranked.size());
    for (const auto& [rank, key] : ranked)
      rules.push_back(m.pieces[key >> 32] + " " + m.pieces[key & 0xffffffffu]);
    w.set("tokenizer.ggml.merges", gguf_str_array(rules));
  } else {
    w.set("tokenizer.ggml.scores", gguf_f32_array(m.scores));
  }
  if (m.bos_id >= 0) w.set("tokenizer.ggml.bos_token_id", gguf_u32(static_cast<uint32_t>(m.bos_id)));
  if (m.eos_id >= 0) w.set("tokenizer.ggml.eos_token_id", gguf_u32(static_cast<uint32_t>(m.eos_id)));
  if (m.unk_id >= 0) w.set("tokenizer.ggml.unknown_token_id", gguf_u32(static_cast<uint32_t>(m.unk_id)));
  w.set("tokenizer.ggml.add_bos_token", gguf_bool(m.bos_id >= 0 && m.prefix_ids == std::vector<int32_t>{m.bos_id}));
  w.set("tokenizer.ggml.add_eos_token", gguf_bool(m.eos_id >= 0 && m.suffix_ids == std::vector<int32_t>{m.eos_id}));
}

}  // namespace glassbox
