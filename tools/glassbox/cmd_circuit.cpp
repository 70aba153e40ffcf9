// glassbox circuit: circuit discovery between a clean and a corrupted prompt
// (ACDC, EAP, EAP-IG) with a faithfulness curve; JSON and an HTML graph.
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "pairs_cli.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/pages/circuit.h"

namespace glassbox::cli {

namespace {

struct Opts {
  PairFlags pair;
  std::string model, method = "eap-ig", ablation = "resample", criterion = "kl", html, pairs;
  double threshold = 0.01, target = 0.9;
  int64_t keep = 0;
  int ig_steps = 5;
  bool json = false;
};

analysis::Circuit circuit_of_pair(const Model& m, const Opts& o, const PairFlags& pf) {
  const PromptPair pp = pf.pair(m);
  analysis::CircuitOptions co;
  co.method = parse_choice<analysis::CircuitMethod>("--method", o.method);
  co.ablation = parse_choice<analysis::AblationKind>("--ablation", o.ablation);
  co.criterion = parse_choice<analysis::CircuitCriterion>("--criterion", o.criterion);
  co.threshold = o.threshold;
  co.keep_top = o.keep;
  co.target_faithfulness = o.target;
  co.ig_steps = o.ig_steps;
  if (pf.wrong.empty()) fail("--wrong is required: the metric is the logit difference");
  co.metric.answer = {parse_single_token(m, pf.answer, "--answer")};
  co.metric.wrong = {parse_single_token(m, pf.wrong, "--wrong")};
  Engine e(m);
  return analysis::discover_circuit(e, Batch::single(pp.clean), Batch::single(pp.corrupt), co);
}

// --pairs without --json: a line per pair.
std::string pair_summary(const nlohmann::json& j) {
  return strf("%lld of %lld edges kept, faithfulness %.3f", (long long)j.value("n_kept", int64_t(0)),
              (long long)j.value("n_edges", int64_t(0)), j.value("circuit_faithfulness", 0.0));
}

}  // namespace

Command add_circuit_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "circuit", "Circuit discovery (ACDC, EAP, EAP-IG) on a clean vs corrupted prompt: edges, graph, faithfulness");
  add_model_option(*cmd, o->model);
  add_pair_flags(*cmd, o->pair, "The corrupted answer token: the metric is the logit difference", true);
  cmd->add_option("--method", o->method, "eap-ig (default), eap or acdc");
  cmd->add_option("--ablation", o->ablation,
                  "resample (default: the corrupted prompt's activations), mean (over the corrupted prompt's "
                  "positions) or zero");
  cmd->add_option("--criterion", o->criterion, "acdc: kl (default) or metric");
  cmd->add_option("--threshold", o->threshold, "acdc: tau, the change below which an edge is removed");
  cmd->add_option("--keep", o->keep, "eap / eap-ig: edges to keep (default: fewest reaching --target)");
  cmd->add_option("--target", o->target, "eap / eap-ig: faithfulness the kept edges must reach");
  cmd->add_option("--ig-steps", o->ig_steps, "eap-ig: interpolation steps")->check(CLI::PositiveNumber);
  cmd->add_option("--html", o->html, "Also write an HTML page: interactive graph and faithfulness curve");
  add_json_flag(*cmd, o->json);
  add_pairs_flag(*cmd, o->pairs);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            if (!o->pairs.empty()) {
              if (!o->html.empty()) fail("--html draws one circuit; it does not combine with --pairs");
              return run_pairs(o->pairs, o->json,
                               [&](const PairFlags& pf) { return circuit_of_pair(m, *o, pf).to_json(); }, pair_summary);
            }
            if (o->pair.answer.empty()) fail("--answer is required (or give --pairs FILE)");
            const analysis::Circuit c = circuit_of_pair(m, *o, o->pair);
            if (!o->html.empty()) pages::circuit_page(c, "Circuit: " + m.source()).save(o->html);
            if (o->json) {
              print_json(c.to_json());
              return 0;
            }
            std::printf("%s, %s ablation: %lld of %zu edges kept; logit difference clean %.3f, all ablated %.3f, "
                        "circuit %.3f (faithfulness %.3f)\n",
                        analysis::to_string(c.options.method), analysis::to_string(c.options.ablation),
                        static_cast<long long>(c.n_kept()), c.edges.size(), c.clean_metric, c.ablated_metric,
                        c.circuit_metric, c.circuit_faithfulness);
            for (const auto& ed : c.edges)
              if (ed.kept)
                std::printf("  %-8s -> %-11s %+9.4f\n", c.nodes[size_t(ed.from)].name().c_str(),
                            c.receiver_name(ed.receiver).c_str(), ed.score);
            std::printf("faithfulness curve (edges kept: faithfulness):");
            for (const auto& p : c.curve) std::printf(" %lld:%.2f", static_cast<long long>(p.edges), p.faithfulness);
            std::printf("\n");
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
