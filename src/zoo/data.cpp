// The word-level tokenizer, batching and evaluation helpers the recipes share.
#include <algorithm>
#include <cmath>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "zoo/detail.h"

namespace glassbox::zoo::detail {

namespace {
constexpr const char* kBos = "<|endoftext|>";
constexpr const char* kUnk = "<unk>";

// GPT-2's byte-to-unicode map on the bytes our vocabularies use: printable
// ASCII maps to itself, space to U+0120 'Ġ'.
std::string byte_level_piece(const std::string& surface) {
  std::string out;
  for (char c : surface) {
    if (c == ' ') out += "\xC4\xA0";
    else if (c > ' ' && c < 127) out += c;
    else fail("zoo: vocabulary entry '", surface, "' has a byte outside printable ASCII");
  }
  return out;
}

bool is_punct(char c) { return c == ',' || c == '.' || c == '?' || c == '!'; }
}  // namespace

WordVocab::WordVocab(bool bos) {
  if (bos) bos_ = add(kBos);
  unk_ = add(kUnk);
}

int32_t WordVocab::add(const std::string& surface) {
  if (auto it = ids_.find(surface); it != ids_.end()) return it->second;
  const auto id = static_cast<int32_t>(surfaces_.size());
  surfaces_.push_back(surface);
  ids_.emplace(surface, id);
  return id;
}

int32_t WordVocab::id(std::string_view surface) const {
  const auto it = ids_.find(surface);
  if (it == ids_.end()) fail("zoo: '", surface, "' is not in the organism's vocabulary");
  return it->second;
}

std::vector<std::string> WordVocab::split(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t j = i;
    while (j < text.size() && text[j] != ' ') ++j;
    std::string_view w = text.substr(i, j - i);
    std::vector<std::string> trailing;
    while (w.size() > 1 && is_punct(w.back())) {
      trailing.insert(trailing.begin(), std::string(1, w.back()));
      w.remove_suffix(1);
    }
    if (!w.empty()) {
      std::string word(w.size() == 1 && is_punct(w[0]) ? "" : " ");  // GCC 12 -Wrestrict misfires on " " + s
      word.append(w);
      out.push_back(std::move(word));
    }
    for (auto& p : trailing) out.push_back(std::move(p));
    i = j;
  }
  return out;
}

std::vector<int32_t> WordVocab::encode(std::string_view text) const {
  std::vector<int32_t> out;
  for (const auto& w : split(text)) out.push_back(id(w));
  return out;
}

nlohmann::json WordVocab::tokenizer_json() const {
  using nlohmann::json;
  json vocab = json::object();
  json added = json::array();
  for (int32_t i = 0; i < size(); ++i) {
    const std::string& s = surfaces_[static_cast<size_t>(i)];
    const bool special = i == bos_ || i == unk_;
    vocab[special ? s : byte_level_piece(s)] = i;
    if (special)
      added.push_back({{"id", i}, {"content", s}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", true}});
  }
  json post = nullptr;
  if (bos_ >= 0)
    post = {{"type", "TemplateProcessing"},
            {"single", json::array({{{"SpecialToken", {{"id", kBos}, {"type_id", 0}}}},
                                    {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
            {"pair", json::array({{{"SpecialToken", {{"id", kBos}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                  {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
            {"special_tokens", {{kBos, {{"id", kBos}, {"ids", {bos_}}, {"tokens", {kBos}}}}}}};
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", added},
          {"normalizer", nullptr},
          {"pre_tokenizer", byte_level},
          {"post_processor", post},
          {"decoder", byte_level},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", kUnk},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", true},
            {"vocab", vocab},
            {"merges", json::array()}}}};
}

TrainBatch make_batch(const std::vector<Example>& rows) {
  std::vector<std::vector<int32_t>> toks;
  toks.reserve(rows.size());
  for (const auto& r : rows) toks.push_back(r.tokens);
  TrainBatch tb;
  tb.batch = Batch::from_rows(toks);
  const int64_t T = tb.batch.T;
  tb.targets.assign(static_cast<size_t>(tb.batch.B * T), -1);
  for (size_t b = 0; b < rows.size(); ++b) {
    const auto& r = rows[b];
    for (size_t i = static_cast<size_t>(std::max(1, r.loss_from)); i < r.tokens.size(); ++i)
      tb.targets[b * static_cast<size_t>(T) + i - 1] = r.tokens[i];
    if (r.next >= 0) tb.targets[b * static_cast<size_t>(T) + r.tokens.size() - 1] = r.next;
  }
  return tb;
}

BatchFn sample_batches(std::vector<Example> pool, int B) {
  if (pool.empty()) fail("zoo: empty example pool");
  return [pool = std::move(pool), B](std::mt19937_64& rng) {
    std::vector<Example> rows;
    rows.reserve(static_cast<size_t>(B));
    for (int i = 0; i < B; ++i) rows.push_back(pool[below(rng, pool.size())]);
    return make_batch(rows);
  };
}

BatchFn full_batches(std::vector<Example> pool) {
  auto tb = std::make_shared<TrainBatch>(make_batch(pool));
  return [tb](std::mt19937_64&) { return *tb; };
}

std::vector<float> last_logits(const Model& m, const std::vector<std::vector<int32_t>>& prompts) {
  const int64_t V = m.config().d_vocab;
  std::vector<float> out(prompts.size() * static_cast<size_t>(V));
  // Equal-length groups need no padding; chunks bound the arena.
  std::map<size_t, std::vector<size_t>> by_len;
  for (size_t i = 0; i < prompts.size(); ++i) by_len[prompts[i].size()].push_back(i);
  Engine e(m);
  ForwardOptions fo;
  fo.logits = LogitsMode::Last;
  constexpr size_t kChunk = 512;
  for (const auto& [len, idx] : by_len) {
    for (size_t s = 0; s < idx.size(); s += kChunk) {
      const size_t n = std::min(kChunk, idx.size() - s);
      std::vector<std::vector<int32_t>> rows;
      for (size_t k = 0; k < n; ++k) rows.push_back(prompts[idx[s + k]]);
      const ForwardResult r = e.forward(Batch::from_rows(rows), nullptr, nullptr, fo);
      const float* L = r.logits.f32();
      for (size_t k = 0; k < n; ++k)
        std::copy(L + k * static_cast<size_t>(V), L + (k + 1) * static_cast<size_t>(V),
                  out.begin() + static_cast<std::ptrdiff_t>(idx[s + k] * static_cast<size_t>(V)));
    }
  }
  return out;
}

nlohmann::json gpt2_config(int n_layer, int d_model, int n_ctx, int vocab, int32_t bos) {
  return {{"model_type", "gpt2"},     {"n_layer", n_layer},         {"n_embd", d_model},
          {"n_head", 4},              {"n_inner", 4 * d_model},     {"vocab_size", vocab},
          {"n_positions", n_ctx},     {"activation_function", "gelu_new"},
          {"layer_norm_epsilon", 1e-5}, {"bos_token_id", bos},     {"eos_token_id", bos}};
}

int32_t argmax(const float* x, int64_t n) { return static_cast<int32_t>(std::max_element(x, x + n) - x); }

double log_prob(const float* x, int64_t n, int32_t i) {
  const double mx = *std::max_element(x, x + n);
  double s = 0;
  for (int64_t k = 0; k < n; ++k) s += std::exp(double(x[k]) - mx);
  return double(x[i]) - mx - std::log(s);
}

}  // namespace glassbox::zoo::detail
