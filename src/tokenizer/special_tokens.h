// Special / added tokens are cut out of the raw text before normalisation and
// pre-tokenization (HF AddedVocabulary::extract_and_normalize; llama.cpp
// tokenizer_st_partition), leftmost match first, longest token on ties.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace glassbox::detail {

struct AddedToken {
  int32_t id;
  std::string text;
  bool special;  // matched only when parse_special (control / unknown tokens)
  bool lstrip = false, rstrip = false;  // swallow whitespace to the left / right (HF AddedToken)
};

// A piece of input: either raw text [begin, begin+len) or a token id.
struct Fragment {
  int32_t token;  // -1 for text
  uint32_t begin, len;
};

class SpecialMatcher {
 public:
  void build(std::vector<AddedToken> tokens);
  bool empty() const { return tokens_.empty(); }
  void split(std::string_view text, bool parse_special, std::vector<Fragment>& out) const;

 private:
  std::vector<AddedToken> tokens_;           // sorted by first byte, then longest first
  uint32_t first_[257] = {};                 // tokens_ index range per first byte
};

}  // namespace glassbox::detail
