// Tokenizer accessors and from_file's dispatch on what the path holds.
#include "glassbox/tokenizer.h"

#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "tokenizer/model.h"

namespace glassbox {

namespace fs = std::filesystem;

Tokenizer::Tokenizer(std::shared_ptr<detail::TokenizerModel> m) : m_(std::move(m)) {}

Tokenizer Tokenizer::from_file(const std::string& path_or_dir) {
  const fs::path p(path_or_dir);
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    if (fs::exists(p / "tokenizer.json")) return from_hf_json((p / "tokenizer.json").string());
    if (fs::exists(p / "vocab.json") && fs::exists(p / "merges.txt"))
      return from_vocab_merges((p / "vocab.json").string(), (p / "merges.txt").string());
    fail(path_or_dir, ": no tokenizer.json or vocab.json + merges.txt in this directory");
  }
  if (!fs::exists(p, ec)) fail(path_or_dir, ": no such file or directory");
  if (p.extension() == ".gguf") return from_gguf(GgufFile::open(path_or_dir));
  return from_hf_json(path_or_dir);
}

const std::string& Tokenizer::token_to_piece(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail(m_->source, ": token id ", id, " is outside the vocabulary of ", vocab_size());
  return m_->pieces[id];
}

std::optional<int32_t> Tokenizer::token_id(std::string_view piece) const {
  const int32_t id = m_->find(piece);
  if (id < 0) return std::nullopt;
  return id;
}

TokenType Tokenizer::token_type(int32_t id) const {
  if (id < 0 || id >= vocab_size())
    fail(m_->source, ": token id ", id, " is outside the vocabulary of ", vocab_size());
  return m_->types[id];
}

int32_t Tokenizer::vocab_size() const { return static_cast<int32_t>(m_->pieces.size()); }
int32_t Tokenizer::bos_id() const { return m_->bos_id; }
int32_t Tokenizer::eos_id() const { return m_->eos_id; }
int32_t Tokenizer::unk_id() const { return m_->unk_id; }
bool Tokenizer::add_bos() const { return m_->bos_id >= 0 && !m_->prefix_ids.empty() && m_->prefix_ids[0] == m_->bos_id; }
std::vector<int32_t> with_bos(const Tokenizer& tok, std::vector<int32_t> ids) {
  const int32_t bos = tok.bos_id();
  if (bos >= 0 && (ids.empty() || ids.front() != bos)) ids.insert(ids.begin(), bos);
  return ids;
}

bool Tokenizer::add_eos() const { return m_->eos_id >= 0 && !m_->suffix_ids.empty() && m_->suffix_ids.back() == m_->eos_id; }

namespace {
constexpr enum_table::Names<TokenizerKind, 2> kKinds = {{TokenizerKind::ByteLevelBPE, "byte_level_bpe"},
                                                          {TokenizerKind::SentencePieceBPE, "sentencepiece_bpe"}};
constexpr enum_table::Names<TokenType, 6> kTokenTypes = {
    {TokenType::Normal, "normal"}, {TokenType::Control, "control"}, {TokenType::UserDefined, "user_defined"},
    {TokenType::Unknown, "unknown"}, {TokenType::Byte, "byte"},     {TokenType::Unused, "unused"}};
}  // namespace

const char* to_string(TokenizerKind k) { return enum_table::name(k, kKinds); }
template <>
TokenizerKind from_string<TokenizerKind>(std::string_view s) {
  return enum_table::value(s, kKinds, "tokenizer kind");
}
const char* to_string(TokenType t) { return enum_table::name(t, kTokenTypes); }
template <>
TokenType from_string<TokenType>(std::string_view s) { return enum_table::value(s, kTokenTypes, "token type"); }

TokenizerKind Tokenizer::kind() const { return m_->kind; }
const std::string& Tokenizer::pre_tokenizer() const { return m_->pre_name; }

}  // namespace glassbox
