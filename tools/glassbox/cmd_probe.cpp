// glassbox probe: linear probes (logistic, ridge, mass-mean) at every layer of
// the chosen sites, on a built-in label set or a JSONL file, with held-out
// accuracy, AUROC, a control task and selectivity; --html draws them by layer.
#include <cmath>
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/pages/probe.h"
#include "glassbox/progress.h"

namespace glassbox::cli {

namespace {

void print_table(const features::ProbeSweep& s) {
  const bool reg = s.classes.empty();
  std::printf("%s: %lld examples (%lld train, %lld test), %s probes at position '%s'", s.label_set.c_str(),
              (long long)s.n_examples, (long long)s.n_train, (long long)s.n_test, to_string(s.kind),
              s.position.c_str());
  if (!reg) std::printf(", majority class %.3f", s.majority);
  std::printf("\n  %-32s %9s %9s %9s %11s\n", "hook", reg ? "R2" : "accuracy", reg ? "MSE" : "AUROC", "control",
              "selectivity");
  // Not measured (no control task, too few distinct held-out values): "-".
  auto cell = [](double v, const char* fmt) { return std::isfinite(v) ? strf(fmt, v) : std::string("-"); };
  for (const auto& c : s.cells)
    std::printf("  %-32s %9s %9s %9s %11s\n", c.hook.c_str(), cell(reg ? c.r2 : c.accuracy, "%.3f").c_str(),
                cell(reg ? c.mse : c.auroc, "%.3f").c_str(), cell(c.control, "%.3f").c_str(),
                cell(c.selectivity, "%+.3f").c_str());
}

}  // namespace

Command add_probe_command(CLI::App& parent) {
  struct Opts {
    std::string model, task, kind = "logistic", position = "last", html, label_data;
    std::vector<std::string> sites = {"resid_post"};
    double l2 = 1e-2, test_fraction = 0.25;
    int64_t limit = 0;
    uint64_t seed = 0;
    bool covariance = false, no_control = false, with_probes = false, json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "probe", "Linear probes by layer and site: held-out accuracy, AUROC, control task and selectivity");
  add_model_option(*cmd, o->model);
  cmd->add_option("--task", o->task,
                  "ioi-io, ioi-order, facts-relation, sentiment, spam, or FILE.jsonl with one "
                  "{\"text\": ..., \"label\": ...} (or \"target\": number) per line")
      ->required();
  cmd->add_option("--sites", o->sites, "Sites probed at every layer: resid_pre resid_mid resid_post attn_out mlp_out "
                                       "mlp_post z ... (default resid_post)")
      ->delimiter(',');
  cmd->add_option("--kind", o->kind, "logistic (default), ridge or mass-mean");
  cmd->add_option("--position", o->position,
                  "Token probed: last (default), every, mean, an index (-1: the last), or a name the label set "
                  "defines (ioi: IO, S1, S2, end)");
  cmd->add_option("--l2", o->l2, "L2 penalty of logistic and ridge probes (on standardised activations)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--covariance", o->covariance, "mass-mean: correct the direction by the within-class covariance");
  cmd->add_option("--limit", o->limit, "At most this many examples, class-balanced (default: the label set's own)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--test-fraction", o->test_fraction, "Held-out share of the examples (default 0.25)")
      ->check(CLI::Range(0.01, 0.99));
  cmd->add_option("--seed", o->seed, "Seed of the example choice, the split and the control task");
  cmd->add_flag("--no-control", o->no_control, "Skip the control task (no selectivity)");
  cmd->add_option("--label-data", o->label_data,
                  "Where scripts/label-data.sh put the npm packages (default: data/labels; env GLASSBOX_LABEL_DATA)");
  cmd->add_flag("--with-probes", o->with_probes, "--json: include each probe's direction and bias");
  cmd->add_option("--html", o->html, "Also write an HTML page with accuracy, selectivity and AUROC by layer");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            features::LabelSetOptions lo;
            lo.limit = o->limit;
            lo.seed = o->seed;
            lo.data_dir = o->label_data;
            const features::LabelSet labels = features::load_label_set(o->task, m, lo);
            features::ProbeSweepOptions so;
            so.sites.clear();
            for (const auto& s : o->sites) so.sites.push_back(from_string<Site>(s));
            so.position.spec = o->position;
            so.probe.kind = from_string<features::ProbeKind>(o->kind);
            so.probe.l2 = o->l2;
            so.probe.covariance_corrected = o->covariance;
            if (o->covariance && so.probe.kind != features::ProbeKind::MassMean)
              throw Error("probe: --covariance corrects mass-mean probes only (--kind mass-mean)");
            so.test_fraction = o->test_fraction;
            so.seed = o->seed;
            so.control = !o->no_control;
            std::unique_ptr<ProgressBar> bar;  // one per stage ("activations", then "probes"), on a terminal
            std::string stage_now;
            so.progress = [&](const char* stage, int64_t done, int64_t total) {
              if (stage_now != stage) stage_now = stage, bar = std::make_unique<ProgressBar>(stage);
              bar->update(done, total);
            };
            Engine e(m);
            const features::ProbeSweep s = features::probe_sweep(e, labels, so);
            if (!o->html.empty()) {
              report::Page page("Probes: " + labels.name, m.source() + " — " + labels.description);
              pages::add_probe_sections(page, s);
              page.save(o->html);
            }
            if (o->json) {
              nlohmann::json j = s.to_json(o->with_probes);
              j["description"] = labels.description;
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            print_table(s);
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
