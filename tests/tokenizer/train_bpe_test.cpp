// train_bpe: hand-checked merges, agreement with a naive trainer, round trips,
// tokenizer.json reload, determinism, errors and speed.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "glassbox/tokenizer_train.h"
#include "tok_test_util.h"

using glassbox::BpeTrainOptions;
using glassbox::Tokenizer;
using glassbox::train_bpe;

namespace {

const std::string G = "\xC4\xA0";  // 'Ġ', the byte-level space

std::vector<std::string> merges_of(const glassbox::BpeTrainResult& r) {
  return r.tokenizer_json["model"]["merges"].get<std::vector<std::string>>();
}

BpeTrainOptions opts(int vocab_size, int min_frequency = 2) {
  BpeTrainOptions o;
  o.vocab_size = vocab_size;
  o.min_frequency = min_frequency;
  return o;
}

// Deterministic pseudo-English: a Zipf-like lexicon of syllable words in
// sentences with punctuation and numbers (no std:: distributions, whose
// output differs between standard libraries).
struct Lcg {
  uint64_t s;
  uint32_t next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
  uint32_t below(uint32_t n) { return next() % n; }
  double unit() { return next() / 2147483648.0; }
};

std::string generated_text(size_t bytes, uint64_t seed = 1) {
  static const char* syl[] = {"th", "e",  "an", "re", "ing", "on", "er", "st", "al", "ou", "ch", "is",
                              "qu", "ed", "or", "ti", "ve",  "la", "mi", "no", "sh", "ke", "pa", "ry"};
  Lcg r{seed};
  std::vector<std::string> lex(20000);
  for (auto& w : lex) {
    const uint32_t n = 1 + r.below(4);
    for (uint32_t k = 0; k < n; ++k) w += syl[r.below(std::size(syl))];
  }
  std::string out;
  out.reserve(bytes + 256);
  while (out.size() < bytes) {
    const uint32_t n = 4 + r.below(16);
    for (uint32_t k = 0; k < n; ++k) {
      const auto idx = static_cast<size_t>(std::pow(static_cast<double>(lex.size()), r.unit())) - 1;
      std::string w = lex[std::min(idx, lex.size() - 1)];
      if (k == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
      out += w;
      if (r.below(12) == 0) out += ",";
      if (r.below(40) == 0) {
        out += ' ';
        out += std::to_string(r.below(100000));
      }
      out += k + 1 < n ? " " : ".";
    }
    out += r.below(5) == 0 ? "\n\n" : (r.below(2) ? "\n" : " ");
  }
  return out;
}

// Texts of ~`bytes` total, one per paragraph.
std::vector<std::string> paragraphs(const std::string& text) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find("\n\n", pos);
    end = end == std::string::npos ? text.size() : end + 2;
    out.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// Textbook BPE on whole-word texts, one special: recount every pair each
// step. Symbols are ids; ties go to the smaller (left, right) ids; a piece
// reached by a second split keeps its first id.
std::vector<std::string> naive_bpe(const std::vector<std::string>& texts, int vocab_size, int64_t min_freq) {
  auto alphabet = tok_test::gpt2_byte_chars();
  std::vector<std::string> pieces = {"<|endoftext|>"};
  std::sort(alphabet.begin(), alphabet.end());  // UTF-8 order = code-point order
  pieces.insert(pieces.end(), alphabet.begin(), alphabet.end());
  std::map<std::string, int> id;
  for (size_t i = 0; i < pieces.size(); ++i) id[pieces[i]] = static_cast<int>(i);
  const auto chars = tok_test::gpt2_byte_chars();
  std::map<std::vector<int>, int64_t> words;
  for (const auto& t : texts) {
    std::vector<int> w;
    for (char c : t) w.push_back(id[chars[static_cast<uint8_t>(c)]]);
    ++words[w];
  }
  std::vector<std::string> merges;
  while (static_cast<int>(pieces.size()) < vocab_size) {
    std::map<std::pair<int, int>, int64_t> pairs;  // ascending ids: the first maximum wins ties
    for (const auto& [w, f] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) pairs[{w[i], w[i + 1]}] += f;
    std::pair<int, int> best{};
    int64_t best_n = 0;
    for (const auto& [p, n] : pairs)
      if (n > best_n) best = p, best_n = n;
    if (best_n == 0 || best_n < min_freq) break;
    const auto [a, b] = best;
    merges.push_back(pieces[a] + " " + pieces[b]);
    const auto [it, added] = id.try_emplace(pieces[a] + pieces[b], static_cast<int>(pieces.size()));
    if (added) pieces.push_back(it->first);
    std::map<std::vector<int>, int64_t> next;
    for (const auto& [w, f] : words) {
      std::vector<int> m;
      for (size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == a && w[i + 1] == b) {
          m.push_back(it->second);
          i += 2;
        } else {
          m.push_back(w[i++]);
        }
      }
      next[m] += f;
    }
    words = std::move(next);
  }
  return merges;
}

std::vector<std::string> tricky_strings() {
  return {"",
          "hello world",
          "Grüße, naïve café — 東京 😀👍🏽 family: 👨‍👩‍👧",
          std::string("nul\0byte", 8),
          "\xff\xfe invalid \xc3 bytes \xed\xa0\x80 \xf4\x90\x80\x80",
          "   leading and trailing spaces   \n\n\t tabs",
          "don't YOU'LL it's 12345678 3.14159",
          "<|endoftext|>special<|endoftext|>"};
}

}  // namespace

