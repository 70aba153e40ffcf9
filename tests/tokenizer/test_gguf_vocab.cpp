// GGUF vocabularies: llama.cpp's own expected tokenisations
// (models/ggml-vocab-*.gguf + .inp/.out, fetched by scripts/fetch-test-data.sh),
// plus small GGUF files written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tokenizer.h"
#include "tok_test_util.h"

using glassbox::Tokenizer;

namespace {

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// Format of llama.cpp tests/test-tokenizer-0.cpp: inputs separated by
// "\n__ggml_vocab_test__\n"; one line of space-separated ids per input.
std::vector<Case> read_cases(const std::string& inp_path, const std::string& out_path) {
  const std::string inp = [&] {
    std::ifstream f(inp_path, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
  }();
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<Case> cases;
  std::ifstream out(out_path);
  size_t i = 0;
  for (std::string line; std::getline(out, line); ++i) {
    Case c;
    c.text = i < texts.size() ? texts[i] : "";
    std::istringstream ls(line);
    for (int32_t id; ls >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  EXPECT_EQ(cases.size(), texts.size()) << inp_path;
  return cases;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

class GgmlVocab : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(GgmlVocab, ReproducesLlamaCppTokenisations) {
  const std::string base = tok_test::file_data("ggml-vocab-" + GetParam() + ".gguf");
  if (!tok_test::exists(base) || !tok_test::exists(base + ".out"))
    GTEST_SKIP() << base << " not found; run scripts/fetch-test-data.sh";
  const Tokenizer t = Tokenizer::from_gguf(glassbox::GgufFile::open(base));
  const auto cases = read_cases(base + ".inp", base + ".out");
  ASSERT_FALSE(cases.empty());
  int passed = 0;
  for (const auto& c : cases) {
    // llama.cpp's test: add_special = false, parse_special = false.
    const auto got = t.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    EXPECT_EQ(got, c.ids) << "text: '" << c.text << "'\n got: " << show(got) << "\nwant: " << show(c.ids);
    passed += got == c.ids;
    // Decoding gives the text back (SentencePiece: minus nothing, the prefix is stripped).
    EXPECT_EQ(t.decode(got), c.text);
  }
  std::printf("[ %s ] %d / %zu llama.cpp cases match\n", GetParam().c_str(), passed, cases.size());
}

INSTANTIATE_TEST_SUITE_P(LlamaCpp, GgmlVocab, ::testing::Values("gpt-2", "llama-spm", "llama-bpe", "qwen2", "phi-3"));

TEST(GgufVocab, SpecialIdsAndFlagsComeFromMetadata) {
  const std::string path = tok_test::file_data("ggml-vocab-llama-bpe.gguf");
  if (!tok_test::exists(path)) GTEST_SKIP() << path << " not found; run scripts/fetch-test-data.sh";
  const Tokenizer t = Tokenizer::from_file(path);
  EXPECT_EQ(t.pre_tokenizer(), "llama3");
  EXPECT_EQ(t.bos_id(), 128000);
  EXPECT_TRUE(t.add_bos());
  const auto ids = t.encode("<|begin_of_text|>Hello", false, /*parse_special=*/true);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 128000);
  EXPECT_EQ(t.encode("Hello").front(), 128000);
}

TEST(GgufVocab, SentencePieceFromWrittenFile) {
  // A minimal llama-style vocabulary: scores decide merges.
  glassbox::GgufWriter w;
  const std::string sp = "\xE2\x96\x81";
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>", sp, "a", "b", sp + "a", "ab", sp + "ab"};
  std::vector<float> scores = {0, 0, 0, -1, -2, -2, -3, -1, -0.5f};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1, 1};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    tokens.push_back(name);
    scores.push_back(0);
    types.push_back(6);
  }
  w.set("tokenizer.ggml.model", glassbox::gguf_str("llama"));
  w.set("tokenizer.ggml.tokens", glassbox::gguf_str_array(tokens));
  w.set("tokenizer.ggml.scores", glassbox::gguf_f32_array(scores));
  w.set("tokenizer.ggml.token_type", glassbox::gguf_i32_array(types));
  w.set("tokenizer.ggml.bos_token_id", glassbox::gguf_u32(1));
  const std::string path = tok_test::temp_dir("gguf_spm") + "/vocab.gguf";
  w.save(path);
  const Tokenizer t = Tokenizer::from_gguf(glassbox::GgufFile::open(path));
  // "▁ab": "ab" (score -1) merges before "▁a" (-3), then "▁ab" (-0.5).
  EXPECT_EQ(t.encode("ab"), (std::vector<int32_t>{1, 8}));
  // 'c' is not a piece: byte fallback <0x63>.
  EXPECT_EQ(t.encode("c", false), (std::vector<int32_t>{3, 9 + 'c'}));
  EXPECT_EQ(t.decode(t.encode("ab c", false)), "ab c");
}

TEST(GgufVocab, UnknownModelIsAnError) {
  glassbox::GgufWriter w;
  w.set("tokenizer.ggml.model", glassbox::gguf_str("t5"));
  w.set("tokenizer.ggml.tokens", glassbox::gguf_str_array({"a"}));
  const std::string path = tok_test::temp_dir("gguf_bad") + "/vocab.gguf";
  w.save(path);
  try {
    Tokenizer::from_gguf(glassbox::GgufFile::open(path));
    ADD_FAILURE() << "no error";
  } catch (const glassbox::Error& e) {
    EXPECT_NE(std::string(e.what()).find("t5"), std::string::npos) << e.what();
  }
}

TEST(GgufVocab, ThroughputOnRealText) {
  const std::string cases_path = tok_test::file_data("gpt3-encoder-cases.json");
  if (!tok_test::exists(cases_path)) GTEST_SKIP() << cases_path << " not found; run scripts/fetch-test-data.sh";
  nlohmann::json j;
  std::ifstream(cases_path) >> j;
  std::string text;
  for (const auto& c : j["cases"]) text += c["text"].get<std::string>() + "\n";
  std::string big;
  while (big.size() < (2u << 20)) big += text;
  for (const char* name : {"gpt-2", "llama-spm", "llama-bpe", "qwen2"}) {
    const std::string path = tok_test::file_data(std::string("ggml-vocab-") + name + ".gguf");
    if (!tok_test::exists(path)) continue;
    const Tokenizer t = Tokenizer::from_file(path);
    const auto t0 = std::chrono::steady_clock::now();
    const auto ids = t.encode(big, false, false);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("[ %s ] encode: %.1f MB in %.3f s = %.1f MB/s, %.2f M tokens/s\n", name, big.size() / 1e6, s,
                big.size() / 1e6 / s, ids.size() / 1e6 / s);
    EXPECT_LT(s / (big.size() / 1e6), 1.0) << name << ": slower than 1 s per MB";
    EXPECT_EQ(t.decode(ids), big);
  }
}
