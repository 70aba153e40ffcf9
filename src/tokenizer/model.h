// The loaded tokenizer: vocabulary, merge rules, pre-tokenizer, special
// tokens. Loaders (from_hf_json.cpp, from_vocab_merges.cpp, from_gguf.cpp)
// fill it and call finalize(); encode.cpp / decode.cpp read it.
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "glassbox/tokenizer.h"
#include "tokenizer/regex_split.h"
#include "tokenizer/special_tokens.h"

namespace glassbox::detail {

struct StrHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StrMap = std::unordered_map<std::string, V, StrHash, std::equal_to<>>;

struct Merge {
  int32_t rank;
  int32_t id;  // token the pair merges into
};

inline uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// SentencePiece's leading space: HF Prepend normalizer / llama.cpp
// add_space_prefix (every text fragment, also after a special token) or
// Metaspace prepend_scheme "first" (only a fragment at the start of the input).
enum class SpacePrefix { Never, First, Always };

struct TokenizerModel {
  std::string source;  // file the tokenizer came from, for messages
  TokenizerKind kind = TokenizerKind::ByteLevelBPE;

  std::vector<std::string> pieces;  // id -> vocabulary string
  std::vector<TokenType> types;
  std::vector<float> scores;        // SentencePiece piece scores (GGUF); empty otherwise
  StrMap<int32_t> piece_to_id;

  // Rank-ordered merges keyed by (left id, right id). When merges_by_score is
  // set (GGUF llama), there are none: a pair merges if the joined piece exists,
  // highest score first (llama.cpp llm_tokenizer_spm).
  std::unordered_map<uint64_t, Merge> merges;
  bool merges_by_score = false;
  bool ignore_merges = false;  // a word that is itself a token is emitted whole (Llama-3)
  bool byte_fallback = false;  // SPM: unknown characters as <0xNN> tokens

  // Byte-level: id of the one-character token for each byte. SPM: id of <0xNN>.
  std::array<int32_t, 256> byte_ids{};

  PreTokenizer pre;
  std::string pre_name = "none";
  bool byte_level_add_prefix_space = false;  // HF ByteLevel add_prefix_space
  SpacePrefix space_prefix = SpacePrefix::Never;
  bool metaspace_split = false;  // HF Metaspace split=true: a piece starts at every U+2581
  // SentencePiece: true when no piece has U+2581 after another character, so
  // no merge can cross into a "▁word" and words can be merged (and cached)
  // one at a time with the same result as the whole text. Set by finalize().
  bool spm_words_independent = false;

  int32_t unk_id = -1, bos_id = -1, eos_id = -1;
  std::vector<int32_t> prefix_ids, suffix_ids;  // added by encode(add_special)

  std::vector<AddedToken> added;  // filled by loaders; finalize() builds `specials`
  SpecialMatcher specials;

  // Word -> ids cache for byte-level BPE (text repeats words, Zipf).
  mutable std::mutex cache_mu;
  mutable StrMap<std::vector<int32_t>> cache;

  int32_t find(std::string_view piece) const {
    auto it = piece_to_id.find(piece);
    return it == piece_to_id.end() ? -1 : it->second;
  }
  // Sets an entry, growing the table; the last of duplicate pieces wins
  // (as llama.cpp's token_to_id does).
  void set_piece(int32_t id, std::string piece, TokenType type);
  // Adds a merge "a b" (both pieces and their join must exist). Returns false if not.
  bool add_merge(std::string_view a, std::string_view b, int32_t rank);
  // Builds byte_ids and the special-token matcher; checks ids. Call once, last.
  void finalize();
};

// Merge loop over one word (see bpe.cpp).
struct BpeScratch;
void bpe_word(const TokenizerModel& m, std::string_view work, std::vector<int32_t>& out, BpeScratch& s);

}  // namespace glassbox::detail
