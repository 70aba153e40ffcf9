// Byte-level BPE training (HF `tokenizers` BpeTrainer with a ByteLevel
// alphabet; Sennrich et al. 2016, Radford et al. 2019).
//
// Words are counted once, then the merge loop only touches the words that
// contain the chosen pair: `where` maps a pair to the words holding it, and
// a max-heap of (count, pair) is invalidated lazily: an entry whose count no
// longer matches the pair's current count is dropped or re-queued when it
// surfaces. Every count increase queues a fresh entry, so each pair always has
// an entry at least as high as its count and the first valid entry popped is
// the true maximum.
#include <algorithm>
#include <array>
#include <cstdio>
#include <queue>
#include <unordered_map>

#include "glassbox/error.h"
#include "glassbox/tokenizer_train.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/model.h"
#include "tokenizer/regex_split.h"
#include "tokenizer/special_tokens.h"
#include "tokenizer/train_bpe.h"
#include "tokenizer/utf8.h"

namespace glassbox {

namespace detail {
Tokenizer tokenizer_from_hf_json(const nlohmann::json& j, const std::string& path, bool read_config);
}

namespace {

using detail::pair_key;
using detail::Span;

// Distinct pre-tokenized words, their symbols stored back to back.
struct Words {
  std::vector<int32_t> syms;
  std::vector<uint32_t> begin, len;
  std::vector<int64_t> freq;
};

Words count_words(const std::vector<std::string>& texts, const std::vector<std::string>& specials,
                  const char* pattern, const std::array<int32_t, 256>& byte_id) {
  detail::PreTokenizer pre;
  pre.add(pattern);
  detail::SpecialMatcher matcher;
  std::vector<detail::AddedToken> added;
  for (const auto& s : specials) added.push_back({static_cast<int32_t>(added.size()), s, true});
  matcher.build(added);

  Words w;
  detail::StrMap<uint32_t> index;
  std::vector<detail::Fragment> frags;
  std::vector<Span> spans, scratch;
  for (size_t t = 0; t < texts.size(); ++t) {
    const std::string& text = texts[t];
    if (text.size() > UINT32_MAX) fail("train_bpe: texts[", t, "] is larger than 4 GiB; split it");
    // Specials are cut out first, as HF's AddedVocabulary does, so the text
    // around "<|endoftext|>" never merges with it.
    matcher.split(text, /*parse_special=*/true, frags);
    for (const auto& f : frags) {
      if (f.token >= 0) continue;
      pre.split(text, Span{f.begin, f.len}, spans, scratch);
      for (const Span& sp : spans) {
        const std::string_view word(text.data() + sp.begin, sp.len);
        auto it = index.find(word);
        if (it != index.end()) {
          ++w.freq[it->second];
          continue;
        }
        index.emplace(std::string(word), static_cast<uint32_t>(w.freq.size()));
        w.begin.push_back(static_cast<uint32_t>(w.syms.size()));
        w.len.push_back(static_cast<uint32_t>(word.size()));
        w.freq.push_back(1);
        for (char c : word) w.syms.push_back(byte_id[static_cast<uint8_t>(c)]);
      }
    }
  }
  return w;
}

struct Candidate {
  int64_t count;
  int32_t a, b;
};

class Trainer {
 public:
  Trainer(Words words, int64_t min_frequency)
      : w_(std::move(words)), min_frequency_(std::max<int64_t>(min_frequency, 1)) {
    for (uint32_t i = 0; i < w_.freq.size(); ++i) {
      const int32_t* s = &w_.syms[w_.begin[i]];
      for (uint32_t k = 0; k + 1 < w_.len[i]; ++k) {
        const uint64_t key = pair_key(s[k], s[k + 1]);
        counts_[key] += w_.freq[i];
        auto& ws = where_[key];
        if (ws.empty() || ws.back() != i) ws.push_back(i);
      }
    }
    for (const auto& [key, c] : counts_) heap_.push({c, unpack_a(key), unpack_b(key)});
  }

  // The next pair to merge, or false when none occurs min_frequency times.
  bool best(int32_t& a, int32_t& b) {
    while (!heap_.empty()) {
      const Candidate top = heap_.top();
      heap_.pop();
      const auto it = counts_.find(pair_key(top.a, top.b));
      const int64_t now = it == counts_.end() ? 0 : it->second;
      if (now != top.count) {
        // Lower now: re-queue at the true count. Higher: a newer entry exists.
        if (now > 0 && now < top.count) heap_.push({now, top.a, top.b});
        continue;
      }
      if (now < min_frequency_) return false;
      a = top.a;
      b = top.b;
      return true;
    }
    return false;
  }

  // Replaces every occurrence of (a, b) by c, updating pair counts.
  void merge(int32_t a, int32_t b, int32_t c) {
    const uint64_t ab = pair_key(a, b);
    auto node = where_.extract(ab);
    std::vector<uint32_t> ws = std::move(node.mapped());
    std::sort(ws.begin(), ws.end());
    ws.erase(std::unique(ws.begin(), ws.end()), ws.end());
    grown_.clear();
    for (uint32_t i : ws) merge_word(i, a, b, c);
    std::sort(grown_.begin(), grown_.end());
    grown_.erase(std::unique(grown_.begin(), grown_.end()), grown_.end());
    for (uint64_t key : grown_)
      if (const int64_t n = counts_[key]; n > 0) heap_.push({n, unpack_a(key), unpack_b(key)});
    counts_.erase(ab);
  }

 private:
  // priority_queue pops the largest: higher count, then smaller (left id,
  // right id), as HF's BpeTrainer orders its Merge entries.
  struct CandidateOrder {
    bool operator()(const Candidate& x, const Candidate& y) const {
      if (x.count != y.count) return x.count < y.count;
      return x.a != y.a ? x.a > y.a : x.b > y.b;
    }
  };

