// Internals of train_bpe: the merge loop (train_bpe.cpp) hands its vocabulary
// and merges to the tokenizer.json writer (train_bpe_json.cpp).
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassbox::detail {

struct TrainedBpe {
  std::vector<std::string> pieces;                   // id -> byte-level piece; specials first
  int32_t num_specials = 0;                          // pieces[0, num_specials) are the specials
  std::vector<std::pair<int32_t, int32_t>> merges;   // (left id, right id), in the order learned
};

// The split pattern for a BpeTrainOptions::pre_tokenizer name; Error if unknown.
const char* train_pre_pattern(const std::string& name);

// tokenizer.json for a trained vocabulary; `pre_tokenizer` as in train_pre_pattern.
nlohmann::ordered_json trained_bpe_json(const TrainedBpe& t, const std::string& pre_tokenizer);

}  // namespace glassbox::detail
