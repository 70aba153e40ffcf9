// Knowledge editing: change what a model says about a subject by changing MLP
// output weights, as in ROME (Meng et al. 2022, one rank-one update at the
// subject's last token) and MEMIT (Meng et al. 2023, many edits spread over a
// range of layers), with the fine-tuning baselines FT and FT-L (one layer's
// MLP output matrix trained on the new fact, without and with an L-infinity
// bound on the change).
//
// Conventions. glassbox stores the MLP output matrix as W_out [d_mlp, d_model]
// (out = k . W_out + b_out for the MLP key k = hook_post), the transpose of the
// papers' W (v = W k). Every change is kept factorised as
// W_out += left . right^T (left [d_mlp, r], right [d_model, r]): ROME's
// rank-one u v^T, MEMIT's rank-n update per layer, FT's dense change (r = d_model).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/enum_string.h"
#include "glassbox/tokenizer.h"
#include "glassbox/trainable.h"

namespace glassbox::editing {

// One fact to write, as text. `prompt` holds "{}" where the subject goes
// ("{} lives in"); the model should then say `target_new` (one token) where it
// said `target_true`.
struct EditRequest {
  std::string subject;
  std::string prompt;
  std::string target_new;
  std::string target_true;                 // empty: unknown (no efficacy is scored)
  std::vector<std::string> paraphrases;    // other phrasings, templates with "{}"
  // Other subjects' facts of the same relation (full prompt, true object):
  // an edit should leave them alone.
  std::vector<std::pair<std::string, std::string>> neighbours;
};

// A full prompt with the subject in it -> the request's template: the first
// occurrence of `subject` becomes "{}". Error when the subject is not in the prompt.
std::string prompt_template(const std::string& prompt, const std::string& subject);

enum class Method : uint8_t { Rome, Memit, Ft, FtL };
const char* to_string(Method m);  // "rome", "memit", "ft", "ft-l"
}  // namespace glassbox::editing
namespace glassbox {
template <> editing::Method from_string<editing::Method>(std::string_view s);
}  // namespace glassbox
namespace glassbox::editing {

enum class MemitKeys : uint8_t { Mean, Bare };
const char* to_string(MemitKeys k);  // "mean", "bare"
}  // namespace glassbox::editing
namespace glassbox {
template <> editing::MemitKeys from_string<editing::MemitKeys>(std::string_view s);
}  // namespace glassbox
namespace glassbox::editing {

struct EditConfig {
  Method method = Method::Rome;
  // ROME / FT / FT-L: one layer; MEMIT: the range, the last one is where the
  // residual target is set. Empty: default_layers().
  std::vector<int> layers;
  // The target value (ROME's v*, MEMIT's z): Adam on a vector added at the
  // subject's last token, maximising p(new) over the prefix contexts, with a
  // KL term keeping "<subject> is a" as it was and an L2 penalty (ROME's
  // defaults, but for the steps: ROME takes 20 on GPT-2 XL; on facts-lm 25
  // leave ROME's single edits at .98 / .87 / .98, 60 reach 1.00 / .90 / .98;
  // the optimisation stops once p(new) is near certain, so easy edits take few).
  int v_steps = 60;
  float v_lr = 0.5f;
  float kl_factor = 0.0625f;
  float v_weight_decay = 0.5f;
  float clamp_norm = 4.0f;     // |delta| <= clamp_norm * |the value it is added to|
  int n_prefixes = 10;         // sampled prefix contexts (plus the bare prompt)
  int prefix_tokens = 5;
  // MEMIT: W_out += (lambda C + K^T K + w P^T P)^-1 K^T R with C = E[k k^T]
  // (lambda is MEMIT's mom2_update_weight; 15000 for GPT-J's d_mlp 16384 and
  // 10,000 edits). Larger keeps other keys' outputs closer. On facts-lm, 100
  // edits: 10 gives .90 / .82 / .82 (efficacy / paraphrase / neighbourhood),
  // 100 gives .89 / .79 / .88; with the two settings below, 100 is best.
  float mom2_weight = 100.0f;
  // MEMIT, glassbox's addition: P holds the keys at every other token of each
  // request's prompt, to be left unchanged, with weight w (0: MEMIT as
  // published). A small model's MLP key is mostly its token, so a batch's
  // edits leak into the other tokens of the names and prompts they share
  // (after 100 edits on facts-lm, 30-80% of each other token's residual).
  float memit_preserve = 0.3f;
  // MEMIT, glassbox's addition: after a pass, the requests whose new object
  // is still below memit_retry_below after their prompt get another pass,
  // their targets z optimised in the edited model, where the other edits'
  // leaks already are (1: one pass, as published).
  int memit_rounds = 2;
  float memit_retry_below = 0.8f;
  // MEMIT: the key each request's value is written through. Bare: the bare
  // prompt's key, as ROME's update uses here; Mean: averaged over the prompt
  // and its prefix contexts, as MEMIT's reference code does. A small model's
  // key moves with the prefix and the mean misses the prompt itself: on
  // facts-lm, 100 edits at once reach efficacy 0.99 with Bare, 0.93 with Mean.
  MemitKeys memit_keys = MemitKeys::Bare;
  // The key covariance's ridge, relative to its mean diagonal (keeps C^-1
  // finite when the text leaves directions of the key space unvisited).
  float cov_ridge = 1e-4f;
  // FT / FT-L: Adam steps on W_out at the edit layer, on -log p(new) in the
  // prompt and its prefix contexts; FT-L clamps |W_out - W_out0| <= ft_linf.
  int ft_steps = 25;
  float ft_lr = 5e-3f;
  float ft_linf = 5e-3f;
  uint64_t seed = 0;
};

// ROME: the layer where a model stores facts at the subject differs per model
// (causal tracing says which); without a measurement, the first MLP for a
// model of up to 4 layers, else the one a quarter of the way up (GPT-2 XL's
// 17 of 48). MEMIT: for up to 4 layers every layer but the last (the more
// layers share a batch, the less each writes), else that layer and the next.
std::vector<int> default_layers(const Config& c, Method m);

// E[k k^T] of the MLP keys (hook_post) at `layer`, over text.
struct KeyCovariance {
  int layer = -1;
  int64_t d = 0;               // d_mlp
  int64_t n_tokens = 0;
  std::vector<double> second_moment;  // [d, d]
};

// A factorised change W_out(layer) += left . right^T.
struct WeightDelta {
  int layer = -1;
  int64_t rank = 0, d_mlp = 0, d_model = 0;
  std::vector<float> left;   // [d_mlp, rank]
  std::vector<float> right;  // [d_model, rank]
};

// A request tokenised: the prompt with BOS, where its subject ends, the target ids.
struct TokenizedPrompt {
  std::vector<int32_t> tokens;
  int64_t subject_last = -1;  // index into tokens
};

// An editable copy of a safetensors model (weights in owned buffers) with its
// tokenizer; Engine passes see every change at once.
class Editor {
 public:
  // A directory holding config.json, model.safetensors and tokenizer.json.
  explicit Editor(const std::string& model_dir);
  Editor(const Editor&) = delete;
  Editor& operator=(const Editor&) = delete;
  ~Editor();

