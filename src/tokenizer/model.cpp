#include "tokenizer/model.h"

#include <cstdio>

#include "glassbox/error.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"

namespace glassbox::detail {

// Ids index dense tables (pieces, types), so one id of 2^31 in a 50-byte file
// would allocate 64 GB. Real vocabularies hold a few hundred thousand pieces.
constexpr int32_t kMaxTokenId = (1 << 22) - 1;

void TokenizerModel::set_piece(int32_t id, std::string piece, TokenType type) {
  if (id < 0) fail(source, ": negative token id ", id, " for '", piece, "'");
  if (id > kMaxTokenId)
    fail(source, ": token id ", id, " for '", piece, "' is beyond the ", kMaxTokenId, " glassbox accepts");
  if (static_cast<size_t>(id) >= pieces.size()) {
    pieces.resize(static_cast<size_t>(id) + 1);
    types.resize(static_cast<size_t>(id) + 1, TokenType::Unused);
  }
  piece_to_id[piece] = id;
  pieces[id] = std::move(piece);
  types[id] = type;
}

bool TokenizerModel::add_merge(std::string_view a, std::string_view b, int32_t rank) {
  const int32_t ia = find(a), ib = find(b);
  if (ia < 0 || ib < 0) return false;
  std::string joined;
  joined.reserve(a.size() + b.size());
  joined.append(a).append(b);
  const int32_t id = find(joined);
  if (id < 0) return false;
  // The first (best-ranked) rule for a pair wins, as in HF's merge map.
  merges.try_emplace(pair_key(ia, ib), Merge{rank, id});
  return true;
}

void TokenizerModel::finalize() {
  const auto n = static_cast<int32_t>(pieces.size());
  if (n == 0) fail(source, ": empty vocabulary");
  for (int32_t* id : {&unk_id, &bos_id, &eos_id})
    if (*id >= n) fail(source, ": special token id ", *id, " is outside the vocabulary of ", n);
  for (const auto* ids : {&prefix_ids, &suffix_ids})
    for (int32_t id : *ids)
      if (id < 0 || id >= n) fail(source, ": post-processor token id ", id, " is outside the vocabulary of ", n);
  if (merges_by_score && scores.size() != pieces.size())
    fail(source, ": ", scores.size(), " scores for ", n, " tokens");

  const auto& t = byte_level_table();
  for (int b = 0; b < 256; ++b) {
    if (kind == TokenizerKind::ByteLevelBPE) {
      byte_ids[b] = find(std::string_view(t.utf8[b], t.utf8_len[b]));
    } else {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_ids[b] = find(name);
    }
  }
  if (kind == TokenizerKind::SentencePieceBPE) {
    spm_words_independent = true;
    for (const std::string& p : pieces) {
      for (size_t at = p.find(kSpmSpace, 1); at != std::string::npos; at = p.find(kSpmSpace, at + 1)) {
        if (at < kSpmSpace.size() || p.compare(at - kSpmSpace.size(), kSpmSpace.size(), kSpmSpace) != 0) {
          spm_words_independent = false;
          break;
        }
      }
      if (!spm_words_independent) break;
    }
  }
  for (const AddedToken& a : added)
    if (a.id < 0 || a.id >= n) fail(source, ": added token '", a.text, "' has id ", a.id, " outside the vocabulary");
  specials.build(added);
}

}  // namespace glassbox::detail
