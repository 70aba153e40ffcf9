// PCRE2 pre-tokenizer patterns: Unicode classes, contractions, digit groups.
#include <gtest/gtest.h>

#include "tokenizer/regex_split.h"

using namespace glassbox::detail;

namespace {

std::vector<std::string> pieces(const char* pattern, std::string_view text) {
  PreTokenizer p;
  p.add(pattern);
  std::vector<Span> out, scratch;
  p.split(text, Span{0, static_cast<uint32_t>(text.size())}, out, scratch);
  std::vector<std::string> s;
  for (auto sp : out) s.emplace_back(text.substr(sp.begin, sp.len));
  return s;
}

using V = std::vector<std::string>;

}  // namespace

TEST(PreTokenizer, Gpt2SplitsWordsSpacesAndContractions) {
  EXPECT_EQ(pieces(pattern::kGpt2, "Hello world's  12345!!"),
            (V{"Hello", " world", "'s", " ", " 12345", "!!"}));
  EXPECT_EQ(pieces(pattern::kGpt2, "Äpfel über Straße"), (V{"Äpfel", " über", " Straße"}));
  // \s+(?!\S) backs off one character before a letter, so "\n\n" before "b"
  // splits in two (the trailing \s+ takes the last one), as in GPT-2.
  EXPECT_EQ(pieces(pattern::kGpt2, "a\n\nb   "), (V{"a", "\n", "\n", "b", "   "}));
}

TEST(PreTokenizer, Llama3GroupsDigitsByThreeAndKeepsNewlines) {
  EXPECT_EQ(pieces(pattern::kLlama3, "1234567 I'M ok\n\n x"),
            (V{"123", "456", "7", " I", "'M", " ok", "\n\n", " x"}));
}

TEST(PreTokenizer, Qwen2SplitsSingleDigits) {
  EXPECT_EQ(pieces(pattern::kQwen2, "x 123"), (V{"x", " ", "1", "2", "3"}));
}

TEST(PreTokenizer, InvalidUtf8BytesBecomeTheirOwnPieces) {
  const std::string text = "ab\xFF" "cd";
  const auto p = pieces(pattern::kGpt2, text);
  std::string joined;
  for (const auto& s : p) joined += s;
  EXPECT_EQ(joined, text);
  EXPECT_EQ(p, (V{"ab", "\xFF", "cd"}));
}

TEST(PreTokenizer, LongWhitespaceRunDoesNotExhaustJitStack) {
  const std::string text = std::string(200000, ' ') + "x";
  const auto p = pieces(pattern::kLlama3, text);
  size_t total = 0;
  for (const auto& s : p) total += s.size();
  EXPECT_EQ(total, text.size());
}
