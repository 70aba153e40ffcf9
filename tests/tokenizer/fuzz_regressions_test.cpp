// Inputs that crashed or misbehaved under the fuzz targets (fuzz/
// fuzz_tokenizer_json, fuzz_vocab_merges), run through the same entry
// points: each must now be an Error naming the file. The inputs are also in
// fuzz/corpus/<target>/ (crash-*).
#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "tok_test_util.h"
#include "common/expect_error.h"

using glassbox::Tokenizer;
using nlohmann::json;

using gbtest::expect_error;

namespace {

// A valid byte-level tokenizer.json (fuzz/corpus/fuzz_tokenizer_json/bytelevel-bpe) with one field replaced.
json byte_level_doc() {
  return json::parse(R"({"version": "1.0", "added_tokens": [{"id": 6, "content": "<|endoftext|>", "special": true}],
    "normalizer": null, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"!": 0, "a": 1, "b": 2, "\u0120": 3, "ab": 4, "\u0120a": 5, "<|endoftext|>": 6},
              "merges": ["a b", "\u0120 a"]}})");
}

std::string write_doc(const std::string& dir, const json& doc) {
  return tok_test::write_file(tok_test::temp_dir(dir), "tokenizer.json", doc.dump());
}

}  // namespace

TEST(TokenizerFuzzRegressions, TheBaseDocumentLoads) {  // so the errors below come from the one field changed
  EXPECT_EQ(Tokenizer::from_hf_json(write_doc("fz0", byte_level_doc())).vocab_size(), 7);
}

// Was a heap-buffer-overflow: post_processor.cls[1] read past a one-element array.
TEST(TokenizerFuzzRegressions, BertPostProcessorWithShortClsPair) {
  json d = byte_level_doc();
  d["post_processor"] = json::parse(R"({"type": "BertProcessing", "cls": ["a"], "sep": ["a", 0]})");
  const auto p = write_doc("fz1", d);
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "post_processor.cls", "[token, id]"});
}

// Was a heap-buffer-overflow: a missing "cls" looked up in a const object.
TEST(TokenizerFuzzRegressions, BertPostProcessorWithoutCls) {
  json d = byte_level_doc();
  d["post_processor"] = json::parse(R"({"type": "RobertaProcessing"})");
  const auto p = write_doc("fz2", d);
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "post_processor.cls"});
}

// Was undefined behaviour (UBSan): get<int32_t>() of 1e300.
TEST(TokenizerFuzzRegressions, IdThatIsAHugeFloat) {
  json d = byte_level_doc();
  d["post_processor"] = json::parse(R"({"type": "BertProcessing", "cls": ["a", 1e300], "sep": ["a", 0]})");
  const auto p = write_doc("fz3", d);
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "post_processor.cls id", "integer token id"});
  d = byte_level_doc();
  d["added_tokens"][0]["id"] = 1e300;
  const auto p2 = write_doc("fz3b", d);
  expect_error([&] { Tokenizer::from_hf_json(p2); }, {p2, "added_tokens id"});
}

// Was a json::type_error escaping the loader (std::terminate in a program that catches only glassbox::Error).
TEST(TokenizerFuzzRegressions, FieldOfTheWrongJsonType) {
  json d = byte_level_doc();
  d["added_tokens"][0]["id"] = "x";
  const auto p = write_doc("fz4", d);
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "added_tokens id"});
  d = byte_level_doc();
  d["model"]["byte_fallback"] = "yes";  // json::value() with a bool default throws type_error
  const auto p2 = write_doc("fz4b", d);
  expect_error([&] { Tokenizer::from_hf_json(p2); }, {p2, "unexpected JSON type"});
}

// Was an out-of-memory abort: one id of 40000110000 (wrapped to int32) sized the piece table.
TEST(TokenizerFuzzRegressions, VocabIdBeyondInt32OrHuge) {
  const auto dir = tok_test::temp_dir("fz5");
  const auto m = tok_test::write_file(dir, "merges.txt", "#version: 0.2\n");
  const auto v = tok_test::write_file(dir, "vocab.json", R"({"!": 0, "a": 1, "ab": 40000110000})");
  expect_error([&] { Tokenizer::from_vocab_merges(v, m); }, {v, "'ab'", "not an integer token id"});
  const auto v2 = tok_test::write_file(dir, "vocab2.json", R"({"!": 0, "a": 2147483647})");
  expect_error([&] { Tokenizer::from_vocab_merges(v2, m); }, {v2, "token id 2147483647", "beyond"});
  json d = byte_level_doc();
  d["model"]["vocab"]["a"] = 2147483647;
  const auto p = write_doc("fz5b", d);
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "token id 2147483647", "beyond"});
}
