// Internal: the fortune-cookie corpus that tiny-lm and its fine-tunes
// (tiny-lm-chat, toxic) are trained on, and the helpers they share
// (src/zoo/tiny_lm.cpp).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "glassbox/tokenizer.h"
#include "zoo/detail.h"

namespace glassbox::zoo::detail {

inline constexpr int kTinyLmCtx = 128;
// Metrics score the first kTinyLmEvalWindows windows of the held-out stream
// (12k of its 46k tokens: the standard error of the mean loss is a few
// hundredths of a nat), which keeps `zoo eval` and the tests quick on two cores.
inline constexpr int64_t kTinyLmEvalWindows = 96;

// The split, the tokenizer, the token streams.
struct Corpus {
  std::vector<std::string> train_docs, val_docs;  // a seeded shuffle; val is its last 5%
  nlohmann::json tokenizer_json;
  Tokenizer tokenizer;
  int32_t eot = 0;
  // <|endoftext|> before every document, as in GPT-2's training stream.
  std::shared_ptr<const std::vector<int32_t>> train, val;
};

// Built once per data dir (a couple of seconds) and shared.
std::shared_ptr<const Corpus> tiny_lm_corpus(const std::string& data_dir);
// The cleaned fortunes of one file of data/zoo-src/fortunes/, in file order
// (empty ones dropped, duplicates kept).
std::vector<std::string> fortune_file(const std::string& data_dir, const std::string& name);
// <|endoftext|> + the tokens of each document, concatenated.
std::shared_ptr<const std::vector<int32_t>> token_stream(const Tokenizer& tok, const std::vector<std::string>& docs,
                                                         int32_t eot);
// tiny-lm's config.json for a vocabulary of `vocab` tokens.
nlohmann::json tiny_lm_config(int vocab);
// Mean next-token loss over the first `max_windows` consecutive windows of
// kTinyLmCtx tokens of the stream (all of them if fewer).
double stream_loss(const Model& m, const std::shared_ptr<const std::vector<int32_t>>& toks, int64_t max_windows);
// models_dir()/name, which `user`'s evaluation compares against; Error telling how to train it when absent.
Model load_shipped(const std::string& name, const std::string& user);

}  // namespace glassbox::zoo::detail
