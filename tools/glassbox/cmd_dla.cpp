// glassbox dla: direct logit attribution of a logit (difference) to the
// embeddings, every attention and MLP layer, every head and every neuron.
#include <algorithm>
#include <memory>
#include <numeric>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/dla.h"
#include "glassbox/engine.h"
#include "glassbox/pages/charts.h"

namespace glassbox::cli {

Command add_dla_command(CLI::App& parent) {
  struct Opts {
    std::string model, prompt, tokens, answer, wrong, html;
    int64_t pos = -1;
    int top = 10;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("dla", "Direct logit attribution by layer, head and MLP neuron");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  prompt->excludes(tokens);
  cmd->add_option("--answer", o->answer, "Token whose logit is attributed (text of one token, or #id)")->required();
  cmd->add_option("--wrong", o->wrong, "Attribute the logit difference answer - wrong instead");
  cmd->add_option("--pos", o->pos, "Predicting position (negative: from the end)");
  cmd->add_option("--top", o->top, "How many heads and neurons to list")->check(CLI::PositiveNumber);
  cmd->add_option("--html", o->html, "Also write an HTML page with the per-head heatmap");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const std::vector<int32_t> ids = input_tokens(m, o->prompt, o->tokens);
            Engine e(m);
            analysis::DlaOptions d;
            d.pos = o->pos;
            d.answer = {parse_single_token(m, o->answer, "--answer")};
            if (!o->wrong.empty()) d.wrong = {parse_single_token(m, o->wrong, "--wrong")};
            const analysis::DlaResult r = analysis::direct_logit_attribution(e, Batch::single(ids), d);
            if (!o->html.empty()) {
              report::Page page("Direct logit attribution", m.source());
              std::vector<std::string> names;
              std::vector<float> vals;
              for (const auto& c : r.by_layer) names.push_back(c.name), vals.push_back(float(c.value));
              page.add_chart(report::bar_chart("by component", names, vals, "component", "logit (difference)"));
              page.add_chart(pages::dla_head_heatmap(r));
              page.save(o->html);
            }
            if (o->json) {
              print_json(r.to_json());
              return 0;
            }
            std::printf("logit%s = %.4f; direct contributions:\n", d.wrong.empty() ? "" : " difference", r.logit);
            for (const auto& c : r.by_layer) std::printf("  %-28s %+9.4f\n", c.name.c_str(), c.value);
            // The largest heads and neurons by magnitude.
            auto top = [&](const std::vector<double>& v, int per_layer, const char* unit) {
              std::vector<size_t> idx(v.size());
              std::iota(idx.begin(), idx.end(), 0);
              const size_t n = std::min<size_t>(size_t(o->top), idx.size());
              std::partial_sort(idx.begin(), idx.begin() + std::ptrdiff_t(n), idx.end(),
                                [&](size_t a, size_t b) { return std::abs(v[a]) > std::abs(v[b]); });
              std::printf("top %zu %ss:\n", n, unit);
              for (size_t i = 0; i < n; ++i)
                std::printf("  L%zu%c%-6zu %+9.4f\n", idx[i] / size_t(per_layer), unit[0] == 'h' ? 'H' : 'N',
                            idx[i] % size_t(per_layer), v[idx[i]]);
            };
            if (!r.by_head.empty()) top(r.by_head, r.n_heads, "head");
            if (!r.by_neuron.empty()) top(r.by_neuron, r.d_mlp, "neuron");
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
