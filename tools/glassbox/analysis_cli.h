// What the analysis commands (lens, dla, heads, patch) and the tour's
// analysis pages share: parsing tokens, sites and prompt pairs from flags,
// and printing grids. The charts are the library's (glassbox/pages).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "glassbox/analysis/patching.h"
#include "glassbox/error.h"
#include "glassbox/model.h"

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

// "resid_pre", "attn_out", "z" ... or a full suffix ("attn.hook_z"), the
// flag named in the error (the library's, shared with the server).
using analysis::parse_patch_site;

// A [rows x cols] grid on the terminal (labels from pages/charts.h).
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

}  // namespace glassbox::cli
