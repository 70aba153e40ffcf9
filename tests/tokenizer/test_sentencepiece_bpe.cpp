// SentencePiece-style BPE (Llama-2 tokenizer.json): spaces as U+2581, a
// leading space, <0xNN> byte fallback, BOS from the post-processor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>

#include "glassbox/tokenizer.h"
#include "tok_test_util.h"

using glassbox::Tokenizer;
using nlohmann::json;

namespace {

const std::string kSp = "\xE2\x96\x81";  // ▁

// ids: <unk>=0 <s>=1 </s>=2, <0x00>..<0xFF> = 3..258, then the pieces below.
json llama2_style(bool legacy_normalizer = true) {
  json vocab = {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    vocab[name] = 3 + b;
  }
  const std::vector<std::string> pieces = {kSp, "h", "i", kSp + "h", kSp + "hi", "!", kSp + kSp};
  for (size_t i = 0; i < pieces.size(); ++i) vocab[pieces[i]] = 259 + static_cast<int>(i);
  json j = {
      {"added_tokens", json::array({{{"id", 0}, {"content", "<unk>"}, {"special", true}},
                                    {{"id", 1}, {"content", "<s>"}, {"special", true}},
                                    {{"id", 2}, {"content", "</s>"}, {"special", true}}})},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "Sequence"}, {"decoders", json::array({{{"type", "ByteFallback"}}})}}},
      {"model",
       {{"type", "BPE"}, {"unk_token", "<unk>"}, {"byte_fallback", true}, {"fuse_unk", true},
        {"vocab", vocab}, {"merges", {kSp + " h", kSp + "h i", kSp + " " + kSp}}}}};
  if (legacy_normalizer) {
    j["normalizer"] = {{"type", "Sequence"},
                       {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", kSp}},
                                                    {{"type", "Replace"},
                                                     {"pattern", {{"String", " "}}},
                                                     {"content", kSp}}})}};
  } else {
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", kSp}, {"prepend_scheme", "first"}, {"split", false}};
  }
  return j;
}

Tokenizer load(const json& j, const std::string& name) {
  return Tokenizer::from_hf_json(tok_test::write_file(tok_test::temp_dir(name), "tokenizer.json", j.dump()));
}

}  // namespace

TEST(SentencePieceBpe, AddsSpacePrefixAndBos) {
  auto t = load(llama2_style(), "spm1");
  EXPECT_EQ(t.kind(), glassbox::TokenizerKind::SentencePieceBPE);
  EXPECT_EQ(t.encode("hi"), (std::vector<int32_t>{1, 263}));
  EXPECT_EQ(t.encode("hi", false), (std::vector<int32_t>{263}));
  EXPECT_EQ(t.encode("hi hi!", false), (std::vector<int32_t>{263, 263, 264}));
}

TEST(SentencePieceBpe, UnknownCharactersFallBackToBytes) {
  auto t = load(llama2_style(), "spm2");
  // 'é' = C3 A9 is not a piece: <0xC3> <0xA9>, i.e. ids 3+0xC3, 3+0xA9.
  EXPECT_EQ(t.encode("hé", false), (std::vector<int32_t>{262, 3 + 0xC3, 3 + 0xA9}));
  EXPECT_EQ(t.token_type(3 + 0xC3), glassbox::TokenType::Byte);
  EXPECT_EQ(t.decode(t.encode("hé", false)), "hé");
}

TEST(SentencePieceBpe, DecodeRoundTripsArbitraryText) {
  auto t = load(llama2_style(), "spm3");
  for (std::string s : {"hi", "  hi  there ", "🦙 emoji", "bad \xFF\x80 bytes", "tab\tnew\nline"}) {
    EXPECT_EQ(t.decode(t.encode(s, false)), s);
    EXPECT_EQ(t.decode(t.encode(s), /*skip_special=*/true), s);
  }
  EXPECT_EQ(t.decode(t.encode("hi")), "<s> hi");  // as HF: the leading space survives after <s>
}

TEST(SentencePieceBpe, SpecialTokensGetAFreshSpacePrefix) {
  auto t = load(llama2_style(), "spm4");
  // Legacy Llama-2 (and llama.cpp): every fragment after a special token is prefixed.
  EXPECT_EQ(t.encode("hi</s>hi", false), (std::vector<int32_t>{263, 2, 263}));
  auto m = load(llama2_style(/*legacy_normalizer=*/false), "spm5");
  // Metaspace prepend_scheme "first": only the start of the input.
  EXPECT_EQ(m.encode("hi</s>hi", false), (std::vector<int32_t>{263, 2, 260, 261}));
}
