// Activations straight from the engine: the forward pass of one or several
// models over a corpus, cut into sequences of `context` tokens, batched, and
// served as rows of one or several hook sites (SAELens' ActivationsStore).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "glassbox/engine.h"
#include "glassbox/features/activations.h"
#include "glassbox/model.h"

namespace glassbox {
class Tokenizer;
}

namespace glassbox::features {

// ---- corpora

// Whether `path` names a token file (by extension: .bin, .safetensors) rather
// than text.
bool is_token_file(const std::string& path);
// Token ids of a token file:
//   .safetensors  one integer tensor (I32, I64, I16, U8 ...; any shape, read flat);
//                 with several, the one named "tokens"
//   .bin          llm.c's layout (a 256 x int32 header, magic 20240520, then
//                 uint16 tokens) or, without that header, raw little-endian
//                 uint16 as nanoGPT's prepare.py writes train.bin
// Error naming the file for a missing, unreadable or malformed one, and for
// ids that are negative.
std::vector<int32_t> read_token_file(const std::string& path);
// The text of `path` through `tok`, never parsing special tokens in the text
// (as `glassbox run --text-file`); add_special: the tokenizer's own (a BOS)
// first, as dashboards read a corpus; off for the stream, whose sequences get
// their BOS from prepend_bos. Error naming the file for a missing,
// unreadable or empty one.
std::vector<int32_t> tokenize_text_file(const Tokenizer& tok, const std::string& path, bool add_special = false);

// ---- the stream

struct ModelStreamOptions {
  int context = 128;           // tokens per sequence, BOS included
  int batch = 8;               // sequences per forward pass
  bool prepend_bos = true;     // every sequence starts with BOS, then context-1 corpus tokens (SAELens)
  bool exclude_bos = false;    // no rows for the BOS positions (their activations are outliers)
  int32_t bos_id = -1;         // -1: the tokenizer's; Error with prepend_bos when neither has one
  int64_t max_tokens = 0;      // 0: every whole sequence in the corpus; else at most this many tokens
                               // (context per sequence, BOS included)
};

// One forward pass per batch serves every requested site; the pass stops
// after the deepest requested layer and computes no logits. With several
// models (a crosscoder's), each runs on the same tokens (they must share the
// vocabulary) and sites are named "MODEL/hook", MODEL the checkpoint
// directory's name. Per-head sites ([T, H, dh]) give rows of H*dh.
// Rows come in corpus order: sequence by sequence, position by position.
class ModelActivationStream : public ActivationStream {
 public:
  // `corpus`: a text file (tokenised with the first model's tokenizer) or a
  // token file (is_token_file). `hooks`: names or globs
  // ("blocks.*.hook_resid_post"); Error listing close matches when one
  // matches nothing, and for attention score / pattern sites (no row per token).
  // Error when the corpus has fewer tokens than one sequence needs.
  ModelActivationStream(const std::vector<std::string>& model_paths, const std::vector<std::string>& hooks,
                        const std::string& corpus, const ModelStreamOptions& opt = {});
  ModelActivationStream(const std::string& model_path, const std::vector<std::string>& hooks,
                        const std::string& corpus, const ModelStreamOptions& opt = {})
      : ModelActivationStream(std::vector<std::string>{model_path}, hooks, corpus, opt) {}
  // Over models already loaded and tokens already in memory (names: the site prefixes
  // when there are several models).
  ModelActivationStream(std::vector<std::shared_ptr<const Model>> models, std::vector<std::string> names,
                        const std::vector<std::string>& hooks, std::vector<int32_t> corpus_tokens,
                        const ModelStreamOptions& opt = {});
  ~ModelActivationStream() override;

  const std::vector<std::string>& site_names() const override { return site_names_; }
  const std::vector<int64_t>& dims() const override { return dims_; }
  int64_t next(ActivationBatch& out, int64_t max_rows) override;
  void rewind() override { seek(0); }

  // next() continues at row `row` (0 <= row <= total_rows()). Batches always
  // start at a multiple of the batch size, so a row's values do not depend on
  // where reading started.
  void seek(int64_t row);

  int64_t sequences() const { return n_seq_; }
  int64_t rows_per_sequence() const { return rows_per_seq_; }
  int64_t total_rows() const { return n_seq_ * rows_per_seq_; }
  int64_t tokens_per_pass() const { return int64_t(opt_.batch) * opt_.context; }
  int64_t corpus_tokens() const { return int64_t(corpus_.size()); }
  int32_t bos_id() const { return bos_; }
  const ModelStreamOptions& options() const { return opt_; }
  const std::vector<std::shared_ptr<const Model>>& models() const { return models_; }
  const std::vector<std::string>& model_names() const { return names_; }
  // Sequence s's tokens (context of them, BOS first with prepend_bos).
  std::vector<int32_t> sequence(int64_t s) const;

 private:
  struct SiteRef {
    int model;
    HookPoint point;
  };
  void init(const std::vector<std::string>& hooks);
  void run_batch(int64_t first_seq);

  std::vector<std::shared_ptr<const Model>> models_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<Engine>> engines_;
  std::vector<ForwardOptions> fwd_;  // per model
  std::vector<int32_t> corpus_;
  std::string corpus_name_ = "the corpus";  // its path, for errors
  ModelStreamOptions opt_;
  int32_t bos_ = -1;
  int64_t n_seq_ = 0, rows_per_seq_ = 0, first_pos_ = 0;
  std::vector<SiteRef> sites_;
  std::vector<std::string> site_names_;
  std::vector<int64_t> dims_;

  // The current batch: its kept activations per model, and which of its rows are still to serve.
  std::vector<ForwardResult> results_;
  std::vector<const Tensor*> site_tensors_;  // per site, into results_
  std::vector<int32_t> batch_tokens_;        // [batch_seqs_, context]
  int64_t batch_first_seq_ = -1, batch_seqs_ = 0;
  int64_t pending_ = 0, pending_end_ = 0;  // row indices within the batch
  int64_t next_seq_ = 0, skip_rows_ = 0;   // where the next batch starts, rows of it to skip
};

}  // namespace glassbox::features
