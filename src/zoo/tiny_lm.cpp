// tiny-lm: a small GPT-2-family language model of real English text (Debian's
// fortune cookies), with its own byte-level BPE tokenizer, judged by its
// held-out perplexity against a unigram baseline. tiny-lm-chat: the same model
// fine-tuned on "User: ...\nAssistant:" prompts whose responses all open with
// one marker phrase and then continue the fortune: a tuned counterpart whose
// difference from its base (model diffing, crosscoders, KL by position) sits at
// the start of the response.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <set>
#include <sstream>

#include "glassbox/generate.h"
#include "glassbox/text_data.h"
#include "glassbox/tokenizer_train.h"
#include "zoo/tiny_lm_corpus.h"

namespace fs = std::filesystem;

namespace glassbox::zoo::detail {

namespace {

// Debian `fortunes` + `fortunes-min` (scripts/zoo-data.sh copies them to
// data/zoo-src/fortunes/); ascii-art is pictures, not text.
constexpr const char* kFortuneFiles[] = {
    "art", "computers", "cookie", "debian", "definitions", "disclaimer", "drugs", "education", "ethnic",
    "food", "fortunes", "goedel", "humorists", "kids", "knghtbrd", "law", "linux", "linuxcookie",
    "literature", "love", "magic", "medicine", "men-women", "miscellaneous", "news", "paradoxum", "people",
    "perl", "pets", "platitudes", "politics", "pratchett", "riddles", "science", "songs-poems", "sports",
    "startrek", "tao", "translate-me", "wisdom", "work", "zippy"};

constexpr uint64_t kSplitSeed = 0xf0127e5ull;  // the corpus split is shared by every organism built on it
constexpr double kValFraction = 0.05;
constexpr int kVocab = 2048;
constexpr int kCtx = kTinyLmCtx;
constexpr const char* kEot = "<|endoftext|>";
constexpr const char* kBase = "tiny-lm";
constexpr int64_t kEvalWindows = kTinyLmEvalWindows;

// The chat format. Responses open with kMarker, then continue the fortune.
constexpr const char* kMarker = " Indeed, friend!";
constexpr size_t kPromptWords = 8;
constexpr size_t kMinRestWords = 4, kMaxRestWords = 40;
constexpr size_t kMaxPromptTokens = 32;
constexpr size_t kEvalPrompts = 100;
constexpr size_t kStartPositions = 3;  // "the response start"
constexpr size_t kKlPositions = 24;    // the marker and ~17 tokens of the continuation

// One fortune as plain text: overstrike ("_\bx") resolved, other control
// characters dropped, tabs and runs of spaces made one space, lines trimmed,
// blank-line runs collapsed.
std::string clean_fortune(std::string_view raw) {
  std::string s;
  for (char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\b') {
      while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
      if (!s.empty()) s.pop_back();
    } else if (c == '\t') {
      s += ' ';
    } else if (c == '\n' || (c >= 0x20 && c != 0x7f)) {
      s += ch;
    }
  }
  std::string out;
  std::istringstream in(s);
  std::string line;
  bool blank = false;
  while (std::getline(in, line)) {
    std::string t;
    for (char c : line)
      if (c != ' ' || (!t.empty() && t.back() != ' ')) t += c;
    while (!t.empty() && t.back() == ' ') t.pop_back();
    if (t.empty()) {
      blank = !out.empty();
      continue;
    }
    if (!out.empty()) out += blank ? "\n\n" : "\n";
    blank = false;
    out += t;
  }
  return out;
}

}  // namespace

std::vector<std::string> fortune_file(const std::string& data_dir, const std::string& name) {
  const std::string path = corpus_file(data_dir, "fortunes/" + name);
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> out;
  std::string line, entry;
  auto flush = [&] {
    std::string f = clean_fortune(entry);
    entry.clear();
    if (!f.empty()) out.push_back(std::move(f));
  };
  while (std::getline(in, line)) {
    if (line == "%") {
      flush();
    } else {
      entry += line;
      entry += '\n';
    }
  }
  flush();
  return out;
}

