// Causal tracing as report sections: the role averages and per-prompt grids.
#include "glassbox/pages/causal_trace.h"

#include <cmath>
#include <string>

#include "glassbox/pages/charts.h"

namespace glassbox::pages {

using namespace analysis;

namespace {

std::string num(double v) { return report::format_number(v, "%.3f"); }

std::string site_title(const TraceGrid& g) {
  const std::string what = g.site == TraceSite::Resid ? "residual stream (hook_resid_post)"
                           : g.site == TraceSite::Mlp ? "MLP output (hook_mlp_out)"
                                                      : "attention output (hook_attn_out)";
  return g.window > 1 ? what + ", window of " + std::to_string(g.window) + " layers" : what;
}

}  // namespace

void add_causal_trace_sections(report::Page& page, const Model& m, const CausalTrace& t, size_t max_prompts) {
  page.add_heading("Causal tracing");
  page.add_text("Meng et al. 2022: the subject's token embeddings get Gaussian noise (std " + num(t.noise_std) +
                ", " + std::to_string(t.options.samples) + " samples), then one state is put back to its clean "
                "value. The indirect effect is p(answer) restored minus p(answer) corrupted: where it is large, "
                "that state alone carries the fact.");
  page.add_table({"prompts", "mean p(answer) clean", "mean p(answer) corrupted", "noise std", "samples", "window"},
                 {{std::to_string(t.prompts.size()), num(t.mean_p_clean), num(t.mean_p_corrupt), num(t.noise_std),
                   std::to_string(t.options.samples), std::to_string(t.options.window)}});

  page.add_heading("Average over prompts by token role");
  std::vector<std::string> roles;
  for (int r = 0; r < int(TokenRole::COUNT); ++r) roles.push_back(to_string(TokenRole(r)));
  const TokenRole kFigureRows[] = {TokenRole::LastSubject, TokenRole::FirstSubsequent, TokenRole::LastToken};
  for (size_t g = 0; g < t.averages.size(); ++g) {
    const RoleAverage& a = t.averages[g];
    const std::string title = site_title(t.prompts[0].grids[g]);
    std::vector<float> v(a.effect.begin(), a.effect.end());
    page.add_chart(report::heatmap("average indirect effect: " + title, roles, layer_labels(a.n_layers), v,
                                   "p restored - p corrupted", true, "token role", "layer"));
    std::vector<report::Series> lines;
    for (TokenRole r : kFigureRows) {
      report::Series s{to_string(r), {}};
      for (int64_t l = 0; l < a.n_layers; ++l) s.y.push_back(float(a.at(r, l)));
      lines.push_back(std::move(s));
    }
    page.add_chart(report::line_chart("indirect effect by layer: " + title, lines, "layer", "average indirect effect"),
                   "The paper's Figure 2 rows: a fact looked up at the subject shows at the last subject token in "
                   "the MLPs and reaches the last token through attention.");
  }

  page.add_heading("Per prompt");
  for (size_t i = 0; i < t.prompts.size() && i < max_prompts; ++i) {
    const PromptTrace& pt = t.prompts[i];
    page.add_heading(pt.prompt.text.empty() ? "prompt " + std::to_string(i) : pt.prompt.text, 3);
    page.add_text("subject '" + pt.prompt.subject + "', answer " + pages::position_labels(m, {pt.prompt.answer})[0] +
                  ": p clean " + num(pt.p_clean) + ", corrupted " + num(pt.p_corrupt));
    const std::vector<std::string> rows = position_labels(m, pt.prompt.tokens);
    for (const TraceGrid& g : pt.grids) {
      // [position, layer] as the paper draws it: the grid is [layer, position].
      std::vector<float> v(size_t(g.T * g.n_layers));
      for (int64_t p = 0; p < g.T; ++p)
        for (int64_t l = 0; l < g.n_layers; ++l) v[size_t(p * g.n_layers + l)] = float(g.at(l, p));
      page.add_chart(report::heatmap(site_title(g), rows, layer_labels(g.n_layers), v, "indirect effect", true,
                                     "position", "layer"));
    }
  }
}

}  // namespace glassbox::pages
