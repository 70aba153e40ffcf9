// Tokenizer::decode: the inverse of encode for the text part. Byte-level
// pieces map back through GPT-2's alphabet; SentencePiece pieces turn U+2581
// into spaces and <0xNN> into bytes, and the one leading space encode()
// added is stripped (HF decoder Strip(" ", 1, 0) after Replace/ByteFallback/Fuse).
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/model.h"
#include "tokenizer/utf8.h"

namespace glassbox {

namespace {

void append_token(const detail::TokenizerModel& m, int32_t id, std::string& out) {
  if (id < 0 || static_cast<size_t>(id) >= m.pieces.size())
    fail(m.source, ": token id ", id, " is outside the vocabulary of ", m.pieces.size());
  const std::string& p = m.pieces[id];
  switch (m.types[id]) {
    case TokenType::Control:
    case TokenType::Unknown:
    case TokenType::UserDefined:
      out += p;  // added tokens are written as their text (llama.cpp token_to_piece)
      return;
    case TokenType::Byte:
      if (p.size() == 6 && p.starts_with("<0x")) {
        out += static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16));
        return;
      }
      break;
    default:
      break;
  }
  if (m.kind == TokenizerKind::ByteLevelBPE) {
    detail::byte_level_decode(p, out);
    return;
  }
  for (size_t i = 0; i < p.size();) {
    if (p.compare(i, detail::kSpmSpace.size(), detail::kSpmSpace) == 0) {
      out += ' ';
      i += detail::kSpmSpace.size();
    } else {
      out += p[i++];
    }
  }
}

}  // namespace

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const auto& m = *m_;
  std::string out;
  out.reserve(ids.size() * 4);
  for (int32_t id : ids) {
    if (skip_special && id >= 0 && static_cast<size_t>(id) < m.types.size() &&
        (m.types[id] == TokenType::Control || m.types[id] == TokenType::Unknown))
      continue;
    append_token(m, id, out);
  }
  if (m.kind == TokenizerKind::SentencePieceBPE && m.space_prefix != detail::SpacePrefix::Never &&
      !out.empty() && out[0] == ' ')
    out.erase(0, 1);
  return out;
}

std::string Tokenizer::token_to_bytes(int32_t id) const {
  std::string out;
  append_token(*m_, id, out);
  return out;
}

}  // namespace glassbox
