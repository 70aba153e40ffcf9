// glassbox known: does the model know the subject it is asked about? Known
// against unseen subjects in the same prompts, and the internal signals that
// tell them apart (probes per layer at the subject and at the final token,
// answer entropy, top probability, the lens's settling layer, an SAE's
// latents), each scored by held-out AUROC; the best probe saved for a monitor.
#include <cmath>
#include <memory>

#include "common.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/knowledge.h"
#include "glassbox/features/saelens.h"
#include "glassbox/mmap_file.h"
#include "glassbox/zoo.h"
#include "glassbox/progress.h"
#include "glassbox/report.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, labels = "facts-known", save_probe, probe_position, html, sae;
  double test_fraction = 0.25, l2 = 1e-2;
  uint64_t seed = 0;
  bool json = false;
};

void add_html(const features::KnowledgeReport& r, const std::string& path) {
  report::Page page("Does the model know this?", r.model + " on " + r.label_set);
  page.add_heading("Signals");
  page.add_text(glassbox::detail::cat(r.n_known, " prompts about known subjects, ", r.n_unknown,
                                      " about unseen ones; AUROC on ", r.n_test,
                                      " prompts of held-out subjects (known positive). Best: ", r.signals[r.best].name,
                                      " ", report::format_number(r.signals[r.best].auroc, "%.3f"), "."));
  std::vector<std::string> names;
  std::vector<float> au;
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : r.signals) {
    names.push_back(s.name);
    au.push_back(float(s.auroc));
    rows.push_back({s.name, s.kind, report::format_number(s.auroc, "%.3f"),
                    std::isfinite(s.accuracy) ? report::format_number(s.accuracy, "%.3f") : "-"});
  }
  page.add_chart(report::bar_chart("held-out AUROC, known vs unseen subjects", names, au, "signal", "AUROC"));
  page.add_table({"signal", "kind", "AUROC", "accuracy"}, rows);
  page.add_text(glassbox::detail::cat("Mean answer entropy: known ", report::format_number(r.entropy_known, "%.3f"),
                                      " nats, unseen ", report::format_number(r.entropy_unknown, "%.3f"),
                                      "; mean settling layer: known ", report::format_number(r.settle_known, "%.2f"),
                                      ", unseen ", report::format_number(r.settle_unknown, "%.2f"), "."));
  page.save(path);
}

}  // namespace

Command add_known_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "known", "Does the model know the subject? Known vs unseen subjects, internal signals scored by held-out AUROC");
  cmd->add_option("-m,--model", o->model, "The facts organism (default: the shipped models/facts)");
  cmd->add_option("--labels", o->labels,
                  "facts-known (default: the facts organism's subjects against new pairings of its names), "
                  "facts-lm-known (facts-lm's people against names it never saw) or a JSONL file (label known / "
                  "unknown, positions subject and end, group per subject)");
  cmd->add_option("--test-fraction", o->test_fraction, "Share of the subjects held out")
      ->check(CLI::Range(0.05, 0.95));
  cmd->add_option("--l2", o->l2, "The probes' L2 penalty")->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Seed of the unseen names and the split");
  cmd->add_option("--save-probe", o->save_probe,
                  "Write the best probe (hook, position, LinearProbe JSON) for a monitor to load");
  cmd->add_option("--probe-position", o->probe_position,
                  "Where the saved probe reads: subject or end (default: the better; a generation monitor reads "
                  "the prompt's last token first, so it wants end)")
      ->check(CLI::IsMember({"subject", "end"}));
  cmd->add_option("--html", o->html, "Also write an HTML page with the AUROC chart");
  cmd->add_option("--sae", o->sae,
                  "Also score an SAE's latents (SAELens directory): its best latent and a probe on its code, at the "
                  "subject and the final token");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model.empty() ? zoo::models_dir() + "/facts" : o->model);
            features::LabelSetOptions lo;
            lo.seed = o->seed;
            const features::LabelSet labels = features::known_label_set(m, o->labels, lo);
            features::KnowledgeOptions ko;
            ko.test_fraction = o->test_fraction;
            ko.seed = o->seed;
            ko.probe.l2 = o->l2;
            ko.probe_position = o->probe_position;
            features::Sae sae;
            if (!o->sae.empty()) sae = features::load_saelens(o->sae), ko.sae = &sae;
            std::unique_ptr<ProgressBar> bar;
            std::string stage_now;
            ko.progress = [&](const char* stage, int64_t done, int64_t total) {
              if (o->json) return;
              if (stage_now != stage) stage_now = stage, bar = std::make_unique<ProgressBar>(stage);
              bar->update(done, total);
            };
            Engine e(m);
            const features::KnowledgeReport r = features::knowledge_signals(e, labels, ko);
            if (!o->save_probe.empty()) {
              const std::string text = r.probe_json().dump(1) + "\n";
              write_file_atomic(o->save_probe, text.data(), text.size());
            }
            if (!o->html.empty()) add_html(r, o->html);
            if (o->json) {
              nlohmann::json j = r.to_json();
              if (!o->save_probe.empty()) j["probe_file"] = o->save_probe;
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            std::printf("%s on %s: %lld known, %lld unseen prompts; AUROC on %lld held-out prompts\n", r.model.c_str(),
                        r.label_set.c_str(), static_cast<long long>(r.n_known), static_cast<long long>(r.n_unknown),
                        static_cast<long long>(r.n_test));
            for (const auto& s : r.signals)
              std::printf("  %-44s AUROC %.3f%s\n", s.name.c_str(), s.auroc, s.kind != "output" && std::isfinite(s.accuracy) ? strf("  acc %.3f", s.accuracy).c_str() : "");
            std::printf("best: %s (AUROC %.3f)\n", r.signals[r.best].name.c_str(), r.signals[r.best].auroc);
            std::printf("answer entropy: known %.3f, unseen %.3f nats; lens settles at layer %.2f vs %.2f\n",
                        r.entropy_known, r.entropy_unknown, r.settle_known, r.settle_unknown);
            if (!o->save_probe.empty()) std::printf("wrote %s\n", o->save_probe.c_str());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