  static int32_t unpack_a(uint64_t key) { return static_cast<int32_t>(key >> 32); }
  static int32_t unpack_b(uint64_t key) { return static_cast<int32_t>(key & 0xFFFFFFFFu); }

  void add(int32_t x, int32_t y, int64_t f, uint32_t word) {
    const uint64_t key = pair_key(x, y);
    counts_[key] += f;
    auto& ws = where_[key];
    if (ws.empty() || ws.back() != word) ws.push_back(word);
    grown_.push_back(key);
  }
  void sub(int32_t x, int32_t y, int64_t f) { counts_[pair_key(x, y)] -= f; }

  // Left to right, non-overlapping, in place (the word only shrinks). The
  // left neighbour is read from the output, so "a a a a" -> "c c" counts
  // (c, c) once and (c, a) not at all.
  void merge_word(uint32_t i, int32_t a, int32_t b, int32_t c) {
    int32_t* s = &w_.syms[w_.begin[i]];
    const uint32_t n = w_.len[i];
    const int64_t f = w_.freq[i];
    uint32_t r = 0, o = 0;
    while (r < n) {
      if (r + 1 < n && s[r] == a && s[r + 1] == b) {
        if (o > 0) {
          sub(s[o - 1], a, f);
          add(s[o - 1], c, f, i);
        }
        if (r + 2 < n) {
          sub(b, s[r + 2], f);
          add(c, s[r + 2], f, i);
        }
        s[o++] = c;
        r += 2;
      } else {
        s[o++] = s[r++];
      }
    }
    w_.len[i] = o;
  }

  Words w_;
  int64_t min_frequency_;
  std::unordered_map<uint64_t, int64_t> counts_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where_;
  std::priority_queue<Candidate, std::vector<Candidate>, CandidateOrder> heap_;
  std::vector<uint64_t> grown_;
};

std::vector<std::string> checked_specials(const BpeTrainOptions& o) {
  std::vector<std::string> out;
  for (const auto& s : o.special_tokens) {
    if (s.empty()) fail("train_bpe: empty special token");
    for (size_t i = 0; i < s.size(); i += detail::utf8_valid_len(s, i))
      if (detail::utf8_valid_len(s, i) == 0) fail("train_bpe: special token '", s, "' is not valid UTF-8");
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

}  // namespace

BpeTrainResult train_bpe(const std::vector<std::string>& texts, const BpeTrainOptions& o) {
  const char* pattern = detail::train_pre_pattern(o.pre_tokenizer);
  const std::vector<std::string> specials = checked_specials(o);
  const int64_t min_vocab = 256 + static_cast<int64_t>(specials.size());
  if (o.vocab_size < min_vocab)
    fail("train_bpe: vocab_size ", o.vocab_size, " is too small: the 256 byte symbols and ", specials.size(),
         " special token(s) need at least ", min_vocab);

  detail::TrainedBpe t;
  t.pieces = specials;
  t.num_specials = static_cast<int32_t>(specials.size());
  detail::StrMap<int32_t> piece_id;
  for (int32_t id = 0; id < t.num_specials; ++id) piece_id.emplace(t.pieces[id], id);

  // The byte alphabet in code-point order of the spellings, as HF sorts its
  // alphabet. That is GPT-2's own vocab order (encoder.py's bs: the 188
  // printable bytes, which spell themselves, then the other 68 from U+0100).
  const auto& table = detail::byte_level_table();
  std::vector<std::string> alphabet;
  for (int b = 0; b < 256; ++b) alphabet.emplace_back(table.utf8[b], table.utf8_len[b]);
  std::vector<int> order(256);
  for (int b = 0; b < 256; ++b) order[b] = b;
  std::sort(order.begin(), order.end(), [&](int x, int y) { return alphabet[x] < alphabet[y]; });
  std::array<int32_t, 256> byte_id{};
  for (int b : order) {
    if (piece_id.contains(alphabet[b]))
      fail("train_bpe: special token '", alphabet[b], "' is also the byte symbol for 0x", std::hex, b);
    byte_id[b] = static_cast<int32_t>(t.pieces.size());
    piece_id.emplace(alphabet[b], byte_id[b]);
    t.pieces.push_back(alphabet[b]);
  }

  Trainer trainer(count_words(texts, specials, pattern, byte_id), o.min_frequency);
  int32_t a, b;
  while (static_cast<int64_t>(t.pieces.size()) < o.vocab_size && trainer.best(a, b)) {
    std::string joined = t.pieces[a] + t.pieces[b];
    // A merge spelling a piece that already exists reuses its token and adds
    // no vocabulary entry, as in HF (no case is known with a full alphabet
    // and specials cut from the text, but nothing rules it out).
    auto [it, added] = piece_id.try_emplace(std::move(joined), static_cast<int32_t>(t.pieces.size()));
    if (added) t.pieces.push_back(it->first);
    t.merges.emplace_back(a, b);
    trainer.merge(a, b, it->second);
    if (o.show_progress && t.merges.size() % 1000 == 0)
      std::fprintf(stderr, "\rtrain_bpe: %zu merges, %zu / %d tokens", t.merges.size(), t.pieces.size(),
                   o.vocab_size);
  }
  if (o.show_progress)
    std::fprintf(stderr, "\rtrain_bpe: %zu merges, %zu / %d tokens\n", t.merges.size(), t.pieces.size(),
                 o.vocab_size);

  nlohmann::ordered_json j = detail::trained_bpe_json(t, o.pre_tokenizer);
  Tokenizer tok = detail::tokenizer_from_hf_json(nlohmann::json(j), "train_bpe", /*read_config=*/false);
  return {std::move(j), std::move(tok)};
}

}  // namespace glassbox
