// Scratch buffers for one encode() call, reused across its words so the hot
// loop does not allocate.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/regex_split.h"
#include "tokenizer/special_tokens.h"

namespace glassbox::detail {

struct BpeSymbol {
  uint32_t begin, len;  // bytes of the work string; len == 0 once merged away
  int32_t id;           // vocabulary id, -1 if the piece is not in the vocabulary
  int32_t prev, next;
};

struct BpeCandidate {
  double priority;  // merge rank, or -score: lower merges first
  int32_t left, right;
  uint32_t len;     // joined length when queued; a mismatch later means stale
  int32_t id;       // the joined token
};

struct BpeScratch {
  std::vector<BpeSymbol> syms;
  std::vector<BpeCandidate> heap;
  std::string work, word;
  std::vector<int32_t> ids;
  std::vector<Span> spans, spans2;
  std::vector<Fragment> frags;
};

}  // namespace glassbox::detail
