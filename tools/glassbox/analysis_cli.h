// What the analysis commands (lens, dla, heads, patch) and the tour's
// analysis pages share: parsing tokens and sites from flags, and turning
// analysis results into tables and report charts.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/model.h"
#include "glassbox/report.h"

namespace glassbox::cli {

// One token from a flag: "#123" (an id) or text that the model's tokenizer
// turns into exactly one token (" Mary"). Error naming the flag otherwise.
int32_t parse_single_token(const Model& m, const std::string& s, const std::string& flag);
std::vector<int32_t> parse_single_tokens(const Model& m, const std::vector<std::string>& v, const std::string& flag);

// "LAYER.HEAD" ("1.3"), both checked against the model; Error naming the flag.
std::pair<int, int> parse_layer_head(const std::string& s, const std::string& flag, const Config& c);

// The value of an enumerated flag, spelled as the library's from_string<E>
// spells it in JSON: Error naming the flag and listing the choices otherwise.
template <class E>
E parse_choice(const std::string& flag, const std::string& v) {
  try {
    return from_string<E>(v);
  } catch (const Error& e) {
    fail(flag, ": ", e.what());
  }
}

// "resid_pre", "attn_out", "z" ... or a full suffix ("attn.hook_z"). Error
// listing the patchable sites otherwise.
Site parse_patch_site(const std::string& s, const std::string& flag);
// The short name parse_patch_site() accepts: "resid_pre", "z".
std::string short_site_name(Site s);

// Labels for chart axes: "3 ' Mary'" style position labels, "L2", "L1H3".
std::vector<std::string> position_labels(const Model& m, const std::vector<int32_t>& tokens);
std::vector<std::string> layer_labels(int64_t n);
std::vector<std::string> head_labels(int64_t n_heads);

// Charts and the terminal rendering of the results.
report::json patch_heatmap(const analysis::PatchGrid& g, const std::vector<std::string>& col_labels);
report::json head_score_heatmap(const analysis::HeadScores& s);
report::json lens_heatmap(const Model& m, const analysis::LogitLensResult& r);
report::json dla_head_heatmap(const analysis::DlaResult& r);
void print_grid(const std::string& title, const std::vector<std::string>& row_labels,
                const std::vector<std::string>& col_labels, const std::vector<float>& values);

// The clean/corrupt prompt pair of a patching run, as one-row batches of equal length.
struct PromptPair {
  std::vector<int32_t> clean, corrupt;
};
PromptPair prompt_pair(const Model& m, const std::string& clean, const std::string& corrupt,
                       const std::string& clean_tokens, const std::string& corrupt_tokens);

// The flags of patch and circuit: the prompt pair (as text or ids) and the
// clean and corrupted answers.
struct PairFlags {
  std::string clean, corrupt, clean_tokens, corrupt_tokens, answer, wrong;
  PromptPair pair(const Model& m) const { return prompt_pair(m, clean, corrupt, clean_tokens, corrupt_tokens); }
};
void add_pair_flags(CLI::App& cmd, PairFlags& f, const std::string& wrong_help, bool wrong_required);

// n tokens the model writes itself (temperature 1, from BOS or token 0, in
// windows of its context): text for fitting a tuned lens without a corpus.
std::vector<int32_t> sample_token_stream(Engine& e, int64_t n, uint64_t seed);

// Activation and/or attribution patching over `sites`, and where both ran the
// correlation of each site's two grids (keyed by hook suffix).
struct PatchRun {
  std::vector<analysis::PatchGrid> activation, attribution;
  nlohmann::json correlation = nlohmann::json::object();
  std::vector<analysis::PatchGrid> grids() const;  // activation first
};
PatchRun run_patching(Engine& e, const PromptPair& pair, const std::vector<Site>& sites,
                      const analysis::PatchingOptions& opt, bool activation, bool attribution);

}  // namespace glassbox::cli
