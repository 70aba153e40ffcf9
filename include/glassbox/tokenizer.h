// Tokenizer: text <-> token ids, reproducing Hugging Face `tokenizers` and
// llama.cpp for the two families real checkpoints use:
//  * byte-level BPE (GPT-2, Llama-3, Qwen2, ...): regex pre-split (PCRE2),
//    bytes mapped to printable code points, merges by rank;
//  * SentencePiece-style BPE (Llama-2, Mistral): ' ' -> U+2581, a leading space
//    added, merges by rank (tokenizer.json) or by piece score (GGUF), unknown
//    characters spelled as <0xNN> byte tokens.
// Special / added tokens are matched in the raw text before anything else.
// A Tokenizer is immutable after loading, cheap to copy (shared state) and
// safe to use from several threads at once.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "glassbox/enum_string.h"

namespace glassbox {

class GgufFile;
struct GgufWriter;

namespace detail {
struct TokenizerModel;  // src/tokenizer/model.h
}

enum class TokenizerKind { ByteLevelBPE, SentencePieceBPE };
const char* to_string(TokenizerKind k);  // "byte_level_bpe", "sentencepiece_bpe"
template <> TokenizerKind from_string<TokenizerKind>(std::string_view s);

// What a token is; mirrors llama.cpp's token attributes / GGUF token_type.
enum class TokenType : uint8_t {
  Normal,       // an ordinary vocabulary piece
  Control,      // special token (<s>, <|endoftext|>, <|im_start|>): matched only when parse_special
  UserDefined,  // added non-special token: always matched verbatim before pre-tokenization
  Unknown,      // the unk token
  Byte,         // <0xNN> byte-fallback piece (SentencePiece)
  Unused,
};
const char* to_string(TokenType t);  // "normal", "control", "user_defined", "unknown", "byte", "unused"
template <> TokenType from_string<TokenType>(std::string_view s);

class Tokenizer {
 public:
  // tokenizer.json, or a directory holding tokenizer.json or vocab.json + merges.txt,
  // or a .gguf file.
  static Tokenizer from_file(const std::string& path_or_dir);
  // Hugging Face `tokenizers` JSON. A tokenizer_config.json beside it, when
  // present, supplies bos/eos and add_bos_token/add_eos_token.
  static Tokenizer from_hf_json(const std::string& path);
  // GPT-2 style vocab.json (piece -> id) + merges.txt ("#version" line optional).
  // Byte-level BPE with the GPT-2 pre-tokenizer; <|endoftext|> (if present) is
  // special and is bos/eos.
  static Tokenizer from_vocab_merges(const std::string& vocab_json, const std::string& merges_txt);
  // tokenizer.ggml.* metadata: model = gpt2 | llama, pre = gpt-2 | llama-bpe | qwen2 | default ...
  static Tokenizer from_gguf(const GgufFile& f);
  // The inverse: adds tokenizer.ggml.* to `w` so that from_gguf() and
  // llama.cpp read this vocabulary back (GGUF export). Error when it has no
  // GGUF form (a custom pre-tokenizer regex, a SentencePiece vocabulary
  // without piece scores).
  void to_gguf(GgufWriter& w) const;

  // add_special: prepend/append BOS/EOS as the tokenizer's config says.
  // parse_special: match special (control) tokens written in the text, as HF does
  // by default; when false they are tokenized as plain text (llama.cpp's
  // parse_special=false). Added non-special tokens are matched either way.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true,
                              bool parse_special = true) const;

  // Concatenated bytes of the pieces (may be invalid UTF-8 if ids split a
  // character). Special tokens are written as their text unless skip_special.
  // SentencePiece: the space prefix added by encode() is removed again.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // Raw vocabulary entry (e.g. "Ġthe", "▁the", "<0x0A>"); Error if out of range.
  const std::string& token_to_piece(int32_t id) const;
  // What the token decodes to on its own (bytes).
  std::string token_to_bytes(int32_t id) const;
  std::optional<int32_t> token_id(std::string_view piece) const;

  int32_t vocab_size() const;
  int32_t bos_id() const;  // -1 if none
  int32_t eos_id() const;  // -1 if none
  int32_t unk_id() const;  // -1 if none
  bool add_bos() const;
  bool add_eos() const;
  TokenizerKind kind() const;
  TokenType token_type(int32_t id) const;
  // Name of the pre-tokenizer ("gpt-2", "llama3", "qwen2", "hf-json", "none", ...).
  const std::string& pre_tokenizer() const;

  explicit Tokenizer(std::shared_ptr<detail::TokenizerModel> m);

 private:
  std::shared_ptr<detail::TokenizerModel> m_;
};

// `ids` with the tokenizer's BOS first unless they start with it (unchanged
// when it has none): how the organisms were trained and GPT-2's stream reads,
// though a GPT-2 BPE tokenizer adds no BOS itself (TransformerLens' prepend_bos).
std::vector<int32_t> with_bos(const Tokenizer& tok, std::vector<int32_t> ids);

}  // namespace glassbox
