// Vocabulary from GGUF metadata (tokenizer.ggml.*), as llama.cpp's
// llama_vocab::impl::load reads it:
//   model = "gpt2"  -> byte-level BPE with merges and a `pre` regex set;
//   model = "llama" -> SentencePiece BPE driven by piece scores, byte
//                      fallback to <0xNN>, a space prefix on each fragment.
// token_type follows llama.cpp's llama_token_type: 1 normal, 2 unknown,
// 3 control, 4 user-defined, 5 unused, 6 byte.
#include "glassbox/error.h"
#include "glassbox/gguf.h"
#include "glassbox/tokenizer.h"
#include "tokenizer/model.h"

namespace glassbox {

namespace {

TokenType token_type_from_gguf(int64_t t) {
  switch (t) {
    case 2: return TokenType::Unknown;
    case 3: return TokenType::Control;
    case 4: return TokenType::UserDefined;
    case 5: return TokenType::Unused;
    case 6: return TokenType::Byte;
    default: return TokenType::Normal;
  }
}

int32_t optional_id(const GgufFile& f, const std::string& key, int32_t fallback) {
  const GgufValue* v = f.find_kv(key);
  return v ? static_cast<int32_t>(v->as_uint(key)) : fallback;
}

bool optional_bool(const GgufFile& f, const std::string& key, bool fallback) {
  const GgufValue* v = f.find_kv(key);
  return v ? v->as_bool(key) : fallback;
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& f) {
  auto m = std::make_shared<detail::TokenizerModel>();
  m->source = f.path();
  const std::string& model = f.kv("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  bool add_bos = false;
  if (model == "gpt2") {
    m->kind = TokenizerKind::ByteLevelBPE;
  } else if (model == "llama") {
    m->kind = TokenizerKind::SentencePieceBPE;
    m->merges_by_score = true;
    m->byte_fallback = true;
    m->space_prefix = detail::SpacePrefix::Always;
    m->bos_id = 1, m->eos_id = 2, m->unk_id = 0;  // llama.cpp's defaults for SPM vocabularies
    add_bos = true;
  } else {
    fail(f.path(), ": unsupported tokenizer.ggml.model '", model, "' (supported: gpt2, llama)");
  }

  const GgufArray& tokens = f.kv("tokenizer.ggml.tokens").as_array("tokenizer.ggml.tokens");
  const GgufValue* types_v = f.find_kv("tokenizer.ggml.token_type");
  const GgufArray* types = types_v ? &types_v->as_array("tokenizer.ggml.token_type") : nullptr;
  if (types && types->size() < tokens.size())
    fail(f.path(), ": tokenizer.ggml.token_type has ", types->size(), " entries for ", tokens.size(), " tokens");
  const GgufValue* scores_v = f.find_kv("tokenizer.ggml.scores");
  const GgufArray* scores = scores_v ? &scores_v->as_array("tokenizer.ggml.scores") : nullptr;
  if (scores && scores->size() < tokens.size())
    fail(f.path(), ": tokenizer.ggml.scores has ", scores->size(), " entries for ", tokens.size(), " tokens");

  m->pieces.reserve(tokens.size());
  m->piece_to_id.reserve(tokens.size());
  if (m->merges_by_score) m->scores.assign(tokens.size(), 0.0f);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto id = static_cast<int32_t>(i);
    std::string piece = tokens[i].as_string("tokenizer.ggml.tokens");
    if (piece.empty()) piece = "[EMPTY_" + std::to_string(i) + "]";  // llama.cpp does the same
    const TokenType type = types ? token_type_from_gguf((*types)[i].as_int("tokenizer.ggml.token_type"))
                                 : TokenType::Normal;
    if (type == TokenType::Control || type == TokenType::UserDefined || type == TokenType::Unknown)
      m->added.push_back({id, piece, type != TokenType::UserDefined});
    m->set_piece(id, std::move(piece), type);
    if (scores && m->merges_by_score) {
      const GgufValue& s = (*scores)[i];
      m->scores[i] = s.type == GgufType::FLOAT32 || s.type == GgufType::FLOAT64
                         ? static_cast<float>(s.as_float("tokenizer.ggml.scores"))
                         : static_cast<float>(s.as_int("tokenizer.ggml.scores"));
    }
  }

  if (m->kind == TokenizerKind::ByteLevelBPE) {
    const GgufArray& merges = f.kv("tokenizer.ggml.merges").as_array("tokenizer.ggml.merges");
    for (size_t i = 0; i < merges.size(); ++i) {
      const std::string& rule = merges[i].as_string("tokenizer.ggml.merges");
      // llama.cpp splits at the first space after position 0, so a piece may
      // itself start with a space.
      const size_t sp = rule.find(' ', 1);
      if (sp == std::string::npos) fail(f.path(), ": tokenizer.ggml.merges[", i, "] = '", rule, "' has no space");
      m->add_merge(std::string_view(rule).substr(0, sp), std::string_view(rule).substr(sp + 1),
                   static_cast<int32_t>(i));  // rules naming unknown pieces are skipped, as llama.cpp does
    }
    const GgufValue* pre_v = f.find_kv("tokenizer.ggml.pre");
    const std::string pre = pre_v ? pre_v->as_string("tokenizer.ggml.pre") : "default";
    m->pre = detail::pretokenizer_for_gguf_pre(pre, f.path(), m->pre_name);
    m->ignore_merges = m->pre_name == "llama3";  // llama.cpp: ignore_merges for llama3-family vocabularies
    add_bos = m->pre_name == "llama3";
  } else {
    m->pre_name = "none";
    if (!optional_bool(f, "tokenizer.ggml.add_space_prefix", true)) m->space_prefix = detail::SpacePrefix::Never;
  }

  m->bos_id = optional_id(f, "tokenizer.ggml.bos_token_id", m->bos_id);
  m->eos_id = optional_id(f, "tokenizer.ggml.eos_token_id", m->eos_id);
  m->unk_id = optional_id(f, "tokenizer.ggml.unknown_token_id", m->unk_id);
  const auto n = static_cast<int32_t>(m->pieces.size());
  for (int32_t* id : {&m->bos_id, &m->eos_id, &m->unk_id})
    if (*id >= n) *id = -1;  // llama.cpp disables out-of-range special ids the same way
  if (optional_bool(f, "tokenizer.ggml.add_bos_token", add_bos) && m->bos_id >= 0) m->prefix_ids = {m->bos_id};
  if (optional_bool(f, "tokenizer.ggml.add_eos_token", false) && m->eos_id >= 0) m->suffix_ids = {m->eos_id};

  m->finalize();
  return Tokenizer(std::move(m));
}

}  // namespace glassbox
