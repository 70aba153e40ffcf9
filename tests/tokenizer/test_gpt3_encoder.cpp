// GPT-2 BPE against npm gpt-3-encoder's encode() on real text (Debian
// fortunes), and the throughput of encode on it. Data from
// scripts/fetch-test-data.sh.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>

#include "glassbox/tokenizer.h"
#include "tok_test_util.h"

using glassbox::Tokenizer;

TEST(Gpt3Encoder, ReproducesEncodeOnRealText) {
  const std::string dir = tok_test::file_data("gpt-3-encoder");
  const std::string cases_path = tok_test::file_data("gpt3-encoder-cases.json");
  if (!tok_test::exists(cases_path)) GTEST_SKIP() << cases_path << " not found; run scripts/fetch-test-data.sh";
  const Tokenizer t = Tokenizer::from_vocab_merges(dir + "/encoder.json", dir + "/vocab.bpe");
  nlohmann::json j;
  std::ifstream(cases_path) >> j;
  const auto& cases = j["cases"];
  ASSERT_GT(cases.size(), 1000u);
  size_t passed = 0, failed_shown = 0;
  std::string all_text;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const auto want = c["ids"].get<std::vector<int32_t>>();
    // gpt-3-encoder knows no special tokens: "<|endoftext|>" is plain text to it.
    const auto got = t.encode(text, false, /*parse_special=*/false);
    if (got == want) {
      ++passed;
    } else if (failed_shown++ < 5) {
      ADD_FAILURE() << "mismatch on: " << text;
    }
    EXPECT_EQ(t.decode(got), text);
    all_text += text;
    all_text += '\n';
  }
  std::printf("[ gpt-3-encoder ] %zu / %zu cases match\n", passed, cases.size());
  EXPECT_EQ(passed, cases.size());

  // Throughput on ~4 MB of real text with a cold word cache.
  std::string big;
  while (big.size() < (4u << 20)) big += all_text;
  const Tokenizer cold = Tokenizer::from_vocab_merges(dir + "/encoder.json", dir + "/vocab.bpe");
  const auto t0 = std::chrono::steady_clock::now();
  const auto ids = cold.encode(big, false, false);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("[ gpt-3-encoder ] encode: %.1f MB in %.3f s = %.1f MB/s, %.2f M tokens/s\n", big.size() / 1e6, s,
              big.size() / 1e6 / s, ids.size() / 1e6 / s);
  EXPECT_LT(s / (big.size() / 1e6), 1.0) << "slower than 1 s per MB";
}
