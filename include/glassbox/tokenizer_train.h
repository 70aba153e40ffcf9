// Byte-level BPE training, as Hugging Face `tokenizers`' BpeTrainer does it
// with a ByteLevel alphabet: texts are pre-split with the same regex encode()
// uses, every byte is a symbol from the start (so any input stays encodable),
// and the most frequent adjacent pair is merged until the vocabulary is full.
//
//   auto r = glassbox::train_bpe(texts, {.vocab_size = 8192});
//   r.tokenizer.encode("hello");
//   glassbox::save_tokenizer_json(r.tokenizer_json, "out/tokenizer.json");
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/tokenizer.h"

namespace glassbox {

struct BpeTrainOptions {
  int vocab_size = 4096;  // specials + 256 byte symbols + merges
  int min_frequency = 2;  // a pair seen fewer times than this is never merged
  // Ids 0.. in this order; cut out of the training text, never merged into.
  std::vector<std::string> special_tokens = {"<|endoftext|>"};
  std::string pre_tokenizer = "gpt2";  // "gpt2" | "llama3" | "qwen2"
  bool show_progress = false;          // merge count on stderr
};

struct BpeTrainResult {
  // An HF tokenizer.json: model BPE (vocab in id order, merges as "a b"),
  // ByteLevel pre-tokenizer / decoder, the specials as added_tokens.
  nlohmann::ordered_json tokenizer_json;
  Tokenizer tokenizer;  // loaded from tokenizer_json, as from_hf_json would
};

// Vocabulary: specials at ids 0..S-1, then the 256 byte symbols in code-point
// order of their byte-level spelling (GPT-2's order), then one token per merge.
// Ties between equally frequent pairs go to the smaller (left id, right id):
// for byte symbols that is the lexicographic order of their spellings, for
// learned tokens the order they were learned. This is HF's rule, so the merges
// equal those of BpeTrainer(initial_alphabet=ByteLevel.alphabet()) on the same
// texts, and the result depends only on the multiset of pre-tokenized words.
// Stops at vocab_size or when no pair occurs min_frequency times. Error on a
// vocab_size below 256 + specials, an empty, invalid-UTF-8 or single-byte-symbol
// special token, or an unknown pre_tokenizer.
BpeTrainResult train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& options = {});

// Writes `tokenizer_json` to `path` atomically (temp file, then rename).
void save_tokenizer_json(const nlohmann::ordered_json& tokenizer_json, const std::string& path);

}  // namespace glassbox