TEST(TrainBpe, FirstMergesAreTheMostFrequentPairs) {
  // Words: "that", " then", " this", " the", " thud". (t,h) occurs 5 times,
  // then (Ġ,th) 4 times, then (Ġth,e) twice; every other pair once.
  const auto r = train_bpe({"that then this the thud"}, opts(1000));
  EXPECT_EQ(merges_of(r), (std::vector<std::string>{"t h", G + " th", G + "th e"}));
  // min_frequency = 2 stops there: 1 special + 256 bytes + 3 merges.
  EXPECT_EQ(r.tokenizer.vocab_size(), 260);
  EXPECT_EQ(r.tokenizer.encode(" the", false), (std::vector<int32_t>{259}));
  EXPECT_EQ(r.tokenizer.token_to_piece(257), "th");
}

TEST(TrainBpe, VocabularyIsSpecialsThenBytesInGpt2Order) {
  const auto r = train_bpe({}, opts(300));
  // encoder.py's bs: the 188 printable bytes in byte order, then the other 68.
  std::vector<int> bs;
  for (bool printable : {true, false})
    for (int b = 0; b < 256; ++b)
      if (((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) == printable)
        bs.push_back(b);
  const auto chars = tok_test::gpt2_byte_chars();
  ASSERT_EQ(r.tokenizer.vocab_size(), 257);
  EXPECT_EQ(r.tokenizer.token_to_piece(0), "<|endoftext|>");
  for (int k = 0; k < 256; ++k) EXPECT_EQ(r.tokenizer.token_to_piece(1 + k), chars[bs[k]]) << k;
}

TEST(TrainBpe, TiesGoToTheSmallestIds) {
  // (b,a) and (d,c) both occur twice; byte symbols are numbered in code-point
  // order, so "b" < "d", whatever the text order.
  for (const auto& texts : {std::vector<std::string>{"ba", "dc", "ba", "dc"},
                            std::vector<std::string>{"dc", "dc", "ba", "ba"}}) {
    const auto r = train_bpe(texts, opts(1000));
    EXPECT_EQ(merges_of(r), (std::vector<std::string>{"b a", "d c"}));
  }
  // Learned tokens are numbered in the order learned: "zy" (first) beats "ab"
  // in the tie between (zy, q) and (ab, q), though "ab" < "zy" as strings.
  const auto r = train_bpe({"zyq", "zyq", "zyq", "abq", "abq", "abq", "zy"}, opts(1000));
  EXPECT_EQ(merges_of(r), (std::vector<std::string>{"z y", "a b", "zy q", "ab q"}));
}

TEST(TrainBpe, MatchesHuggingFaceBpeTrainer) {
  // First 40 merges of tokenizers 0.22 BpeTrainer (ByteLevel pre-tokenizer,
  // min_frequency 0) trained on these lines (train_from_files keeps the "\n").
  // Over whole corpora (fortunes, 1 MB of docs, GPT-2 and Llama-3 splits) the
  // merge lists were identical too; only ids differ where HF's alphabet is
  // just the characters seen.
  const std::vector<std::string> lines = {
      "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs.\n",
      "In 2024 there were 1234567 foxes and 89 dogs in the other town, then three more.\n",
      "Thirty-three thin thieves thought that they thrilled the throne throughout Thursday.\n",
      "\u00dcber caf\u00e9 na\u00efve \u2014 the theatre, the thesis, the theory; they're there, aren't they?\n"};
  const std::vector<std::string> hf = {
      "t h", "Ġ th", "Ġth e", "r e", "T h", "d o", "e r", "f o", "o u", "Ġ do",
      "Ġ fo", "Ġth r", "Ġthe y", "Ġdo g", "Ġfo x", "a t", "e s", "g h", "i n", "l e",
      "o w", "p s", "Ġ a", "Ġ o", "Ġ Th", "Ġthe re", "re e", "ou gh", "ow n", "' t",
      "' re", "0 2", "1 2", "2 02", "3 4", "5 6", "8 9", "I n", "a f", "a y"};
  EXPECT_EQ(merges_of(train_bpe(lines, opts(257 + 40, 0))), hf);
}

TEST(TrainBpe, RepeatedSymbolsMergeLeftToRight) {
  // "aaaa": (a,a) x3 -> "aa aa" -> "aaaa". "aaa": (a,a) x2 -> "aa a", and no (aa,aa).
  EXPECT_EQ(merges_of(train_bpe({"aaaa"}, opts(1000, 1))), (std::vector<std::string>{"a a", "aa aa"}));
  EXPECT_EQ(merges_of(train_bpe({"aaa"}, opts(1000, 1))), (std::vector<std::string>{"a a", "aa a"}));
}

TEST(TrainBpe, AgreesWithNaiveRecountingTrainer) {
  // Whole-letter texts are one pre-token each. Small alphabets make many
  // ties and overlapping pairs ("aaa").
  Lcg r{42};
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<std::string> texts;
    const uint32_t letters = 2 + r.below(3);
    for (int i = 0; i < 60; ++i) {
      std::string t;
      const uint32_t n = 1 + r.below(12);
      for (uint32_t k = 0; k < n; ++k) t += static_cast<char>('a' + r.below(letters));
      texts.push_back(t);
    }
    const int min_freq = 1 + static_cast<int>(r.below(3));
    const auto got = train_bpe(texts, opts(320, min_freq));
    EXPECT_EQ(merges_of(got), naive_bpe(texts, 320, min_freq)) << "trial " << trial;
  }
}