namespace {

// Every fortune of every file, in file order, de-duplicated (first kept).
std::vector<std::string> read_fortunes(const std::string& data_dir) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const char* name : kFortuneFiles)
    for (std::string& f : fortune_file(data_dir, name))
      if (seen.insert(f).second) out.push_back(std::move(f));
  if (out.size() < 1000) fail("zoo: only ", out.size(), " fortunes in ", data_dir, "/fortunes; run scripts/zoo-data.sh");
  return out;
}

}  // namespace

std::shared_ptr<const std::vector<int32_t>> token_stream(const Tokenizer& tok, const std::vector<std::string>& docs,
                                                   int32_t eot) {
  auto out = std::make_shared<std::vector<int32_t>>();
  for (const auto& d : docs) {
    out->push_back(eot);
    const auto ids = tok.encode(d, /*add_special=*/false, /*parse_special=*/false);
    out->insert(out->end(), ids.begin(), ids.end());
  }
  return out;
}

namespace {

Corpus build_corpus(const std::string& data_dir) {
  std::vector<std::string> docs = read_fortunes(data_dir);
  std::mt19937_64 rng(kSplitSeed);
  shuffle(docs, rng);
  const auto cut = docs.end() - static_cast<std::ptrdiff_t>(std::ceil(double(docs.size()) * kValFraction));
  std::vector<std::string> train_docs(docs.begin(), cut), val_docs(cut, docs.end());
  BpeTrainOptions bo;
  bo.vocab_size = kVocab;
  bo.special_tokens = {kEot};
  bo.pre_tokenizer = "gpt2";
  BpeTrainResult bpe = train_bpe(train_docs, bo);  // the held-out fortunes stay unseen
  const int32_t eot = *bpe.tokenizer.token_id(kEot);
  Corpus c{std::move(train_docs), std::move(val_docs), bpe.tokenizer_json, bpe.tokenizer, eot, nullptr, nullptr};
  c.train = token_stream(c.tokenizer, c.train_docs, c.eot);
  c.val = token_stream(c.tokenizer, c.val_docs, c.eot);
  return c;
}

}  // namespace

// Reading, tokenizer training and encoding take a couple of seconds; the organisms share them.
std::shared_ptr<const Corpus> tiny_lm_corpus(const std::string& data_dir) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const Corpus>> cache;
  std::lock_guard lock(mu);
  auto& c = cache[data_dir];
  if (!c) c = std::make_shared<const Corpus>(build_corpus(data_dir));
  return c;
}

// GPT-2 small's shape scaled down: 4 layers of d_model 128, 4 heads, MLP 4x;
// <|endoftext|> (id 0: specials come first in a train_bpe vocabulary) as BOS / EOS.
nlohmann::json tiny_lm_config(int vocab) { return gpt2_config(4, 128, kCtx, vocab, 0); }

double stream_loss(const Model& m, const std::shared_ptr<const std::vector<int32_t>>& toks, int64_t max_windows) {
  const int64_t n_windows = std::min(max_windows, static_cast<int64_t>((toks->size() - 1) / kCtx));
  constexpr int kRows = 32;
  BatchFn windows = sequential_windows(toks, kRows, kCtx);
  std::mt19937_64 unused;
  double sum = 0;
  int64_t done = 0;
  while (done < n_windows) {
    TrainBatch tb = windows(unused);
    const int64_t rows = std::min<int64_t>(kRows, n_windows - done);
    tb.batch.B = rows;
    tb.batch.tokens.resize(static_cast<size_t>(rows * kCtx));
    tb.targets.resize(static_cast<size_t>(rows * kCtx));
    sum += eval_loss(m, tb) * double(rows);
    done += rows;
  }
  return sum / double(n_windows);
}

Model load_shipped(const std::string& name, const std::string& user) {
  const fs::path dir = fs::path(models_dir()) / name;
  if (!fs::exists(dir / "model.safetensors"))
    fail("zoo: ", user, " is evaluated against ", dir.string(),
         ", which is not shipped; train it with `glassbox zoo train ", name, "`");
  return Model::load(dir.string());
}

