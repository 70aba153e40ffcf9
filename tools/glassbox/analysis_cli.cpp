#include "analysis_cli.h"

#include <cstdio>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

int32_t parse_single_token(const Model& m, const std::string& s, const std::string& flag) {
  if (s.empty()) fail(flag, ": empty token");
  const int32_t V = static_cast<int32_t>(m.config().d_vocab);
  if (s[0] == '#' && s.size() > 1) {
    const auto ids = parse_token_ids(s.substr(1), flag);
    if (ids.size() != 1) fail(flag, ": '", s, "' is not one token id");
    if (ids[0] < 0 || ids[0] >= V) fail(flag, ": token id ", ids[0], " is outside the vocabulary of ", V);
    return ids[0];
  }
  const Tokenizer& tok = require_tokenizer(m, flag);
  const auto ids = tok.encode(s, /*add_special=*/false);
  if (ids.size() != 1)
    fail(flag, ": '", escape_text(s), "' is ", ids.size(), " tokens, expected exactly one (a leading space "
         "often matters: ' Mary'); or give an id as #123");
  return ids[0];
}

std::vector<int32_t> parse_single_tokens(const Model& m, const std::vector<std::string>& v, const std::string& flag) {
  std::vector<int32_t> out;
  for (const auto& s : v) out.push_back(parse_single_token(m, s, flag));
  return out;
}

std::pair<int, int> parse_layer_head(const std::string& s, const std::string& flag, const Config& c) {
  const auto dot = s.find('.');
  const auto v = parse_int_list(dot == std::string::npos ? s : s.substr(0, dot) + "," + s.substr(dot + 1), flag);
  if (v.size() != 2) fail(flag, ": expected LAYER.HEAD, e.g. 1.3, got '", s, "'");
  if (v[0] < 0 || v[0] >= c.n_layers) fail(flag, ": layer ", v[0], " is out of range (", c.n_layers, " layers)");
  if (v[1] < 0 || v[1] >= c.n_heads) fail(flag, ": head ", v[1], " is out of range (", c.n_heads, " heads)");
  return {int(v[0]), int(v[1])};
}

void print_grid(const std::string& title, const std::vector<std::string>& rows, const std::vector<std::string>& cols,
                const std::vector<float>& values) {
  std::printf("%s\n%8s", title.c_str(), "");
  for (const auto& c : cols) std::printf(" %7.7s", c.c_str());
  std::printf("\n");
  for (size_t r = 0; r < rows.size(); ++r) {
    std::printf("%8.8s", rows[r].c_str());
    for (size_t c = 0; c < cols.size(); ++c) std::printf(" %7.3f", double(values[r * cols.size() + c]));
    std::printf("\n");
  }
}

PromptPair prompt_pair(const Model& m, const std::string& clean, const std::string& corrupt,
                       const std::string& clean_tokens, const std::string& corrupt_tokens) {
  PromptPair p{input_tokens(m, clean, clean_tokens), input_tokens(m, corrupt, corrupt_tokens)};
  if (p.clean.size() != p.corrupt.size())
    fail("the clean prompt is ", p.clean.size(), " tokens and the corrupted one ", p.corrupt.size(),
         "; patching compares positions, so they must have the same length");
  return p;
}

void add_pair_flags(CLI::App& cmd, PairFlags& f, const std::string& wrong_help, bool wrong_required) {
  cmd.add_option("--clean", f.clean, "Clean prompt text");
  cmd.add_option("--corrupt", f.corrupt, "Corrupted prompt text (same number of tokens)");
  cmd.add_option("--clean-tokens", f.clean_tokens, "Clean prompt as token ids");
  cmd.add_option("--corrupt-tokens", f.corrupt_tokens, "Corrupted prompt as token ids");
  cmd.add_option("--answer", f.answer, "The clean answer token (text of one token, or #id)")->required();
  cmd.add_option("--wrong", f.wrong, wrong_help)->required(wrong_required);
}

}  // namespace glassbox::cli
