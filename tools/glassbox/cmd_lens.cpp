// glassbox lens: the logit lens — what the residual stream before every layer
// (and after the last) predicts, decoded through the final norm and unembedding.
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/pages/charts.h"

namespace glassbox::cli {

Command add_lens_command(CLI::App& parent) {
  struct Opts {
    std::string model, prompt, tokens, target, html, tuned;
    int k = 3;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("lens", "Logit lens: each layer's top predictions at every position");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  prompt->excludes(tokens);
  cmd->add_option("--target", o->target,
                  "Token whose rank and probability are tracked at every position (text of one token, or #id; "
                  "default: the prompt's next token)");
  cmd->add_option("-k,--top-k", o->k, "Top tokens per cell")->check(CLI::PositiveNumber);
  cmd->add_option("--tuned", o->tuned, "Decode through a tuned lens (a directory from `glassbox tuned-lens train`)");
  cmd->add_option("--html", o->html, "Also write an HTML page with the lens heatmap");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const std::vector<int32_t> ids = input_tokens(m, o->prompt, o->tokens);
            Engine e(m);
            analysis::LogitLensOptions lo;
            lo.top_k = o->k;
            if (!o->target.empty()) lo.targets = {parse_single_token(m, o->target, "--target")};
            const analysis::LogitLensResult r =
                o->tuned.empty() ? analysis::logit_lens(e, Batch::single(ids), lo)
                                 : analysis::tuned_lens(e, analysis::TunedLens::load(o->tuned), Batch::single(ids), lo);
            if (!o->html.empty()) {
              report::Page page(o->tuned.empty() ? "Logit lens" : "Tuned lens", m.source());
              page.add_chart(pages::lens_heatmap(m, r), "Hover a cell for the layer and position.");
              page.save(o->html);
            }
            if (o->json) {
              print_json(r.to_json());
              return 0;
            }
            const std::vector<std::string> cols = pages::position_labels(m, ids);
            std::printf("top-1 prediction (probability) of each layer's residual stream at each position\n");
            for (size_t l = 0; l < r.layers.size(); ++l) {
              std::printf("%-28s", r.layers[l].c_str());
              for (size_t p = 0; p < r.positions.size(); ++p) {
                const auto& c = r.at(l, p);
                std::printf(" %s %.2f", token_label(m, c.top_tokens.at(0)).c_str(), double(c.top_probs.at(0)));
                if (c.target >= 0) std::printf(" [target rank %lld]", static_cast<long long>(c.target_rank));
                std::printf(p + 1 < r.positions.size() ? " |" : "\n");
              }
            }
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
