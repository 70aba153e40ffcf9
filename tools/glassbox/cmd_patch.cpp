// glassbox patch: activation patching (and its gradient estimate,
// attribution patching) between a clean and a corrupted prompt of the same
// length: which (layer, position) or (layer, head) carries the behaviour.
#include <cmath>
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "pairs_cli.h"
#include "glassbox/analysis/patching_compare.h"
#include "glassbox/analysis/path_patching.h"
#include "glassbox/engine.h"
#include "glassbox/pages/charts.h"
#include "glassbox/tokenizer.h"
#include "glassbox/error.h"

namespace glassbox::cli {

namespace {

struct Opts {
  PairFlags pair;
  std::string model, method = "activation", direction, metric = "logit_diff", html, pairs;
  std::vector<std::string> sites = {"resid_pre", "attn_out", "mlp_out", "z"};
  std::vector<std::string> receivers = {"logits"};
  bool json = false, raw = false;
  int first_layer = 0;
};

// "logits" or LAYER.HEAD.q|k|v ("2.1.k").
analysis::PathReceiver parse_receiver(const std::string& s, const Config& c) {
  if (s == "logits") return analysis::PathReceiver::resid_final();
  const auto d1 = s.find('.'), d2 = s.rfind('.');
  const std::string which = d2 == std::string::npos ? "" : s.substr(d2 + 1);
  if (d1 == std::string::npos || d1 == d2 || (which != "q" && which != "k" && which != "v"))
    fail("--receivers: '", s, "' is not 'logits' or LAYER.HEAD.q|k|v (e.g. 2.1.k)");
  const auto [layer, head] = parse_layer_head(s.substr(0, d2), "--receivers", c);
  return analysis::PathReceiver::head_input(layer, head, which == "q" ? Site::q : which == "k" ? Site::k : Site::v);
}

// "L<first_layer>" ... : the grid's rows (a --first-layer sweep starts late).
std::vector<std::string> layer_rows(const analysis::PatchGrid& g) {
  std::vector<std::string> rows = pages::layer_labels(g.first_layer + g.n_layers);
  rows.erase(rows.begin(), rows.begin() + g.first_layer);
  return rows;
}

// One prompt pair's sweep: what a single run prints, and its JSON.
struct PairRun {
  PromptPair pp;
  analysis::PatchingOptions po;
  std::vector<analysis::PatchGrid> grids;
  nlohmann::json json;
};

PairRun patch_pair(const Model& m, const Opts& o, const PairFlags& pf) {
  PairRun r;
  const PromptPair pp = pf.pair(m);
  analysis::PatchingOptions& po = r.po;
  po.metric.kind = parse_choice<analysis::MetricKind>("--metric", o.metric);
  po.metric.answer = {parse_single_token(m, pf.answer, "--answer")};
  if (po.metric.kind == analysis::MetricKind::LogitDiff) {
    if (pf.wrong.empty()) fail("--metric logit_diff needs --wrong (or choose --metric logit)");
    po.metric.wrong = {parse_single_token(m, pf.wrong, "--wrong")};
  }
  po.metric.normalize = !o.raw;
  po.first_layer = o.first_layer;
  if (o.first_layer != 0 && o.method != "activation")
    fail("--first-layer: only with --method activation (attribution and path patching sweep every layer)");
  const bool path = o.method == "path";
  const std::string direction = !o.direction.empty() ? o.direction : path ? "noise" : "denoise";
  po.direction = parse_choice<analysis::PatchDirection>("--direction", direction);
  if (o.method != "activation" && o.method != "attribution" && o.method != "both" && !path)
    fail("--method: expected activation, attribution, both or path, got '", o.method, "'");
  std::vector<Site> sites;
  for (const auto& s : o.sites) sites.push_back(parse_patch_site(s, "--sites"));

  Engine e(m);
  const Batch clean = Batch::single(pp.clean), corrupt = Batch::single(pp.corrupt);
  analysis::PatchRun run;
  if (path) {
    analysis::PathPatchingOptions pa;
    pa.metric = po.metric;
    pa.direction = po.direction;
    std::vector<analysis::PathReceiver> rs;
    for (const auto& rc : o.receivers) rs.push_back(parse_receiver(rc, m.config()));
    run.activation = {analysis::path_patching(e, clean, corrupt, rs, pa)};
  } else {
    run = analysis::run_patching(e, clean, corrupt, sites, po, o.method != "attribution", o.method != "activation");
  }
  r.grids = run.grids();
  r.json = {{"clean_tokens", pp.clean}, {"corrupt_tokens", pp.corrupt},
            {"metric", po.metric.to_json()}, {"grids", nlohmann::json::array()}};
  for (const auto& g : r.grids) r.json["grids"].push_back(g.to_json());
  if (o.method == "both") r.json["correlation"] = run.correlation;
  r.pp = pp;
  return r;
}

// --pairs without --json: a line per pair, the strongest cell of each grid.
std::string pair_summary(const nlohmann::json& j) {
  std::string s;
  for (const auto& g : j["grids"]) {
    const auto& v = g["values"];
    size_t best = 0;
    for (size_t i = 1; i < v.size(); ++i)
      if (std::fabs(v[i].get<double>()) > std::fabs(v[best].get<double>())) best = i;
    const int64_t cols = g.value("n_cols", int64_t(1));
    if (!v.empty())
      s += strf("%s%s %s: %.3f at layer %lld col %lld", s.empty() ? "" : "; ", g.value("technique", "").c_str(),
                g.value("hook", "").c_str(), v[best].get<double>(), (long long)(int64_t(best) / cols),
                (long long)(int64_t(best) % cols));
  }
  return s;
}

}  // namespace

Command add_patch_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "patch", "Activation / attribution patching of a clean vs corrupted prompt by layer x position or head");
  add_model_option(*cmd, o->model);
  add_pair_flags(*cmd, o->pair, "logit_diff: the corrupted answer token", false);
  cmd->add_option("--metric", o->metric, "logit_diff (default), logit, prob or logprob of --answer at the last position");
  cmd->add_option("--sites", o->sites,
                  "Sites to sweep: resid_pre resid_mid resid_post attn_out mlp_out (by position), "
                  "z q k v pattern result (by head)")
      ->delimiter(',');
  cmd->add_option("--method", o->method,
                  "activation (default), attribution, both (with their correlation), or path (path patching: every "
                  "sender head -> --receivers)");
  cmd->add_option("--receivers", o->receivers,
                  "path: what the senders' effect may reach: logits (the final residual stream) and/or "
                  "LAYER.HEAD.q|k|v")
      ->delimiter(',');
  cmd->add_option("--direction", o->direction,
                  "denoise: corrupted run with clean activations patched in (default); noise: the reverse "
                  "(the default for path, as in the papers)");
  cmd->add_option("--first-layer", o->first_layer,
                  "Sweep layers from this one to the last only (a large model's last layers in minutes)");
  cmd->add_flag("--raw", o->raw, "Report the raw metric instead of (m - corrupt) / (clean - corrupt)");
  cmd->add_option("--html", o->html, "Also write an HTML page with the heatmaps");
  add_json_flag(*cmd, o->json);
  add_pairs_flag(*cmd, o->pairs);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            if (!o->pairs.empty()) {
              if (!o->html.empty()) fail("--html draws one pair; it does not combine with --pairs");
              return run_pairs(o->pairs, o->json, [&](const PairFlags& pf) { return patch_pair(m, *o, pf).json; },
                               pair_summary);
            }
            if (o->pair.answer.empty()) fail("--answer is required (or give --pairs FILE)");
            const PairRun pr = patch_pair(m, *o, o->pair);
            const PromptPair& pp = pr.pp;
            const std::vector<analysis::PatchGrid>& grids = pr.grids;
            const nlohmann::json& out = pr.json;
            const std::vector<std::string> cols = pages::position_labels(m, pp.clean);
            if (!o->html.empty()) {
              report::Page page("Patching", m.source());
              page.add_text("Clean: " + (m.tokenizer() ? m.tokenizer()->decode(pp.clean) : out["clean_tokens"].dump()));
              page.add_text("Corrupted: " +
                            (m.tokenizer() ? m.tokenizer()->decode(pp.corrupt) : out["corrupt_tokens"].dump()));
              for (const auto& g : grids) page.add_chart(pages::patch_heatmap(g, cols));
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
              print_grid(g.method + " " + g.hook, layer_rows(g),
                         g.by_head ? pages::head_labels(g.n_cols) : cols, g.values);
            if (out.contains("correlation"))
              for (const auto& [hook, r] : out["correlation"].items())
                std::printf("correlation activation vs attribution, %s: %.3f\n", hook.c_str(), r.get<double>());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
