// glassbox patch: activation patching (and its gradient estimate,
// attribution patching) between a clean and a corrupted prompt of the same
// length: which (layer, position) or (layer, head) carries the behaviour.
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/tokenizer.h"
#include "glassbox/error.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, clean, corrupt, clean_tokens, corrupt_tokens, answer, wrong, method = "activation",
      direction = "denoise", metric = "logit_diff", html;
  std::vector<std::string> sites = {"resid_pre", "attn_out", "mlp_out", "z"};
  bool json = false, raw = false;
};

analysis::MetricKind parse_metric(const std::string& s) {
  if (s == "logit_diff") return analysis::MetricKind::LogitDiff;
  if (s == "logit") return analysis::MetricKind::Logit;
  if (s == "prob") return analysis::MetricKind::Prob;
  if (s == "logprob") return analysis::MetricKind::LogProb;
  fail("--metric: '", s, "' is not one of logit_diff, logit, prob, logprob");
}

}  // namespace

Command add_patch_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "patch", "Activation / attribution patching of a clean vs corrupted prompt by layer x position or head");
  add_model_option(*cmd, o->model);
  cmd->add_option("--clean", o->clean, "Clean prompt text");
  cmd->add_option("--corrupt", o->corrupt, "Corrupted prompt text (same number of tokens)");
  cmd->add_option("--clean-tokens", o->clean_tokens, "Clean prompt as token ids");
  cmd->add_option("--corrupt-tokens", o->corrupt_tokens, "Corrupted prompt as token ids");
  cmd->add_option("--answer", o->answer, "The clean answer token (text of one token, or #id)")->required();
  cmd->add_option("--wrong", o->wrong, "logit_diff: the corrupted answer token");
  cmd->add_option("--metric", o->metric, "logit_diff (default), logit, prob or logprob of --answer at the last position");
  cmd->add_option("--sites", o->sites,
                  "Sites to sweep: resid_pre resid_mid resid_post attn_out mlp_out (by position), "
                  "z q k v pattern result (by head)")
      ->delimiter(',');
  cmd->add_option("--method", o->method, "activation (default), attribution, or both (with their correlation)");
  cmd->add_option("--direction", o->direction,
                  "denoise: corrupted run with clean activations patched in (default); noise: the reverse");
  cmd->add_flag("--raw", o->raw, "Report the raw metric instead of (m - corrupt) / (clean - corrupt)");
  cmd->add_option("--html", o->html, "Also write an HTML page with the heatmaps");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const PromptPair pp = prompt_pair(m, o->clean, o->corrupt, o->clean_tokens, o->corrupt_tokens);
            analysis::PatchingOptions po;
            po.metric.kind = parse_metric(o->metric);
            po.metric.answer = {parse_single_token(m, o->answer, "--answer")};
            if (po.metric.kind == analysis::MetricKind::LogitDiff) {
              if (o->wrong.empty()) fail("--metric logit_diff needs --wrong (or choose --metric logit)");
              po.metric.wrong = {parse_single_token(m, o->wrong, "--wrong")};
            }
            po.metric.normalize = !o->raw;
            if (o->direction != "denoise" && o->direction != "noise")
              fail("--direction: expected denoise or noise, got '", o->direction, "'");
            po.direction = o->direction == "noise" ? analysis::PatchDirection::Noise : analysis::PatchDirection::Denoise;
            if (o->method != "activation" && o->method != "attribution" && o->method != "both")
              fail("--method: expected activation, attribution or both, got '", o->method, "'");
            std::vector<Site> sites;
            for (const auto& s : o->sites) sites.push_back(parse_patch_site(s, "--sites"));

            Engine e(m);
            const PatchRun run = run_patching(e, pp, sites, po, o->method != "attribution", o->method != "activation");
            const std::vector<analysis::PatchGrid> grids = run.grids();
            nlohmann::json out = {{"clean_tokens", pp.clean}, {"corrupt_tokens", pp.corrupt},
                                  {"metric", po.metric.to_json()}, {"grids", nlohmann::json::array()}};
            for (const auto& g : grids) out["grids"].push_back(g.to_json());
            if (o->method == "both") out["correlation"] = run.correlation;
            const std::vector<std::string> cols = position_labels(m, pp.clean);
            if (!o->html.empty()) {
              report::Page page("Patching", m.source());
              page.add_text("Clean: " + (m.tokenizer() ? m.tokenizer()->decode(pp.clean) : out["clean_tokens"].dump()));
              page.add_text("Corrupted: " +
                            (m.tokenizer() ? m.tokenizer()->decode(pp.corrupt) : out["corrupt_tokens"].dump()));
              for (const auto& g : grids) page.add_chart(patch_heatmap(g, cols));
              page.save(o->html);
            }
            if (o->json) {
              print_json(out);
              return 0;
            }
            if (!grids.empty())
              std::printf("metric: clean %.4f, corrupted %.4f%s\n", grids[0].clean, grids[0].corrupt,
                          o->raw ? "" : "; cells show (patched - corrupted) / (clean - corrupted)");
            for (const auto& g : grids)
              print_grid(g.method + " " + g.hook, layer_labels(g.n_layers), g.by_head ? head_labels(g.n_cols) : cols,
                         g.values);
            if (out.contains("correlation"))
              for (const auto& [hook, r] : out["correlation"].items())
                std::printf("correlation activation vs attribution, %s: %.3f\n", hook.c_str(), r.get<double>());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
