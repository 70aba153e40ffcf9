// Internal: what the editing methods share — prefix contexts, the subject's
// keys, the target value optimised through the engine's backward, the solve.
#pragma once
#include <string>
#include <vector>

#include "glassbox/editing/edit.h"

namespace glassbox::editing::detail {

// ROME's context templates: "{}" (the bare prompt) and n texts the model
// writes itself from BOS, prefix_tokens tokens each, every one followed by
// ". " and the prompt: the key and the value must hold whatever came before.
std::vector<std::string> prefix_contexts(Editor& ed, int n, int prefix_tokens, uint64_t seed);

// The prompt in each context, and where its subject ends.
std::vector<TokenizedPrompt> in_contexts(const Editor& ed, const EditRequest& r,
                                         const std::vector<std::string>& contexts);

// The MLP key (hook_post) at `layer` at the subject's last token, averaged over the prompts.
std::vector<float> subject_key(Engine& e, int layer, const std::vector<TokenizedPrompt>& prompts);
// The MLP keys at `layer` at every token of each prompt but the subject's last, [m, d_mlp].
std::vector<float> other_keys(Engine& e, int layer, const std::vector<TokenizedPrompt>& prompts);
// The activation at `site` of `layer` at the subject's last token of one prompt.
std::vector<float> activation_at_subject(Engine& e, Site site, int layer, const TokenizedPrompt& p);

// ROME's v* / MEMIT's z: the vector delta added at (site, layer) at the
// subject's last token in every context that makes the new object likely,
// with ROME's KL term on "<subject> is a" and its L2 penalty. Returns delta.
std::vector<float> optimise_delta(Editor& ed, const EditRequest& r, const std::vector<std::string>& contexts,
                                  Site site, int layer, const EditConfig& cfg);

// Next-token probabilities of `tokens[i]` (ids) after each prompt i.
std::vector<std::vector<double>> probs_after(Engine& e, const std::vector<TokenizedPrompt>& prompts,
                                             const std::vector<std::vector<int32_t>>& tokens);

// C + ridge * mean(diag C) * I, as doubles.
std::vector<double> damped(const KeyCovariance& c, float ridge);
const KeyCovariance& covariance_for(const std::vector<KeyCovariance>& cov, int layer);

// Solves A X = B for symmetric positive definite A [m, m], B [m, nrhs] (in place).
void solve_spd(std::vector<double> A, std::vector<double>& B, int64_t m, int64_t nrhs, const char* who);

// -log softmax(row)[target] and its gradient softmax - onehot, times `scale`, into drow.
double nll_and_grad(const float* row, int64_t V, int32_t target, float scale, float* drow);

}  // namespace glassbox::editing::detail
