// Malformed tokenizer files fail with glassbox::Error naming file and problem.
#include <gtest/gtest.h>
#include <unistd.h>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "tok_test_util.h"
#include "common/expect_error.h"

using glassbox::Tokenizer;
using nlohmann::json;

using gbtest::expect_error;

namespace {

}  // namespace

TEST(TokenizerErrors, MissingModelField) {
  const auto p = tok_test::write_file(tok_test::temp_dir("err1"), "tokenizer.json", R"({"version":"1.0"})");
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "\"model\""});
}

TEST(TokenizerErrors, UnknownModelType) {
  const auto p = tok_test::write_file(tok_test::temp_dir("err2"), "tokenizer.json",
                                      R"({"model":{"type":"WordPiece","vocab":{}}})");
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "WordPiece"});
}

TEST(TokenizerErrors, NotJson) {
  const auto p = tok_test::write_file(tok_test::temp_dir("err3"), "tokenizer.json", "{not json");
  expect_error([&] { Tokenizer::from_hf_json(p); }, {p, "JSON"});
}

TEST(TokenizerErrors, MalformedMergesLineNamesLineNumber) {
  const auto dir = tok_test::temp_dir("err4");
  const auto v = tok_test::write_file(dir, "vocab.json", tok_test::byte_vocab({"ab"}).dump());
  const auto m = tok_test::write_file(dir, "merges.txt", "#version: 0.2\na b\nabc\n");
  expect_error([&] { Tokenizer::from_vocab_merges(v, m); }, {m, "line 3", "abc"});
}

TEST(TokenizerErrors, MergeOfUnknownPiece) {
  const auto dir = tok_test::temp_dir("err5");
  const auto v = tok_test::write_file(dir, "vocab.json", tok_test::byte_vocab({}).dump());
  const auto m = tok_test::write_file(dir, "merges.txt", "a b\n");
  expect_error([&] { Tokenizer::from_vocab_merges(v, m); }, {m, "line 1", "missing"});
}

TEST(TokenizerErrors, VocabIsNotAnObject) {
  const auto dir = tok_test::temp_dir("err6");
  const auto v = tok_test::write_file(dir, "vocab.json", "[1,2]");
  const auto m = tok_test::write_file(dir, "merges.txt", "");
  expect_error([&] { Tokenizer::from_vocab_merges(v, m); }, {v, "object"});
}

TEST(TokenizerErrors, MissingFileAndEmptyDirectory) {
  expect_error([] { Tokenizer::from_file("/nonexistent/tokenizer.json"); }, {"/nonexistent/tokenizer.json"});
  const auto dir = tok_test::temp_dir("err7_empty");
  expect_error([&] { Tokenizer::from_file(dir); }, {dir, "tokenizer.json"});
}

TEST(TokenizerErrors, BadRegexInSplit) {
  json j = {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}}},
            {"decoder", {{"type", "ByteLevel"}}},
            {"model", {{"type", "BPE"}, {"vocab", tok_test::byte_vocab({})}, {"merges", json::array()}}}};
  const auto p = tok_test::write_file(tok_test::temp_dir("err8"), "tokenizer.json", j.dump());
  expect_error([&] { Tokenizer::from_hf_json(p); }, {"regex", "(unclosed"});
}

TEST(TokenizerErrors, DecodeRejectsOutOfRangeIds) {
  const auto dir = tok_test::temp_dir("err9");
  tok_test::write_file(dir, "vocab.json", tok_test::byte_vocab({}).dump());
  tok_test::write_file(dir, "merges.txt", "");
  auto t = Tokenizer::from_file(dir);
  expect_error([&] { t.decode(std::vector<int32_t>{1, 999}); }, {"999"});
  expect_error([&] { t.token_to_piece(-1); }, {"-1"});
}
