// Causal tracing (Meng et al. 2022, "Locating and Editing Factual
// Associations in GPT", ROME §2.1): where does a model recall a fact?
//
// Three runs per prompt. Clean: the prompt as it is; p(answer) at the last
// token. Corrupted: Gaussian noise added to the subject's token embeddings
// (hook_embed at the subject positions; `noise` times the standard deviation
// of the model's token embeddings, one noise sample per seed), which makes the
// subject unreadable. Restored: the corrupted run with one state put back to
// its clean value: the residual stream (blocks.L.hook_resid_post), the MLP
// output (hook_mlp_out) or the attention output (hook_attn_out) at one
// (layer, position); or, with window k > 1, the MLP or attention outputs of k
// consecutive layers around L at that position (as the paper's Figure 1: layers
// max(0, L - k/2) .. min(n_layers, L - k/2 + k) - 1). The indirect effect of the
// state is p(answer) restored - p(answer) corrupted, averaged over the seeds.
//
// The restored runs of one prompt run as the rows of few batches (every cell
// times every seed), the clean run's states copied in by replace hooks.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/enum_string.h"
#include "glassbox/engine.h"
#include "glassbox/model.h"

namespace glassbox::analysis {

// What a cell restores: the residual stream, the MLP output, the attention output.
enum class TraceSite : uint8_t { Resid, Mlp, Attn };
const char* to_string(TraceSite s);  // "resid", "mlp", "attn"

// One fact: BOS + prompt tokens, the subject's token span [subject_begin,
// subject_end), and the answer token whose probability is traced.
struct TracePrompt {
  std::vector<int32_t> tokens;
  int64_t subject_begin = 0, subject_end = 0;
  int32_t answer = -1;  // < 0: the clean run's top prediction
  std::string text, subject;  // for reports (may be empty)
};

// Tokenises `text` with the model's tokenizer (BOS prepended when the model
// has one) and finds `subject` in it (its first occurrence, matched on the
// decoded tokens: the span is every token overlapping the subject's
// characters). Error when the model has no tokenizer, the subject is empty or
// does not occur in the prompt, or `answer` (if not empty) is not one token.
TracePrompt trace_prompt(const Model& m, const std::string& text, const std::string& subject,
                         const std::string& answer = "");

struct TraceOptions {
  std::vector<TraceSite> sites = {TraceSite::Resid, TraceSite::Mlp, TraceSite::Attn};
  int window = 1;        // layers restored at once for mlp / attn (resid: always 1)
  int samples = 10;      // noise seeds per prompt
  float noise = 3.0f;    // noise std as a multiple of the token embeddings' std
  float noise_std = 0;   // > 0: this absolute std instead
  uint64_t seed = 1;
  size_t max_bytes = size_t(1) << 30;  // activations of one batch of restored runs
  // Called after each prompt: (prompts done, prompts).
  std::function<void(int64_t, int64_t)> progress;
};

// Positions grouped as the paper's figures average them over prompts.
enum class TokenRole : uint8_t {
  BeforeSubject, FirstSubject, MiddleSubject, LastSubject, FirstSubsequent, FurtherTokens, LastToken, COUNT
};
const char* to_string(TokenRole r);  // "tokens before the subject", "first subject token", ...
// The role of position t of a prompt (a one-token subject is its last subject
// token; the prompt's last token is "last token" even right after the subject).
TokenRole token_role(const TracePrompt& p, int64_t t);

struct TraceGrid {
  TraceSite site;
  int window = 1;
  int64_t n_layers = 0, T = 0;
  std::vector<double> effect;  // [n_layers, T]: p(answer) restored - corrupted, mean over seeds
  double at(int64_t layer, int64_t t) const { return effect[size_t(layer * T + t)]; }
};

struct PromptTrace {
  TracePrompt prompt;   // answer resolved
  double p_clean = 0;   // p(answer) in the clean run
  double p_corrupt = 0; // mean over seeds in the corrupted run
  std::vector<TraceGrid> grids;  // one per TraceOptions::sites
};

// The mean over prompts of each role's effect (a prompt's positions of one
// role averaged first), per site and layer: the paper's Figure 2 rows.
struct RoleAverage {
  TraceSite site;
  int window = 1;
  int64_t n_layers = 0;
  std::vector<double> effect;   // [TokenRole::COUNT, n_layers]
  std::vector<int64_t> prompts; // [TokenRole::COUNT]: prompts having the role
  double at(TokenRole r, int64_t layer) const { return effect[size_t(int(r) * n_layers + layer)]; }
};

struct CausalTrace {
  TraceOptions options;
  float noise_std = 0;  // the absolute std used
  std::vector<PromptTrace> prompts;
  std::vector<RoleAverage> averages;  // one per site
  double mean_p_clean = 0, mean_p_corrupt = 0;
};

// Traces every prompt. Error for an empty prompt list, a subject span outside
// the prompt or covering its last token (the answer is read there), a site the
// model lacks (an attention-only model has no MLP), window < 1 or > n_layers,
// samples < 1, noise <= 0.
CausalTrace causal_trace(Engine& e, const std::vector<TracePrompt>& prompts, const TraceOptions& opt = {});

// The noise added in sample s (0 .. samples-1) to a subject of n tokens:
// [n, d_model] N(0, std^2) draws, from TraceOptions::seed and s only (Box-Muller
// on mt19937_64, the same on every platform), the same for every prompt.
std::vector<float> trace_noise(uint64_t seed, int sample, int64_t n, int64_t d_model, float std);

// The layers a window of k restores around `layer` (Meng et al.'s centring).
std::pair<int64_t, int64_t> trace_window(int64_t layer, int k, int64_t n_layers);

// The average of a site's grid over prompts restricted to one role: what
// pages and tests read.
const RoleAverage& role_average(const CausalTrace& t, TraceSite s);

// JSON of the whole trace (per prompt grids and the role averages).
nlohmann::json to_json(const CausalTrace& t, const Model& m);

}  // namespace glassbox::analysis

namespace glassbox {
template <> analysis::TraceSite from_string<analysis::TraceSite>(std::string_view s);
}  // namespace glassbox
