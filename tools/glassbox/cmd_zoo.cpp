// glassbox zoo list | train NAME | eval NAME: the model organisms shipped in
// models/ (see include/glassbox/zoo.h).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common.h"
#include "glassbox/zoo.h"

namespace glassbox::cli {

namespace {

std::string metrics_line(const nlohmann::json& metrics, const std::vector<zoo::Check>& checks) {
  std::string s;
  for (const zoo::Check& c : checks) {
    if (!metrics.contains(c.metric) || !metrics[c.metric].is_number()) continue;
    s += strf("%s%s=%.3f", s.empty() ? "" : " ", c.metric.c_str(), metrics[c.metric].get<double>());
  }
  return s;
}

void print_metrics(const nlohmann::json& report) {
  for (const auto& [k, v] : report["metrics"].items())
    std::printf("  %-28s %s\n", k.c_str(), v.is_number_float() ? strf("%.4f", v.get<double>()).c_str() : v.dump().c_str());
  for (const auto& c : report["checks"])
    std::printf("  check %-22s >= %-6g %s\n", c["metric"].get<std::string>().c_str(), c["min"].get<double>(),
                c["passed"].get<bool>() ? "ok" : "FAILED");
}

int list(bool json) {
  const nlohmann::json out = zoo::list_organisms();
  if (json) {
    print_json(out);
    return 0;
  }
  const nlohmann::json man = zoo::read_manifest();
  for (size_t i = 0; i < zoo::organisms().size(); ++i) {
    const zoo::Organism& o = zoo::organisms()[i];
    std::printf("%-10s %s\n", o.name.c_str(), o.description.c_str());
    std::printf("%-10s ground truth: %s\n", "", o.ground_truth.c_str());
    if (out[i]["shipped"].get<bool>()) {
      const nlohmann::json& entry = man["organisms"][o.name];
      std::printf("%-10s shipped: %s/%s, %s params, %s\n", "", zoo::models_dir().c_str(), o.name.c_str(),
                  entry["n_params"].dump().c_str(), metrics_line(entry["metrics"], o.checks).c_str());
    } else {
      std::printf("%-10s not shipped: `glassbox zoo train %s`\n", "", o.name.c_str());
    }
  }
  return 0;
}

}  // namespace

Command add_zoo_command(CLI::App& parent) {
  struct Opts {
    std::string name, out, model;
    int steps = -1;
    bool json = false, quiet = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("zoo", "Model organisms: list, train (deterministic recipes), evaluate");
  cmd->require_subcommand(1);
  CLI::App* ls = cmd->add_subcommand("list", "The organisms, what they show, and which ship in models/");
  add_json_flag(*ls, o->json);
  CLI::App* tr = cmd->add_subcommand("train", "Train an organism from its recipe and record it in the manifest");
  tr->add_option("name", o->name, "Organism")->required();
  tr->add_option("--out", o->out, "Output directory (default: models/NAME; the manifest beside it is updated)");
  tr->add_option("--steps", o->steps, "Training steps (default: the recipe's)")->check(CLI::NonNegativeNumber);
  tr->add_flag("--quiet", o->quiet, "No progress bar");
  add_json_flag(*tr, o->json);
  CLI::App* ev = cmd->add_subcommand("eval", "Recompute an organism's metrics on held-out data");
  ev->add_option("name", o->name, "Organism")->required();
  ev->add_option("--model", o->model, "Model directory (default: models/NAME)");
  add_json_flag(*ev, o->json);

  return {cmd, [o, ls, tr, ev] {
            if (ls->parsed()) return list(o->json);
            const zoo::Organism& org = zoo::find_organism(o->name);
            if (tr->parsed()) {
              zoo::TrainOptions opt;
              opt.out_dir = o->out;
              opt.steps = o->steps;
              opt.progress = !o->quiet && !o->json;
              const zoo::TrainOutcome res = zoo::train_organism(org, opt);
              if (o->json) {
                print_json(res.entry);
              } else {
                std::printf("trained %s in %.1f s (%d steps), %s params\n", org.name.c_str(), res.seconds,
                            res.result.steps_done, res.entry["n_params"].dump().c_str());
                print_metrics(res.entry);
              }
              return res.entry["passed"].get<bool>() ? 0 : 2;
            }
            const nlohmann::json report = zoo::evaluate_organism(org, o->model);
            if (o->json) {
              print_json(report);
            } else {
              std::printf("%s (%s)\n", org.name.c_str(), report["model"].get<std::string>().c_str());
              print_metrics(report);
            }
            return report["passed"].get<bool>() ? 0 : 2;
          }};
}

}  // namespace glassbox::cli
