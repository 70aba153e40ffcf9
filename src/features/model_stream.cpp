// ModelActivationStream: batches of sequences through the engine, rows of the
// kept sites copied straight out of the pass's tensors.
#include "glassbox/features/model_stream.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace fs = std::filesystem;

namespace glassbox::features {

namespace {

// A checkpoint's name for site prefixes: its directory's name (a .gguf file's stem).
std::string model_name(const std::string& path) {
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  if (p.extension() == ".gguf") return p.stem().string();
  if (!fs::is_directory(p) && p.has_parent_path()) p = p.parent_path();
  const std::string n = p.filename().string();
  return n.empty() ? path : n;
}

// Values per token of a site (product of the dims after the position axis).
int64_t site_dim(HookPoint p, const Config& c) {
  if (site_info(p.site).shape == SiteShape::Scores)
    fail("activation stream: ", p.name(), " has no row per token (it is [heads, query, key]); "
         "ask for attn.hook_z, hook_attn_out or the residual stream instead");
  return numel(site_shape(p.site, c, 1, 1, 1));
}

}  // namespace

ModelActivationStream::ModelActivationStream(const std::vector<std::string>& model_paths,
                                             const std::vector<std::string>& hooks, const std::string& corpus,
                                             const ModelStreamOptions& opt)
    : opt_(opt) {
  if (model_paths.empty()) fail("activation stream: no model given");
  for (const std::string& p : model_paths) {
    models_.push_back(std::make_shared<const Model>(Model::load(p)));
    names_.push_back(model_name(p));
  }
  if (is_token_file(corpus)) {
    corpus_ = read_token_file(corpus);
  } else {
    const Tokenizer* tok = models_[0]->tokenizer();
    if (!tok)
      fail(corpus, ": a text corpus needs the model's tokenizer, and ", model_paths[0],
           " has none; give a token file (.bin or .safetensors) instead");
    corpus_ = tokenize_text_file(*tok, corpus);
  }
  corpus_name_ = corpus;
  init(hooks);
}

ModelActivationStream::ModelActivationStream(std::vector<std::shared_ptr<const Model>> models,
                                             std::vector<std::string> names, const std::vector<std::string>& hooks,
                                             std::vector<int32_t> corpus_tokens, const ModelStreamOptions& opt)
    : models_(std::move(models)), names_(std::move(names)), corpus_(std::move(corpus_tokens)), opt_(opt) {
  if (models_.empty()) fail("activation stream: no model given");
  if (names_.size() != models_.size())
    fail("activation stream: ", models_.size(), " models but ", names_.size(), " names");
  init(hooks);
}

ModelActivationStream::~ModelActivationStream() = default;

void ModelActivationStream::init(const std::vector<std::string>& hooks) {
  const Config& c0 = models_[0]->config();
  const Tokenizer* tok0 = models_[0]->tokenizer();
  for (size_t m = 1; m < models_.size(); ++m) {
    const Config& c = models_[m]->config();
    const Tokenizer* tok = models_[m]->tokenizer();
    if (c.d_vocab != c0.d_vocab || (tok && tok0 && (tok->vocab_size() != tok0->vocab_size() || tok->bos_id() != tok0->bos_id())))
      fail("models ", names_[0], " and ", names_[m], " do not share a vocabulary (", c0.d_vocab, " vs ", c.d_vocab,
           " tokens): several models must read the same tokens");
    if (std::count(names_.begin(), names_.end(), names_[m]) > 1)
      fail("two models are both called '", names_[m], "': site names would clash");
  }
  if (opt_.context < 1) fail("context ", opt_.context, " must be at least 1 token");
  if (opt_.batch < 1) fail("batch ", opt_.batch, " must be at least 1 sequence");
  if (opt_.max_tokens < 0) fail("max_tokens ", opt_.max_tokens, " must be >= 0 (0: the whole corpus)");
  if (opt_.prepend_bos && opt_.exclude_bos && opt_.context < 2)
    fail("context ", opt_.context, " leaves no row once BOS is excluded");
  for (const auto& m : models_)
    if (m->config().positional == PosKind::Learned && opt_.context > m->config().n_ctx)
      fail("context ", opt_.context, " exceeds the model's ", m->config().n_ctx, " positions");
  bos_ = opt_.bos_id >= 0 ? opt_.bos_id : tok0 ? tok0->bos_id() : -1;
  if (opt_.prepend_bos && bos_ < 0)
    fail("prepend_bos needs a BOS token, and the model has no tokenizer that names one: give bos_id or turn prepend_bos off");
  if (bos_ >= c0.d_vocab) fail("BOS id ", bos_, " is outside the vocabulary of ", c0.d_vocab, " tokens");
  for (size_t i = 0; i < corpus_.size(); ++i)
    if (corpus_[i] < 0 || corpus_[i] >= c0.d_vocab)
      fail(corpus_name_, ": token ", corpus_[i], " at index ", i, " is outside the model's vocabulary of ", c0.d_vocab,
           " tokens");

  const int64_t from_corpus = opt_.context - (opt_.prepend_bos ? 1 : 0);  // corpus tokens per sequence
  if (from_corpus < 1) fail("context ", opt_.context, " leaves no room for corpus tokens after BOS");
  n_seq_ = int64_t(corpus_.size()) / from_corpus;
  if (n_seq_ == 0)
    fail(corpus_name_, ": ", corpus_.size(), " tokens, fewer than one sequence of context ", opt_.context, " needs (",
         from_corpus, ")");
  if (opt_.max_tokens > 0) {
    n_seq_ = std::min(n_seq_, opt_.max_tokens / opt_.context);
    if (n_seq_ == 0) fail("max_tokens ", opt_.max_tokens, " is less than one sequence of ", opt_.context, " tokens");
  }
  first_pos_ = opt_.prepend_bos && opt_.exclude_bos ? 1 : 0;
  rows_per_seq_ = opt_.context - first_pos_;

  // Sites: each pattern in the order given, each glob's matches in forward order, no repeats.
  fwd_.assign(models_.size(), ForwardOptions{});
  for (size_t m = 0; m < models_.size(); ++m) {
    const Config& c = models_[m]->config();
    std::set<HookPoint> seen;
    int deepest = -1;
    bool after_blocks = false;
    for (const std::string& pattern : hooks) {
      for (const HookPoint& p : match_hooks(pattern, c)) {
        if (!seen.insert(p).second) continue;
        dims_.push_back(site_dim(p, c));
        sites_.push_back({int(m), p});
        site_names_.push_back(models_.size() > 1 ? names_[m] + "/" + p.name() : p.name());
        deepest = std::max(deepest, p.layer);
        if (site_is_global(p.site) && p.site != Site::embed && p.site != Site::pos_embed) after_blocks = true;
      }
    }
    if (seen.empty()) fail("no hook site requested");
    ForwardOptions& f = fwd_[m];
    f.keep = HookSet(seen.begin(), seen.end());
    f.logits = LogitsMode::None;
    f.compute_result = std::any_of(seen.begin(), seen.end(), [](HookPoint p) { return p.site == Site::result; });
    // Nobody reads what comes after the deepest requested block: stop there
    // (ln_final's sites need every block, but still no unembedding).
    f.stop_at_layer = after_blocks ? -1 : deepest + 1;
  }
  seek(0);
}

std::vector<int32_t> ModelActivationStream::sequence(int64_t s) const {
  if (s < 0 || s >= n_seq_) fail("sequence ", s, " is out of range [0, ", n_seq_, ")");
  std::vector<int32_t> ids;
  ids.reserve(size_t(opt_.context));
  if (opt_.prepend_bos) ids.push_back(bos_);
  const int64_t per = opt_.context - int64_t(ids.size());
  ids.insert(ids.end(), corpus_.begin() + s * per, corpus_.begin() + (s + 1) * per);
  return ids;
}

void ModelActivationStream::seek(int64_t row) {
  if (row < 0 || row > total_rows()) fail("seek: row ", row, " is out of range [0, ", total_rows(), "]");
  const int64_t seq = row / rows_per_seq_;
  next_seq_ = seq / opt_.batch * opt_.batch;
  skip_rows_ = row - next_seq_ * rows_per_seq_;
  pending_ = pending_end_ = 0;
}

void ModelActivationStream::run_batch(int64_t first_seq) {
  const int64_t n = std::min<int64_t>(opt_.batch, n_seq_ - first_seq);
  Batch b;
  b.B = n;
  b.T = opt_.context;
  b.tokens.reserve(size_t(n * b.T));
  for (int64_t s = 0; s < n; ++s) {
    const std::vector<int32_t> ids = sequence(first_seq + s);
    b.tokens.insert(b.tokens.end(), ids.begin(), ids.end());
  }
  results_.clear();  // lets the engines reuse the last batch's tensors
  results_.resize(models_.size());
  if (engines_.empty())
    for (const auto& m : models_) engines_.push_back(std::make_unique<Engine>(*m));
  for (size_t m = 0; m < models_.size(); ++m) results_[m] = engines_[m]->forward(b, nullptr, nullptr, fwd_[m]);
  site_tensors_.clear();
  for (const SiteRef& s : sites_) site_tensors_.push_back(&results_[size_t(s.model)].get(s.point));
  batch_tokens_ = std::move(b.tokens);
  batch_first_seq_ = first_seq;
  batch_seqs_ = n;
}

int64_t ModelActivationStream::next(ActivationBatch& out, int64_t max_rows) {
  if (max_rows < 1) fail("next: max_rows ", max_rows, " must be at least 1");
  if (pending_ >= pending_end_) {
    if (next_seq_ >= n_seq_) {
      out.rows = 0;
      for (auto& s : out.sites) s.clear();
      out.sites.resize(sites_.size());
      out.tokens.clear();
      return 0;
    }
    run_batch(next_seq_);
    next_seq_ += batch_seqs_;
    pending_ = skip_rows_;
    pending_end_ = batch_seqs_ * rows_per_seq_;
    skip_rows_ = 0;
  }
  const int64_t n = std::min(max_rows, pending_end_ - pending_);
  out.rows = n;
  out.sites.resize(sites_.size());
  out.tokens.resize(size_t(n));
  const int64_t T = opt_.context;
  // Rows of one sequence are contiguous in the pass's [B, T, ...] tensors: copy runs.
  for (size_t s = 0; s < sites_.size(); ++s) {
    const int64_t d = dims_[s];
    std::vector<float>& dst = out.sites[s];
    dst.resize(size_t(n * d));
    const float* src = site_tensors_[s]->f32();
    for (int64_t r = 0; r < n;) {
      const int64_t row = pending_ + r, b = row / rows_per_seq_, t = first_pos_ + row % rows_per_seq_;
      const int64_t run = std::min(n - r, T - t);
      std::memcpy(dst.data() + r * d, src + (b * T + t) * d, size_t(run * d) * sizeof(float));
      r += run;
    }
  }
  for (int64_t r = 0; r < n; ++r) {
    const int64_t row = pending_ + r, b = row / rows_per_seq_, t = first_pos_ + row % rows_per_seq_;
    out.tokens[size_t(r)] = batch_tokens_[size_t(b * T + t)];
  }
  pending_ += n;
  return n;
}

}  // namespace glassbox::features
