// Tokenizer::encode: special tokens first, then per text fragment either
// regex pre-split + byte-level BPE (with a word cache) or SentencePiece BPE.
#include "glassbox/tokenizer.h"
#include "tokenizer/bpe.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/model.h"
#include "tokenizer/utf8.h"

namespace glassbox {

namespace {

using detail::BpeScratch;
using detail::Span;
using detail::TokenizerModel;

constexpr size_t kMaxCacheEntries = 1 << 18;

// Looks `key` up in the word cache; on a miss, `compute(key)` fills s.ids.
template <class F>
void encode_cached(const TokenizerModel& m, std::string_view key, std::vector<int32_t>& out, BpeScratch& s,
                   F&& compute) {
  {
    std::lock_guard lock(m.cache_mu);
    auto it = m.cache.find(key);
    if (it != m.cache.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  s.ids.clear();
  compute(key);
  out.insert(out.end(), s.ids.begin(), s.ids.end());
  std::lock_guard lock(m.cache_mu);
  if (m.cache.size() >= kMaxCacheEntries) m.cache.clear();
  m.cache.emplace(key, s.ids);
}

void encode_byte_level(const TokenizerModel& m, std::string_view text, std::vector<int32_t>& out,
                       BpeScratch& s) {
  std::string prefixed;
  if (m.byte_level_add_prefix_space && !text.empty() && text[0] != ' ') {
    // HF ByteLevel(add_prefix_space=true), e.g. RoBERTa: "Hello" reads as " Hello".
    prefixed.reserve(text.size() + 1);
    prefixed.append(1, ' ').append(text);
    text = prefixed;
  }
  m.pre.split(text, Span{0, static_cast<uint32_t>(text.size())}, s.spans, s.spans2);
  for (const Span& sp : s.spans) {
    encode_cached(m, text.substr(sp.begin, sp.len), out, s, [&](std::string_view word) {
      s.work.clear();
      detail::byte_level_encode(word, s.work);
      detail::bpe_word(m, s.work, s.ids, s);
    });
  }
}

void encode_sentencepiece(const TokenizerModel& m, std::string_view text, bool at_start, std::vector<int32_t>& out,
                          BpeScratch& s) {
  s.word.clear();
  const bool prefix = m.space_prefix == detail::SpacePrefix::Always ||
                      (m.space_prefix == detail::SpacePrefix::First && at_start);
  if (prefix) s.word.append(detail::kSpmSpace);
  for (char c : text) {
    if (c == ' ')
      s.word.append(detail::kSpmSpace);
    else
      s.word += c;
  }
  // Word boundaries: before every U+2581 (Metaspace split=true), or before
  // the first U+2581 of a run when no merge can cross it (spm_words_independent).
  // Otherwise the whole fragment is one word, as in llama.cpp.
  const std::string_view w = s.word;
  const std::string_view sp = detail::kSpmSpace;
  const bool split = m.metaspace_split || m.spm_words_independent;
  const auto bpe = [&](std::string_view word) { detail::bpe_word(m, word, s.ids, s); };
  if (!split) {
    s.ids.clear();
    bpe(w);
    out.insert(out.end(), s.ids.begin(), s.ids.end());
    return;
  }
  size_t begin = 0;
  for (size_t i = 1; i <= w.size(); ++i) {
    if (i < w.size()) {
      if (w.compare(i, sp.size(), sp) != 0) continue;
      if (!m.metaspace_split && i >= sp.size() && w.compare(i - sp.size(), sp.size(), sp) == 0) continue;
    }
    encode_cached(m, w.substr(begin, i - begin), out, s, bpe);
    begin = i;
  }
}

}  // namespace

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const TokenizerModel& m = *m_;
  thread_local BpeScratch s;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  if (add_special) out.insert(out.end(), m.prefix_ids.begin(), m.prefix_ids.end());

  std::vector<detail::Fragment>& frags = s.frags;
  frags.clear();
  if (m.specials.empty()) {
    if (!text.empty()) frags.push_back({-1, 0, static_cast<uint32_t>(text.size())});
  } else {
    m.specials.split(text, parse_special, frags);
  }
  for (const auto& f : frags) {
    if (f.token >= 0) {
      out.push_back(f.token);
      continue;
    }
    const std::string_view piece = text.substr(f.begin, f.len);
    if (m.kind == TokenizerKind::ByteLevelBPE)
      encode_byte_level(m, piece, out, s);
    else
      encode_sentencepiece(m, piece, f.begin == 0, out, s);
  }

  if (add_special) out.insert(out.end(), m.suffix_ids.begin(), m.suffix_ids.end());
  return out;
}

}  // namespace glassbox
