// The BPE merge loop shared by byte-level and SentencePiece-style models.
// Adjacent symbols are joined best-pair-first until no pair can merge, with
// a heap of candidates (llama.cpp llm_tokenizer_bpe_session / _spm_session):
// O(n log n) per word instead of the reference O(n^2) rescans. Ties go to
// the leftmost pair, which reproduces HF's left-to-right application of one
// merge rule to a word.
#include <algorithm>

#include "glassbox/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/model.h"
#include "tokenizer/utf8.h"

namespace glassbox::detail {

namespace {

struct WorseFirst {  // std heap is a max-heap: "less" means merges later
  bool operator()(const BpeCandidate& a, const BpeCandidate& b) const {
    return a.priority > b.priority || (a.priority == b.priority && a.left > b.left);
  }
};

void push_candidate(const TokenizerModel& m, std::string_view work, BpeScratch& s, int32_t l, int32_t r) {
  if (l < 0 || r < 0) return;
  const BpeSymbol& a = s.syms[l];
  const BpeSymbol& b = s.syms[r];
  BpeCandidate c{0.0, l, r, a.len + b.len, -1};
  if (m.merges_by_score) {
    // SentencePiece BPE: any pair whose join is a piece, best score first.
    c.id = m.find(work.substr(a.begin, c.len));
    if (c.id < 0) return;
    c.priority = -static_cast<double>(m.scores[c.id]);
  } else {
    if (a.id < 0 || b.id < 0) return;
    auto it = m.merges.find(pair_key(a.id, b.id));
    if (it == m.merges.end()) return;
    c.priority = it->second.rank;
    c.id = it->second.id;
  }
  s.heap.push_back(c);
  std::push_heap(s.heap.begin(), s.heap.end(), WorseFirst{});
}

// A symbol that is not a token: its bytes as <0xNN> (SentencePiece byte
// fallback) or byte-level single-byte tokens, else <unk>.
void emit_unknown(const TokenizerModel& m, std::string_view bytes, std::vector<int32_t>& out) {
  // Byte-level symbols that are not tokens are single characters whose byte
  // has no token either, so only SentencePiece can fall back to bytes.
  if (m.kind == TokenizerKind::SentencePieceBPE && m.byte_fallback) {
    bool all = true;
    for (char c : bytes) all = all && m.byte_ids[static_cast<uint8_t>(c)] >= 0;
    if (all) {
      for (char c : bytes) out.push_back(m.byte_ids[static_cast<uint8_t>(c)]);
      return;
    }
  }
  if (m.unk_id < 0)
    fail(m.source, ": cannot tokenize '", bytes, "': not in the vocabulary and no byte or <unk> token");
  out.push_back(m.unk_id);
}

}  // namespace

void bpe_word(const TokenizerModel& m, std::string_view work, std::vector<int32_t>& out, BpeScratch& s) {
  if (work.empty()) return;
  if (m.ignore_merges) {
    const int32_t whole = m.find(work);
    if (whole >= 0) {
      out.push_back(whole);
      return;
    }
  }
  s.syms.clear();
  s.heap.clear();
  for (size_t i = 0; i < work.size();) {
    const size_t n = utf8_char_len(work, i);
    const auto idx = static_cast<int32_t>(s.syms.size());
    s.syms.push_back({static_cast<uint32_t>(i), static_cast<uint32_t>(n), m.find(work.substr(i, n)), idx - 1,
                      i + n < work.size() ? idx + 1 : -1});
    i += n;
  }
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(s.syms.size()); ++i) push_candidate(m, work, s, i, i + 1);

  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), WorseFirst{});
    const BpeCandidate c = s.heap.back();
    s.heap.pop_back();
    BpeSymbol& a = s.syms[c.left];
    BpeSymbol& b = s.syms[c.right];
    if (a.len == 0 || b.len == 0 || a.next != c.right || a.len + b.len != c.len) continue;  // stale
    a.len += b.len;
    a.id = c.id;
    b.len = 0;
    a.next = b.next;
    if (b.next >= 0) s.syms[b.next].prev = c.left;
    push_candidate(m, work, s, a.prev, c.left);
    push_candidate(m, work, s, c.left, a.next);
  }

  for (int32_t i = 0; i >= 0; i = s.syms[i].next) {
    const BpeSymbol& sym = s.syms[i];
    if (sym.id >= 0) {
      out.push_back(sym.id);
    } else {
      emit_unknown(m, work.substr(sym.begin, sym.len), out);
    }
  }
}

}  // namespace glassbox::detail
