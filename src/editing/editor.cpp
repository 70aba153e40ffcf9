// The editable model: a Trainable copy of the checkpoint (owned f32 buffers
// the engine reads), its tokenizer, and the loaded MLP output matrices kept
// aside so evaluation can undo one batch of edits before the next.
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/gguf_export.h"
#include "glassbox/mmap_file.h"

#include "editing/detail.h"

namespace glassbox::editing {

namespace fs = std::filesystem;

namespace {

// Element (i, j) of a strided matrix.
inline float& at(MutMatRef m, int64_t i, int64_t j) { return m.data[i * m.rs + j * m.cs]; }

}  // namespace

std::string prompt_template(const std::string& prompt, const std::string& subject) {
  if (subject.empty()) fail("edit: the subject is empty");
  const size_t at = prompt.find(subject);
  if (at == std::string::npos) fail("edit: subject '", subject, "' not found in the prompt '", prompt, "'");
  return prompt.substr(0, at) + "{}" + prompt.substr(at + subject.size());
}

Editor::Editor(const std::string& model_dir)
    : source_(model_dir), tr_(Trainable::load(model_dir)), tok_(Tokenizer::from_file(model_dir)) {
  const Config& c = config();
  if (c.d_mlp <= 0) fail("edit: ", model_dir, " has no MLPs to edit (attention-only model)");
  engine_ = std::make_unique<Engine>(tr_.model());
  for (int l = 0; l < c.n_layers; ++l) {
    const MutMatRef w = w_out(l);
    std::vector<float> copy(size_t(w.rows * w.cols));
    for (int64_t i = 0; i < w.rows; ++i)
      for (int64_t j = 0; j < w.cols; ++j) copy[size_t(i * w.cols + j)] = at(w, i, j);
    original_w_out_.push_back(std::move(copy));
  }
}

Editor::~Editor() = default;

MutMatRef Editor::w_out(int layer) {
  const Config& c = config();
  if (layer < 0 || layer >= c.n_layers)
    fail("edit: layer ", layer, " out of range (the model has ", c.n_layers, " layers)");
  const MatRef W = tr_.model().weights().layers[size_t(layer)].W_out;
  // The view points into one of the Trainable's own buffers: find it, so the
  // write goes through a pointer that was never const.
  for (Param& p : tr_.params()) {
    float* base = p.value.f32();
    if (W.data >= base && W.data < base + p.value.numel())
      return {base + (W.data - base), W.rows, W.cols, W.rs, W.cs};
  }
  fail("edit: the MLP output matrix of layer ", layer, " is not one of the model's parameters");
}

void Editor::add_delta(const WeightDelta& d, float sign) {
  MutMatRef W = w_out(d.layer);
  if (d.d_mlp != W.rows || d.d_model != W.cols || d.left.size() != size_t(d.d_mlp * d.rank) ||
      d.right.size() != size_t(d.d_model * d.rank))
    fail("edit: a change of layer ", d.layer, " shaped [", d.d_mlp, " x ", d.d_model, "] (rank ", d.rank,
         ") does not fit the model's W_out [", W.rows, " x ", W.cols, "]");
#pragma omp parallel for if (W.rows * W.cols * d.rank > (1 << 18))
  for (int64_t i = 0; i < W.rows; ++i)
    for (int64_t j = 0; j < W.cols; ++j) {
      double s = 0;
      for (int64_t r = 0; r < d.rank; ++r) s += double(d.left[size_t(i * d.rank + r)]) * d.right[size_t(j * d.rank + r)];
      at(W, i, j) += float(sign * s);
    }
}

void Editor::reset() {
  for (int l = 0; l < config().n_layers; ++l) {
    MutMatRef W = w_out(l);
    const std::vector<float>& o = original_w_out_[size_t(l)];
    for (int64_t i = 0; i < W.rows; ++i)
      for (int64_t j = 0; j < W.cols; ++j) at(W, i, j) = o[size_t(i * W.cols + j)];
  }
}

TokenizedPrompt Editor::tokenize(const std::string& tpl, const std::string& subject, const std::string& context) const {
  const size_t slot = tpl.find("{}");
  if (slot == std::string::npos) fail("edit: prompt '", tpl, "' has no {} where the subject '", subject, "' goes");
  const std::string before = context + tpl.substr(0, slot);
  const std::string full = before + subject + tpl.substr(slot + 2);
  TokenizedPrompt p;
  p.tokens = encode_prompt(full);
  const std::vector<int32_t> head = encode_prompt(before), upto = encode_prompt(before + subject);
  // The subject's tokens must be the ones the full prompt has at that place.
  const bool aligned = upto.size() > head.size() && upto.size() <= p.tokens.size() &&
                       std::equal(upto.begin(), upto.end(), p.tokens.begin());
  if (!aligned)
    fail("edit: the subject '", subject, "' does not tokenize on its own in '", full,
         "' (the tokenizer merges it with the text around it)");
  p.subject_last = int64_t(upto.size()) - 1;
  if (int64_t(p.tokens.size()) > config().n_ctx)
    fail("edit: '", full, "' is ", p.tokens.size(), " tokens, longer than the model's context (", config().n_ctx, ")");
  return p;
}

std::vector<int32_t> Editor::encode_prompt(const std::string& text) const {
  // As the organisms were trained and ROME reads GPT-2: text starts after a
  // BOS (<|endoftext|>) even where the tokenizer adds none itself.
  return with_bos(tok_, tok_.encode(text));
}

int32_t Editor::single_token(const std::string& text, const char* what) const {
  const std::vector<int32_t> ids = tok_.encode(text, /*add_special=*/false);
  if (ids.size() != 1) {
    std::string pieces;
    for (int32_t id : ids) pieces += (pieces.empty() ? "'" : ", '") + tok_.token_to_bytes(id) + "'";
    fail("edit: the ", what, " '", text, "' is ", ids.size(), " tokens (", pieces,
         "); it must be one token (efficacy compares the new and the old object's next-token probabilities)");
  }
  return ids[0];
}

void Editor::save(const std::string& path) const {
  if (fs::path(path).extension() == ".gguf") {
    GgufExportOptions o;
    o.tokenizer = &tok_;
    o.name = fs::path(path).stem().string();
    save_gguf(tr_.model(), path, o);
    return;
  }
  tr_.save(path);
  // The tokenizer files travel with the weights, so the directory loads on its own.
  const fs::path src = fs::is_directory(source_) ? fs::path(source_) : fs::path(source_).parent_path();
  for (const char* name : {"tokenizer.json", "tokenizer_config.json"})
    if (fs::exists(src / name)) {
      const auto f = MappedFile::open((src / name).string());
      write_file_atomic((fs::path(path) / name).string(), f->data(), f->size());
    }
}

}  // namespace glassbox::editing