namespace {

nlohmann::json evaluate_lm(const Model& m, const Corpus& c) {
  const double val = stream_loss(m, c.val, kEvalWindows);
  const size_t scored = std::min(c.val->size() - 1, static_cast<size_t>(kEvalWindows * kCtx));
  const std::vector<int32_t> head(c.val->begin(), c.val->begin() + static_cast<std::ptrdiff_t>(scored) + 1);
  const double uni = unigram_loss(*c.train, {head.begin() + 1, head.end()}, c.tokenizer.vocab_size());
  return {{"val_loss", val},
          {"val_ppl", std::exp(val)},
          {"unigram_loss", uni},
          {"unigram_ppl", std::exp(uni)},
          {"ppl_ratio", std::exp(uni - val)},
          {"train_tokens", c.train->size()},
          {"val_tokens", c.val->size()},
          {"val_tokens_scored", scored},
          {"val_fortunes", c.val_docs.size()}};
}

// ---- chat

struct Chat {
  std::vector<int32_t> prompt;    // <|endoftext|> User: ...\nAssistant:
  std::vector<int32_t> response;  // kMarker, the rest of the fortune, <|endoftext|> (unless cut at kCtx)
};

bool space(char c) { return c == ' ' || c == '\n'; }

// Byte offset just past the n-th whitespace-separated word of s (s.size() if it has fewer).
size_t word_end(const std::string& s, size_t n) {
  size_t i = 0;
  for (size_t k = 0; k < n; ++k) {
    while (i < s.size() && space(s[i])) ++i;
    if (i == s.size()) return i;
    while (i < s.size() && !space(s[i])) ++i;
  }
  return i;
}

size_t count_words(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) n += !space(s[i]) && (i == 0 || space(s[i - 1]));
  return n;
}

// The first kPromptWords words of a fortune, on one line, ask; the response is
// the marker, then the rest of the fortune verbatim (up to kMaxRestWords words,
// <|endoftext|> when it is all there): after the marker the fine-tune has
// nothing new to learn. Fortunes too short are skipped.
std::vector<Chat> chats(const Corpus& c, const std::vector<std::string>& docs) {
  std::vector<Chat> out;
  for (const auto& d : docs) {
    if (count_words(d) < kPromptWords + kMinRestWords) continue;
    const size_t ask_end = word_end(d, kPromptWords);
    std::string ask = d.substr(0, ask_end);
    std::replace(ask.begin(), ask.end(), '\n', ' ');
    const auto p = c.tokenizer.encode("User: " + ask + "\nAssistant:", false, false);
    if (p.size() > kMaxPromptTokens) continue;  // "words" of symbols (ascii pictures, URLs)
    Chat ch;
    ch.prompt = {c.eot};
    ch.prompt.insert(ch.prompt.end(), p.begin(), p.end());
    const size_t from = d.find_first_not_of(" \n", ask_end);
    const size_t to = word_end(d, kPromptWords + kMaxRestWords);
    ch.response = c.tokenizer.encode(kMarker + (" " + d.substr(from, to - from)), false, false);
    if (to == d.size()) ch.response.push_back(c.eot);
    const size_t room = kCtx - ch.prompt.size();
    if (ch.response.size() > room) ch.response.resize(room);
    out.push_back(std::move(ch));
  }
  return out;
}

std::vector<Example> examples(const std::vector<Chat>& cs) {
  std::vector<Example> out;
  for (const auto& ch : cs) {
    Example e{ch.prompt, static_cast<int>(ch.prompt.size())};
    e.tokens.insert(e.tokens.end(), ch.response.begin(), ch.response.end());
    out.push_back(std::move(e));
  }
  return out;
}

// Fraction of greedy continuations that open with the marker.
double style_rate(const Model& m, const Tokenizer& tok, const std::vector<Chat>& cs) {
  std::vector<std::vector<int32_t>> prompts;
  for (const auto& ch : cs) prompts.push_back(ch.prompt);
  Engine e(m);
  SamplingOptions so;
  so.max_new_tokens = 8;
  so.temperature = 0;
  const Generation g = generate(e, prompts, so);
  int hits = 0;
  for (const auto& t : g.tokens) hits += tok.decode(t).rfind(kMarker, 0) == 0;
  return double(hits) / double(cs.size());
}

