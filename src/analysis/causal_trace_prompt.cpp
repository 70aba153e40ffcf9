// Causal tracing's inputs and outputs: a prompt with its subject located in
// its tokens, and the trace as JSON.
#include <algorithm>
#include <cmath>

#include "glassbox/analysis/causal_trace.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::analysis {

TracePrompt trace_prompt(const Model& m, const std::string& text, const std::string& subject,
                         const std::string& answer) {
  const Tokenizer* tok = m.tokenizer();
  if (!tok) fail(m.source(), ": the model has no tokenizer to find the subject '", subject, "' in the prompt");
  if (subject.empty()) fail("causal trace: the subject is empty");
  TracePrompt p;
  p.text = text;
  p.subject = subject;
  // The organisms (and GPT-2's own training stream) read text after BOS.
  p.tokens = with_bos(*tok, tok->encode(text));
  // Character offsets of each token's decoded text; the subject is the first
  // run of tokens covering its characters (matched after BOS and other specials).
  std::string joined;
  std::vector<size_t> begin(p.tokens.size()), end(p.tokens.size());
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    begin[i] = joined.size();
    if (tok->token_type(p.tokens[i]) != TokenType::Control) joined += tok->token_to_bytes(p.tokens[i]);
    end[i] = joined.size();
  }
  const size_t at = joined.find(subject);
  if (at == std::string::npos) fail("causal trace: subject '", subject, "' is not in the prompt '", text, "'");
  const size_t stop = at + subject.size();
  p.subject_begin = -1;
  for (size_t i = 0; i < p.tokens.size(); ++i) {
    if (end[i] <= at || begin[i] >= stop || begin[i] == end[i]) continue;
    if (p.subject_begin < 0) p.subject_begin = int64_t(i);
    p.subject_end = int64_t(i) + 1;
  }
  if (p.subject_end >= int64_t(p.tokens.size()))
    fail("causal trace: the prompt '", text, "' ends with its subject '", subject,
         "'; the answer is read at the last token, which must follow the subject");
  if (!answer.empty()) {
    const std::vector<int32_t> ids = tok->encode(answer, /*add_special=*/false);
    if (ids.size() != 1)
      fail("causal trace: answer '", answer, "' is ", ids.size(), " tokens, not one (a leading space usually matters)");
    p.answer = ids[0];
  }
  return p;
}

nlohmann::json to_json(const CausalTrace& t, const Model& m) {
  const Tokenizer* tok = m.tokenizer();
  const auto piece = [&](int32_t id) { return tok ? tok->token_to_bytes(id) : std::string("#").append(std::to_string(id)); };
  const auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  nlohmann::json sites = nlohmann::json::array();
  for (TraceSite s : t.options.sites) sites.push_back(to_string(s));
  nlohmann::json prompts = nlohmann::json::array();
  for (const PromptTrace& pt : t.prompts) {
    nlohmann::json pieces = nlohmann::json::array(), roles = nlohmann::json::array();
    for (size_t i = 0; i < pt.prompt.tokens.size(); ++i) {
      pieces.push_back(piece(pt.prompt.tokens[i]));
      roles.push_back(to_string(token_role(pt.prompt, int64_t(i))));
    }
    nlohmann::json grids = nlohmann::json::object();
    for (const TraceGrid& g : pt.grids) {
      nlohmann::json rows = nlohmann::json::array();
      for (int64_t l = 0; l < g.n_layers; ++l) {
        nlohmann::json row = nlohmann::json::array();
        for (int64_t i = 0; i < g.T; ++i) row.push_back(num(g.at(l, i)));
        rows.push_back(std::move(row));
      }
      grids[to_string(g.site)] = std::move(rows);
    }
    prompts.push_back({{"text", pt.prompt.text},
                       {"subject", pt.prompt.subject},
                       {"tokens", pt.prompt.tokens},
                       {"pieces", pieces},
                       {"roles", roles},
                       {"subject_span", {pt.prompt.subject_begin, pt.prompt.subject_end}},
                       {"answer", piece(pt.prompt.answer)},
                       {"answer_id", pt.prompt.answer},
                       {"p_clean", pt.p_clean},
                       {"p_corrupt", pt.p_corrupt},
                       {"effect", grids}});
  }
  nlohmann::json averages = nlohmann::json::object();
  for (const RoleAverage& a : t.averages) {
    nlohmann::json by_role = nlohmann::json::object();
    for (int r = 0; r < int(TokenRole::COUNT); ++r) {
      nlohmann::json row = nlohmann::json::array();
      for (int64_t l = 0; l < a.n_layers; ++l) row.push_back(num(a.at(TokenRole(r), l)));
      by_role[to_string(TokenRole(r))] = {{"prompts", a.prompts[size_t(r)]}, {"effect", row}};
    }
    averages[to_string(a.site)] = std::move(by_role);
  }
  return {{"method", "causal tracing (Meng et al. 2022): indirect effect = p(answer) restored - p(answer) corrupted"},
          {"sites", sites},
          {"window", t.options.window},
          {"samples", t.options.samples},
          {"noise", t.options.noise_std > 0 ? nlohmann::json(nullptr) : nlohmann::json(t.options.noise)},
          {"noise_std", t.noise_std},
          {"seed", t.options.seed},
          {"n_prompts", t.prompts.size()},
          {"mean_p_clean", t.mean_p_clean},
          {"mean_p_corrupt", t.mean_p_corrupt},
          {"averages", averages},
          {"prompts", prompts}};
}

}  // namespace glassbox::analysis
