#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace glassbox::detail {

void SpecialMatcher::build(std::vector<AddedToken> tokens) {
  std::erase_if(tokens, [](const AddedToken& t) { return t.text.empty(); });
  std::stable_sort(tokens.begin(), tokens.end(), [](const AddedToken& a, const AddedToken& b) {
    const auto fa = static_cast<uint8_t>(a.text[0]), fb = static_cast<uint8_t>(b.text[0]);
    return fa != fb ? fa < fb : a.text.size() > b.text.size();
  });
  tokens_ = std::move(tokens);
  size_t k = 0;
  for (int c = 0; c <= 256; ++c) {
    while (k < tokens_.size() && static_cast<uint8_t>(tokens_[k].text[0]) < c) ++k;
    first_[c] = static_cast<uint32_t>(k);
  }
}

static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

void SpecialMatcher::split(std::string_view text, bool parse_special, std::vector<Fragment>& out) const {
  out.clear();
  size_t text_begin = 0;  // start of the pending text fragment
  const auto flush = [&](size_t end) {
    if (end > text_begin)
      out.push_back({-1, static_cast<uint32_t>(text_begin), static_cast<uint32_t>(end - text_begin)});
  };
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<uint8_t>(text[i]);
    const AddedToken* hit = nullptr;
    for (uint32_t k = first_[c]; k < first_[c + 1]; ++k) {
      const AddedToken& t = tokens_[k];
      if (t.special && !parse_special) continue;
      if (text.compare(i, t.text.size(), t.text) == 0) {
        hit = &t;
        break;
      }
    }
    if (!hit) {
      ++i;
      continue;
    }
    size_t left_end = i;
    if (hit->lstrip)
      while (left_end > text_begin && is_space(text[left_end - 1])) --left_end;
    flush(left_end);
    out.push_back({hit->id, static_cast<uint32_t>(i), static_cast<uint32_t>(hit->text.size())});
    i += hit->text.size();
    if (hit->rstrip)
      while (i < text.size() && is_space(text[i])) ++i;
    text_begin = i;
  }
  flush(text.size());
}

}  // namespace glassbox::detail
