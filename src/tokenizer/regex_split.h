// Pre-tokenizer: splits text into pieces with a sequence of PCRE2 regexes
// (UTF + UCP so \p{L}, \p{N}, \s are Unicode classes, as in HF `tokenizers`
// (Oniguruma) and llama.cpp; std::regex cannot do this).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace glassbox::detail {

struct Span {
  uint32_t begin, len;
};

// What happens to the matches of one split step (HF SplitDelimiterBehavior).
enum class SplitBehavior { Isolated, Removed };

class Regex {
 public:
  // Error naming `what` and the PCRE2 message on a bad pattern.
  Regex(const std::string& pattern, bool literal, const std::string& what);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Splits text[s.begin, s.begin+s.len) into matches and the gaps between them.
  void split(std::string_view text, Span s, SplitBehavior behavior, std::vector<Span>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
};

struct SplitStep {
  std::shared_ptr<const Regex> regex;
  SplitBehavior behavior = SplitBehavior::Isolated;
};

// Steps run in order, each refining the pieces of the previous one
// (llama.cpp's regex_exprs list; HF's Sequence of Split pre-tokenizers).
class PreTokenizer {
 public:
  void add(const std::string& pattern, SplitBehavior b = SplitBehavior::Isolated, bool literal = false);
  bool empty() const { return steps_.empty(); }
  // Pieces of text[s) in order; with no steps, the whole span.
  void split(std::string_view text, Span s, std::vector<Span>& out, std::vector<Span>& scratch) const;
  const std::vector<SplitStep>& steps() const { return steps_; }

 private:
  std::vector<SplitStep> steps_;
};

// Pattern strings, verbatim from HF tokenizer.json files / llama.cpp's
// llm_tokenizer_bpe (llama-vocab.cpp).
namespace pattern {
// GPT-2 (HF ByteLevel use_regex=true; gpt-3-encoder; llama.cpp "gpt-2" plus the
// trailing \s+ that llama.cpp's hand-written splitter applies implicitly).
inline constexpr const char* kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama-3 as adapted by llama.cpp (PR #6920): (?i:'s|...) spelled out so that
// only ASCII letters case-fold, as Oniguruma does for these contractions.
inline constexpr const char* kLlama3 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
// Qwen2: Llama-3's pattern with single digits.
inline constexpr const char* kQwen2 =
    R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
}  // namespace pattern

// Pre-tokenizer for a GGUF tokenizer.ggml.pre name (llama.cpp's table, the
// subset glassbox supports). Error naming `source` for an unknown name.
PreTokenizer pretokenizer_for_gguf_pre(const std::string& pre, const std::string& source,
                                       std::string& canonical_name);

}  // namespace glassbox::detail
