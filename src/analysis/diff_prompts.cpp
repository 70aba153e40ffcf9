// Prompts with responses for model diffing (glassbox/analysis/model_diff.h):
// the ones not given are the writer's greedy continuations.
#include "glassbox/analysis/model_diff.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"

namespace glassbox::analysis {

std::vector<DiffPrompt> with_responses(Engine& writer, const std::vector<AskedPrompt>& asked, int max_new_tokens) {
  std::vector<std::vector<int32_t>> to_generate;
  for (const AskedPrompt& a : asked)
    if (!a.response) to_generate.push_back(a.prompt);
  Generation g;
  if (!to_generate.empty()) {
    SamplingOptions so;
    so.max_new_tokens = max_new_tokens;
    so.temperature = 0;
    g = generate(writer, to_generate, so);
  }
  std::vector<DiffPrompt> out;
  size_t gi = 0;
  for (const AskedPrompt& a : asked) {
    DiffPrompt d{a.prompt, int64_t(a.prompt.size())};
    const std::vector<int32_t>& resp = a.response ? *a.response : g.tokens[gi++];
    if (resp.empty()) fail("diff: a response is empty (", a.response ? "given" : "generated", ")");
    d.tokens.insert(d.tokens.end(), resp.begin(), resp.end());
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace glassbox::analysis