TEST(TrainBpe, RoundTripsArbitraryBytes) {
  const auto r = train_bpe(paragraphs(generated_text(200000)), opts(1000));
  for (const auto& s : tricky_strings())
    EXPECT_EQ(r.tokenizer.decode(r.tokenizer.encode(s, false)), s) << s;
  Lcg rng{7};
  for (int i = 0; i < 50; ++i) {
    std::string s;
    const uint32_t n = rng.below(200);
    for (uint32_t k = 0; k < n; ++k) s += static_cast<char>(rng.below(256));
    EXPECT_EQ(r.tokenizer.decode(r.tokenizer.encode(s, false, false)), s);
  }
}

TEST(TrainBpe, SavedJsonReloadsWithIdenticalEncodings) {
  for (const std::string pre : {"gpt2", "llama3"}) {
    BpeTrainOptions o = opts(800);
    o.pre_tokenizer = pre;
    const auto r = train_bpe(paragraphs(generated_text(100000)), o);
    const auto dir = tok_test::temp_dir("train_bpe_" + pre);
    glassbox::save_tokenizer_json(r.tokenizer_json, dir + "/tokenizer.json");
    const Tokenizer loaded = Tokenizer::from_file(dir);
    EXPECT_EQ(loaded.vocab_size(), 800);
    EXPECT_EQ(loaded.pre_tokenizer(), pre == "gpt2" ? "gpt-2" : "llama3");
    auto texts = tricky_strings();
    texts.push_back(generated_text(5000, 99));
    for (const auto& s : texts) EXPECT_EQ(loaded.encode(s), r.tokenizer.encode(s)) << pre << ": " << s;
    std::filesystem::remove_all(dir);
  }
}

TEST(TrainBpe, Llama3SplitsDigitsInThrees) {
  BpeTrainOptions o = opts(600);
  o.pre_tokenizer = "llama3";
  const auto r = train_bpe({"1234567 1234567 1234567 1234567 9999999999"}, o);
  EXPECT_EQ(r.tokenizer_json["pre_tokenizer"]["type"], "Sequence");
  for (int32_t id = 0; id < r.tokenizer.vocab_size(); ++id) {
    const std::string& p = r.tokenizer.token_to_piece(id);
    EXPECT_LE(std::count_if(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }), 3) << p;
  }
  EXPECT_EQ(r.tokenizer.encode("1234567", false).size(), 3u);  // "123" "456" "7"
}