  const Model& model() const { return tr_.model(); }
  const Config& config() const { return tr_.model().config(); }
  const Tokenizer& tokenizer() const { return tok_; }
  Engine& engine() { return *engine_; }
  const std::string& source() const { return source_; }
  Trainable& trainable() { return tr_; }  // FT reads its gradient buffers

  // Tokenises `tpl` with `subject` in place of "{}", after `context` (text,
  // may be empty). Error naming the prompt when the subject's tokens do not
  // begin where the text before it ends (a tokenizer merging across the
  // boundary) or the prompt does not fit the context.
  TokenizedPrompt tokenize(const std::string& tpl, const std::string& subject, const std::string& context = "") const;
  // `text` as a prompt: the tokenizer's ids with a BOS first when it has one.
  std::vector<int32_t> encode_prompt(const std::string& text) const;
  // The one token `text` encodes to (no BOS). Error naming the text and its
  // pieces when it is not exactly one token.
  int32_t single_token(const std::string& text, const char* what) const;

  // Runs ROME, MEMIT, FT or FT-L for all requests at once (ROME: one after
  // another) and returns the changes, already applied. `cov` holds the key
  // covariance of each layer ROME / MEMIT edit (covariance()).
  std::vector<WeightDelta> apply(const std::vector<EditRequest>& requests, const EditConfig& cfg,
                                 const std::vector<KeyCovariance>& cov, bool progress = false);

  // Adds (sign +1) or subtracts a change.
  void add_delta(const WeightDelta& d, float sign = 1.0f);
  // Back to the weights as loaded.
  void reset();

  // The MLP output matrix of a layer, writable.
  MutMatRef w_out(int layer);

  // Writes the edited model: a directory (model.safetensors, config.json,
  // tokenizer.json) or, for a path ending in .gguf, a llama.cpp GGUF file.
  void save(const std::string& path) const;

 private:
  std::string source_;
  Trainable tr_;
  Tokenizer tok_;
  std::unique_ptr<Engine> engine_;
  std::vector<std::vector<float>> original_w_out_;  // per layer, copied at load
};

// The key covariance at `layer` over `rows` of token ids (each row one window
// starting as the model's training text does).
KeyCovariance key_covariance(Engine& e, int layer, const std::vector<std::vector<int32_t>>& rows,
                             bool progress = false);

// ROME's closed form (in W_out's orientation): the rank-one change that maps
// the key k_norm to its value plus `residual` while moving other keys as
// little as possible under the covariance C:
//   left = C^-1 k* / (k_norm^T C^-1 k*), right = residual.
// The paper's form has k_norm = k* (the key averaged over prefix contexts);
// ROME's reference code normalises at the bare prompt's key instead (so the
// edited prompt itself gets exactly the optimised value), which is what
// Editor::apply passes. C is [d, d] (its ridge already in), k_star and
// k_norm [d], residual [d_model].
WeightDelta rome_delta(int layer, const std::vector<double>& C, const std::vector<float>& k_star,
                       const std::vector<float>& k_norm, const std::vector<float>& residual, int64_t d_model);

// Saved edits: one safetensors file holding delta.{i}.left / .right per
// change, with the layer, method and requests in its metadata, so an edit
// ships in kilobytes and applies to the model it was made on.
void save_deltas(const std::string& path, const std::vector<WeightDelta>& deltas, const nlohmann::json& about);
std::vector<WeightDelta> load_deltas(const std::string& path, nlohmann::json* about = nullptr);

}  // namespace glassbox::editing
