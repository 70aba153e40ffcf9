// The text of a reply as its tokens arrive: what may be sent to a streaming
// client so far. A delta never ends inside a UTF-8 character (a byte-level
// BPE token can split one) nor with the beginning of a stop sequence (it may
// yet be cut), so the streamed deltas concatenate to exactly the final text.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "glassbox/tokenizer.h"

namespace glassbox::server {

class TextStream {
 public:
  // tok may be null (no text: every delta is empty). lstrip: drop the reply's
  // leading whitespace (chat).
  TextStream(const Tokenizer* tok, std::vector<std::string> stop, bool lstrip)
      : tok_(tok), stop_(std::move(stop)), lstrip_(lstrip) {}

  // Adds a generated token; returns the text that became final. After a stop
  // sequence appears, stopped() is true and later tokens are ignored.
  std::string push(int32_t token);
  // The rest (end of generation): whatever was held back.
  std::string finish();
  bool stopped() const { return stopped_; }
  const std::string& text() const { return text_; }  // the reply so far, stop sequence cut

 private:
  std::string take(size_t end);

  const Tokenizer* tok_;
  std::vector<std::string> stop_;
  bool lstrip_;
  std::vector<int32_t> tokens_;
  std::string text_;
  size_t sent_ = 0;
  bool stopped_ = false;
};

}  // namespace glassbox::server