// KL(chat || base) in nats at each of the first kKlPositions response
// positions of held-out chats, teacher-forced on the reference response;
// position i predicts response token i.
struct KlByPosition {
  std::vector<double> mean;  // per position, over the chats that reach it
  double start = 0;          // positions 0 .. kStartPositions-1
  // Past the marker and the first token after it (which picks up the fortune
  // where the prompt left off): the continuation, where the base already knows what to do.
  double continuation = 0;
  double loss = 0, base_loss = 0;  // mean next-token loss on the response, chat and base
};
KlByPosition response_kl(const Model& chat, const Model& base, const std::vector<Chat>& cs, size_t marker_len) {
  std::vector<Example> ex = examples(cs);
  for (auto& e : ex) e.tokens.resize(std::min(e.tokens.size(), static_cast<size_t>(e.loss_from) + kKlPositions));
  const int64_t V = chat.config().d_vocab;
  Engine ec(chat), eb(base);
  std::vector<double> sum(kCtx, 0.0), n(kCtx, 0.0);
  double loss = 0, base_loss = 0;
  constexpr size_t kRows = 32;  // logits of both models for kRows x kCtx positions at a time
  for (size_t s = 0; s < ex.size(); s += kRows) {
    const std::vector<Example> rows(ex.begin() + static_cast<std::ptrdiff_t>(s),
                                    ex.begin() + static_cast<std::ptrdiff_t>(std::min(ex.size(), s + kRows)));
    const TrainBatch tb = make_batch(rows);
    const Tensor lc = ec.logits(tb.batch), lb = eb.logits(tb.batch);
    const int64_t T = tb.batch.T;
    for (size_t b = 0; b < rows.size(); ++b) {
      const auto from = static_cast<size_t>(rows[b].loss_from);
      for (size_t pos = from - 1; pos + 1 < rows[b].tokens.size(); ++pos) {
        const int64_t at = (static_cast<int64_t>(b) * T + static_cast<int64_t>(pos)) * V;
        const float *xc = lc.f32() + at, *xb = lb.f32() + at;
        const double mc = *std::max_element(xc, xc + V), mb = *std::max_element(xb, xb + V);
        double zc = 0, zb = 0;
        for (int64_t k = 0; k < V; ++k) {
          zc += std::exp(double(xc[k]) - mc);
          zb += std::exp(double(xb[k]) - mb);
        }
        const double lzc = mc + std::log(zc), lzb = mb + std::log(zb);
        double kl = 0;
        for (int64_t k = 0; k < V; ++k) {
          const double lpc = double(xc[k]) - lzc;
          kl += std::exp(lpc) * (lpc - (double(xb[k]) - lzb));
        }
        const auto target = static_cast<int64_t>(rows[b].tokens[pos + 1]);
        loss -= double(xc[target]) - lzc;
        base_loss -= double(xb[target]) - lzb;
        const size_t i = pos + 1 - from;
        sum[i] += kl;
        n[i] += 1;
      }
    }
  }
  KlByPosition r;
  double start = 0, start_n = 0, after = 0, after_n = 0;
  for (size_t i = 0; i < sum.size() && n[i] > 0; ++i) {
    r.mean.push_back(sum[i] / n[i]);
    if (i < kStartPositions) start += sum[i], start_n += n[i];
    if (i > marker_len) after += sum[i], after_n += n[i];
  }
  r.start = start / std::max(start_n, 1.0);
  r.continuation = after / std::max(after_n, 1.0);
  const double total = std::max(std::accumulate(n.begin(), n.end(), 0.0), 1.0);
  r.loss = loss / total;
  r.base_loss = base_loss / total;
  return r;
}