TEST(TrainBpe, RespectsVocabSize) {
  const auto text = paragraphs(generated_text(300000));
  for (int v : {257, 258, 300, 1000}) {
    const auto r = train_bpe(text, opts(v));
    EXPECT_EQ(r.tokenizer.vocab_size(), v);
    EXPECT_EQ(r.tokenizer_json["model"]["vocab"].size(), static_cast<size_t>(v));
  }
}

TEST(TrainBpe, SpecialTokensAreSingleTokensAndNeverMerged) {
  BpeTrainOptions o = opts(600);
  o.special_tokens = {"<|endoftext|>", "<pad>", "<|endoftext|>"};  // duplicates collapse
  std::vector<std::string> texts(50, "one<|endoftext|>two <pad>three<|endoftext|>");
  const auto r = train_bpe(texts, o);
  EXPECT_EQ(r.tokenizer.token_id("<|endoftext|>"), 0);
  EXPECT_EQ(r.tokenizer.token_id("<pad>"), 1);
  EXPECT_EQ(r.tokenizer.token_type(0), glassbox::TokenType::Control);
  EXPECT_EQ(r.tokenizer_json["added_tokens"].size(), 2u);
  EXPECT_TRUE(r.tokenizer_json["added_tokens"][1]["special"].get<bool>());
  const auto ids = r.tokenizer.encode("one<|endoftext|><pad>", false);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids[ids.size() - 2], 0);
  EXPECT_EQ(ids.back(), 1);
  // The specials were cut from the training text: nothing learned their insides.
  for (int32_t id = 2; id < r.tokenizer.vocab_size(); ++id) {
    const std::string& p = r.tokenizer.token_to_piece(id);
    EXPECT_EQ(p.find("<|"), std::string::npos) << p;
    EXPECT_EQ(p.find("pad"), std::string::npos) << p;
  }
}

TEST(TrainBpe, IsDeterministic) {
  auto texts = paragraphs(generated_text(200000));
  const auto a = train_bpe(texts, opts(1500)).tokenizer_json.dump();
  const auto b = train_bpe(texts, opts(1500)).tokenizer_json.dump();
  EXPECT_EQ(a, b);
  std::reverse(texts.begin(), texts.end());  // only the multiset of words matters
  EXPECT_EQ(train_bpe(texts, opts(1500)).tokenizer_json.dump(), a);
}

TEST(TrainBpe, RejectsVocabSizeBelowAlphabetPlusSpecials) {
  try {
    train_bpe({"abc"}, opts(256));
    FAIL() << "expected glassbox::Error";
  } catch (const glassbox::Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size 256 is too small"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("at least 257"), std::string::npos) << e.what();
  }
  BpeTrainOptions no_specials = opts(256);
  no_specials.special_tokens = {};
  EXPECT_EQ(train_bpe({"abc"}, no_specials).tokenizer.vocab_size(), 256);
}

TEST(TrainBpe, RejectsBadOptions) {
  BpeTrainOptions o = opts(1000);
  o.pre_tokenizer = "bert";
  EXPECT_THROW(train_bpe({"abc"}, o), glassbox::Error);
  o = opts(1000);
  o.special_tokens = {""};
  EXPECT_THROW(train_bpe({"abc"}, o), glassbox::Error);
  o.special_tokens = {"a"};  // would shadow the byte symbol 'a'
  EXPECT_THROW(train_bpe({"abc"}, o), glassbox::Error);
  o.special_tokens = {"\xff"};
  EXPECT_THROW(train_bpe({"abc"}, o), glassbox::Error);
}

namespace {

double train_seconds(size_t bytes, int vocab_size, std::vector<std::string>* merges = nullptr) {
  const auto texts = paragraphs(generated_text(bytes));
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = train_bpe(texts, opts(vocab_size));
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.tokenizer.vocab_size(), vocab_size);
  if (merges) *merges = merges_of(r);
  std::printf("train_bpe: %.1f MB -> %d tokens in %.2f s\n", bytes / 1e6, vocab_size, s);
  return s;
}

}  // namespace

TEST(TrainBpe, TrainsTwoMegabytesToFourThousandTokensQuickly) {
  const double s = train_seconds(2'000'000, 4096);
#if defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__)
  EXPECT_LT(s, 15.0);
#else
  GTEST_SKIP() << "unoptimised build: took " << s << " s, not asserted";
#endif
}

// Measurement only: ctest does not run it. --gtest_also_run_disabled_tests.
TEST(TrainBpe, DISABLED_FiveMegabytesToEightThousandTokens) { train_seconds(5'000'000, 8192); }
