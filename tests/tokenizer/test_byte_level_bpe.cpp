// Byte-level BPE on hand-made tokenizer.json / vocab.json + merges.txt.
#include <gtest/gtest.h>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "tok_test_util.h"

using glassbox::Tokenizer;
using nlohmann::json;

namespace {

json gpt2_style(const std::vector<std::string>& extra, const std::vector<std::string>& merges) {
  return json{{"version", "1.0"},
              {"added_tokens", json::array()},
              {"normalizer", nullptr},
              {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
              {"post_processor", {{"type", "ByteLevel"}}},
              {"decoder", {{"type", "ByteLevel"}}},
              {"model", {{"type", "BPE"}, {"vocab", tok_test::byte_vocab(extra)}, {"merges", merges}}}};
}

Tokenizer load(const json& j, const std::string& name) {
  const auto dir = tok_test::temp_dir(name);
  return Tokenizer::from_hf_json(tok_test::write_file(dir, "tokenizer.json", j.dump()));
}

}  // namespace

TEST(ByteLevelBpe, SpacesAndNewlinesUseGpt2Alphabet) {
  const auto chars = tok_test::gpt2_byte_chars();
  EXPECT_EQ(chars[' '], "\xC4\xA0");   // 'Ġ' U+0120
  EXPECT_EQ(chars['\n'], "\xC4\x8A");  // 'Ċ' U+010A
  auto t = load(gpt2_style({}, {}), "alphabet");
  EXPECT_EQ(t.encode(" \n", false), (std::vector<int32_t>{' ', '\n'}));
}

TEST(ByteLevelBpe, LowerRankedMergeAppliesFirst) {
  // "abc": with "a b" ranked before "b c" the result is [ab, c], and vice versa.
  auto ab_first = load(gpt2_style({"ab", "bc"}, {"a b", "b c"}), "rank1");
  EXPECT_EQ(ab_first.encode("abc", false), (std::vector<int32_t>{256, 'c'}));
  auto bc_first = load(gpt2_style({"ab", "bc"}, {"b c", "a b"}), "rank2");
  EXPECT_EQ(bc_first.encode("abc", false), (std::vector<int32_t>{'a', 257}));
}

TEST(ByteLevelBpe, MergesChainIntoWholeWords) {
  auto t = load(gpt2_style({"lo", "low", "er", "lower", "\xC4\xA0l", "\xC4\xA0lo", "\xC4\xA0low"},
                           {"l o", "lo w", "e r", "low er", "\xC4\xA0 l", "\xC4\xA0l o", "\xC4\xA0lo w"}),
                "chain");
  // " lower": "l o" (rank 0) beats "Ġ l" (rank 4), and no rule joins "Ġ" to "lo",
  // so the space stays alone.
  EXPECT_EQ(t.encode("lower lower", false), (std::vector<int32_t>{259, ' ', 259}));
  EXPECT_EQ(t.encode(" low", false), (std::vector<int32_t>{' ', 257}));
  // Identical occurrences of a pair merge left to right.
  auto aa = load(gpt2_style({"aa"}, {"a a"}), "aaa");
  EXPECT_EQ(aa.encode("aaa", false), (std::vector<int32_t>{256, 'a'}));
  EXPECT_EQ(aa.encode("aaaa", false), (std::vector<int32_t>{256, 256}));
}

TEST(ByteLevelBpe, NewStyleArrayMergesAreAccepted) {
  json j = gpt2_style({"ab"}, {});
  j["model"]["merges"] = json::array({json::array({"a", "b"})});
  EXPECT_EQ(load(j, "arraymerge").encode("ab", false), (std::vector<int32_t>{256}));
}

TEST(ByteLevelBpe, DecodeRoundTripsArbitraryBytes) {
  auto t = load(gpt2_style({"ab", "\xC4\xA0" "a"}, {"a b", "\xC4\xA0 a"}), "roundtrip");
  const std::vector<std::string> texts = {
      "",
      "plain ascii, with  double spaces\tand\nnewlines\r\n",
      "Grüße, ½ Äpfel — “quotes” 日本語 한국어 Ελληνικά",
      "emoji 🦙🦙 and flags 🇩🇪 and ZWJ 👩‍💻",
      "invalid \xFF\xFE bytes \x80 and truncated \xE2\x82",
      std::string("nul \0 inside", 12),
  };
  for (const auto& s : texts) {
    const auto ids = t.encode(s, false);
    EXPECT_EQ(t.decode(ids), s) << "text: " << s;
  }
}

TEST(ByteLevelBpe, SpecialTokensMatchBeforePreTokenization) {
  json j = gpt2_style({"ab"}, {"a b"});
  j["model"]["vocab"]["<|endoftext|>"] = 257;
  j["model"]["vocab"]["<extra>"] = 258;
  j["added_tokens"] = json::array({
      {{"id", 257}, {"content", "<|endoftext|>"}, {"special", true}},
      {{"id", 258}, {"content", "<extra>"}, {"special", false}},
  });
  auto t = load(j, "special");
  EXPECT_EQ(t.encode("ab<|endoftext|>ab", false), (std::vector<int32_t>{256, 257, 256}));
  // parse_special=false: special text is plain text; non-special added tokens still match.
  const auto plain = t.encode("<|endoftext|>", false, /*parse_special=*/false);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(t.decode(plain), "<|endoftext|>");
  EXPECT_EQ(t.encode("x<extra>y", false, false), (std::vector<int32_t>{'x', 258, 'y'}));
  EXPECT_EQ(t.decode(std::vector<int32_t>{256, 257}), "ab<|endoftext|>");
  EXPECT_EQ(t.decode(std::vector<int32_t>{256, 257}, /*skip_special=*/true), "ab");
  EXPECT_EQ(t.token_type(257), glassbox::TokenType::Control);
  EXPECT_EQ(t.token_type(258), glassbox::TokenType::UserDefined);
}

TEST(ByteLevelBpe, AddedTokenStripFlagsSwallowWhitespace) {
  json j = gpt2_style({"<mask>"}, {});
  j["added_tokens"] = json::array({{{"id", 256}, {"content", "<mask>"}, {"special", true}, {"lstrip", true}}});
  auto t = load(j, "lstrip");
  EXPECT_EQ(t.encode("a  <mask>b", false), (std::vector<int32_t>{'a', 256, 'b'}));
}

TEST(ByteLevelBpe, TemplatePostProcessorAddsBos) {
  json j = gpt2_style({"<bos>"}, {});
  j["added_tokens"] = json::array({{{"id", 256}, {"content", "<bos>"}, {"special", true}}});
  j["post_processor"] = {
      {"type", "TemplateProcessing"},
      {"single", json::array({{{"SpecialToken", {{"id", "<bos>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
      {"special_tokens", {{"<bos>", {{"id", "<bos>"}, {"ids", {256}}, {"tokens", {"<bos>"}}}}}}};
  auto t = load(j, "template");
  EXPECT_EQ(t.bos_id(), 256);
  EXPECT_TRUE(t.add_bos());
  EXPECT_EQ(t.encode("a"), (std::vector<int32_t>{256, 'a'}));
  EXPECT_EQ(t.encode("a", false), (std::vector<int32_t>{'a'}));
}

TEST(ByteLevelBpe, VocabAndMergesFilesLoad) {
  const auto dir = tok_test::temp_dir("vm");
  json v = tok_test::byte_vocab({"ab", "<|endoftext|>"});
  tok_test::write_file(dir, "vocab.json", v.dump());
  tok_test::write_file(dir, "merges.txt", "#version: 0.2\na b\n");
  auto t = Tokenizer::from_file(dir);
  EXPECT_EQ(t.encode("ab ab", false), (std::vector<int32_t>{256, ' ', 256}));
  EXPECT_EQ(t.eos_id(), 257);
  EXPECT_EQ(t.pre_tokenizer(), "gpt-2");
  EXPECT_EQ(t.token_to_piece(256), "ab");
  EXPECT_EQ(t.token_id("ab"), 256);
  EXPECT_FALSE(t.token_id("zz").has_value());
}