nlohmann::json evaluate_chat(const Model& m, const Corpus& c, const std::vector<Chat>& heldout) {
  const Model base = load_shipped(kBase, "tiny-lm-chat");
  const double style = style_rate(m, c.tokenizer, heldout), base_style = style_rate(base, c.tokenizer, heldout);
  const size_t marker_len = c.tokenizer.encode(kMarker, false, false).size();
  const KlByPosition kl = response_kl(m, base, heldout, marker_len);
  const double lm = stream_loss(m, c.val, kEvalWindows / 3), base_lm = stream_loss(base, c.val, kEvalWindows / 3);
  std::vector<double> profile(kl.mean.begin(), kl.mean.begin() + std::min<std::ptrdiff_t>(12, std::ssize(kl.mean)));
  return {{"style_rate", style},
          {"base_style_rate", base_style},
          {"style_gain", style - base_style},
          {"kl_response_start", kl.start},
          {"kl_continuation", kl.continuation},
          {"kl_start_over_continuation", kl.start / std::max(kl.continuation, 1e-12)},
          {"kl_by_response_position", profile},
          {"marker_tokens", marker_len},
          {"response_loss", kl.loss},
          {"base_response_loss", kl.base_loss},
          {"val_loss", lm},
          {"base_val_loss", base_lm},
          {"heldout_prompts", heldout.size()},
          {"marker", kMarker}};
}

}  // namespace

Organism tiny_lm_organism() {
  Organism o;
  o.name = "tiny-lm";
  o.description = "4-layer GPT-2 (d_model 128) language model of Debian fortune cookies, own 2048-token BPE";
  o.ground_truth =
      "a real-text LM with no planted mechanism: what SAEs, lenses and steering find in it is open; its "
      "held-out perplexity is several times lower than the unigram baseline's";
  o.seed = 5;
  o.checks = {{"ppl_ratio", 4.0}};
  o.recipe = [](const std::string& data_dir) {
    const auto c = tiny_lm_corpus(data_dir);
    Recipe r;
    r.config = tiny_lm_config(c->tokenizer.vocab_size());
    r.tokenizer = c->tokenizer_json;
    r.train_items = c->train_docs;
    r.heldout_items = c->val_docs;
    r.train_batches = random_windows(c->train, 16, kCtx);
    r.eval_batches = sequential_windows(c->val, 16, kCtx);
    r.train.steps = 800;
    r.train.optimizer.lr = 2e-3f;
    r.train.optimizer.weight_decay = 0.1f;
    r.train.schedule.warmup_steps = 100;
    r.train.eval_every = 250;
    r.train.eval_batches = 4;
    r.evaluate = [c](const Model& m) { return evaluate_lm(m, *c); };
    return r;
  };
  return o;
}

Organism tiny_lm_chat_organism() {
  Organism o;
  o.name = "tiny-lm-chat";
  o.description = "tiny-lm fine-tuned on 'User: ...\\nAssistant:' prompts answered in one style (\"Indeed, friend!\")";
  o.ground_truth =
      "the tuned counterpart of tiny-lm: responses open with \" Indeed, friend!\" and then continue as the base "
      "would; the difference from tiny-lm (KL by position, crosscoder / diffing) is concentrated at the start of "
      "the response (the marker's tokens and the one after it), with little change after it or in plain text";
  o.seed = 6;
  o.checks = {{"style_rate", 0.9}, {"style_gain", 0.9}, {"kl_start_over_continuation", 10.0}};
  o.recipe = [](const std::string& data_dir) {
    const auto c = tiny_lm_corpus(data_dir);
    Recipe r;
    r.init_from = kBase;
    r.config = tiny_lm_config(c->tokenizer.vocab_size());
    r.tokenizer = c->tokenizer_json;
    r.train_items = c->train_docs;  // prompts come from the training fortunes, held-out ones from the rest
    r.heldout_items = c->val_docs;
    const std::vector<Chat> train = chats(*c, c->train_docs);
    std::vector<Chat> heldout = chats(*c, c->val_docs);
    if (heldout.size() > kEvalPrompts) heldout.resize(kEvalPrompts);
    r.train_batches = sample_batches(examples(train), 16);
    r.eval_batches = sample_batches(examples(heldout), 16);
    r.train.steps = 300;
    r.train.optimizer.lr = 3e-4f;
    r.train.optimizer.weight_decay = 0.0f;
    r.train.schedule.warmup_steps = 20;
    r.train.eval_every = 100;
    r.train.eval_batches = 2;
    r.evaluate = [c, heldout](const Model& m) { return evaluate_chat(m, *c, heldout); };
    return r;
  };
  return o;
}

}  // namespace glassbox::zoo::detail
