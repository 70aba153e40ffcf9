#include "server/text_stream.h"

#include <algorithm>

namespace glassbox::server {

namespace {

// Bytes at the end of s that start a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(const std::string& s) {
  const size_t n = s.size();
  for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return len > back ? back : 0;
  }
  return 0;
}

}  // namespace

std::string TextStream::take(size_t end) {
  std::string out = end > sent_ ? text_.substr(sent_, end - sent_) : std::string();
  sent_ = std::max(sent_, end);
  return out;
}

std::string TextStream::push(int32_t token) {
  if (stopped_ || !tok_) return {};
  tokens_.push_back(token);
  text_ = tok_->decode(tokens_);
  if (lstrip_) text_.erase(0, std::min(text_.find_first_not_of(" \t\n\r"), text_.size()));
  // The earliest stop sequence cuts the text there.
  size_t cut = std::string::npos;
  for (const std::string& s : stop_)
    if (!s.empty()) cut = std::min(cut, text_.find(s));
  if (cut != std::string::npos) {
    text_.resize(cut);
    stopped_ = true;
    return take(cut);
  }
  // Hold back a tail that may still become a stop sequence, and a split character.
  size_t hold = incomplete_utf8_tail(text_);
  for (const std::string& s : stop_)
    for (size_t k = std::min(s.size() - 1, text_.size()); k > hold; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  return take(text_.size() - hold);
}

std::string TextStream::finish() { return take(text_.size()); }

}  // namespace glassbox::server
