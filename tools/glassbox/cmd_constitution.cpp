// glassbox constitution: principles compiled into one profile.
//   constitution build FILE --model M -o profile.json
//     per principle a probe (held-out AUROC), a direction, the monitor and
//     interventions its action asks for, all in one profile; then each
//     principle's held-out behaviour, benign answers and cross-entropy
//     without and with the profile
#include <memory>

#include "common.h"
#include "glassbox/pages/constitution.h"
#include "glassbox/mmap_file.h"
#include "glassbox/progress.h"
#include "glassbox/report.h"
#include "glassbox/steering/constitution.h"

namespace glassbox::cli {

namespace {

Command add_build(CLI::App& parent) {
  struct Opts {
    std::string file, model, model_name, out, report, html;
    bool json = false, no_eval = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "build", "Compile a constitution (principles with example texts and actions) into one profile for a model, "
               "and report each principle's probe AUROC, steering effect and side effect on held-out data");
  cmd->add_option("file", o->file, "Constitution JSON (see include/glassbox/steering/constitution.h)")
      ->required()
      ->check(CLI::ExistingFile);
  add_model_option(*cmd, o->model);
  cmd->add_option("--model-name", o->model_name,
                  "Name the principles' \"models\" lists are matched against (default: the model directory's name)");
  cmd->add_option("-o,--out", o->out, "Write the profile here (for generate --profile, monitor run, the server)");
  cmd->add_option("--report", o->report, "Write the per-principle report (JSON) here");
  cmd->add_option("--html", o->html, "Write a page: the principles' table and charts");
  cmd->add_flag("--no-eval", o->no_eval, "Build only: skip the held-out behaviour and cross-entropy measurements");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const steering::Constitution c = steering::load_constitution(o->file);
            steering::ConstitutionOptions co;
            co.model_name = o->model_name;
            co.evaluate = !o->no_eval;
            std::unique_ptr<ProgressBar> bar;
            std::string stage_now;
            co.progress = [&](const std::string& stage, int64_t done, int64_t total) {
              if (stage_now != stage) stage_now = stage, bar = std::make_unique<ProgressBar>(stage);
              bar->update(done, total);
            };
            const steering::ConstitutionBuild b = steering::build_constitution(m, c, co);
            bar.reset();
            nlohmann::json j = b.to_json();
            if (!o->out.empty()) steering::save_profile(b.profile, o->out), j["profile"]["path"] = o->out;
            if (!o->report.empty()) {
              const std::string text = j.dump(1) + "\n";
              write_file_atomic(o->report, text.data(), text.size());
            }
            if (!o->html.empty()) {
              report::Page page("Constitution: " + b.constitution, m.source() + " — " +
                                std::to_string(b.principles.size()) + " principles in one profile");
              pages::add_constitution_sections(page, j);
              page.save(o->html);
              j["html"] = o->html;
            }
            if (o->json) {
              print_json(j);
              return 0;
            }
            std::printf("%s for %s: %zu principles, %zu interventions, %zu monitors (skipped: %zu for other models)\n",
                        b.constitution.c_str(), b.model.c_str(), b.principles.size(), b.profile.interventions.size(),
                        b.profile.monitors.size(), b.skipped.size());
            for (const auto& r : b.principles) {
              std::printf("  %s [%s]\n    probe %s  held-out AUROC %.3f (%lld fit / %lld scored)\n    direction %s\n",
                          r.name.c_str(), r.action.c_str(), r.probe_hook.c_str(), r.auroc, (long long)r.probe_train,
                          (long long)r.probe_test, r.direction_hook.c_str());
              if (o->no_eval) continue;
              std::printf("    behaviour %.3f -> %.3f (%lld)  benign kept %.3f -> %.3f (%lld)  CE %.4f -> %.4f (%+.2f%%)\n",
                          r.before.behaviour, r.after.behaviour, (long long)r.after.n_behaviour, r.before.benign,
                          r.after.benign, (long long)r.after.n_benign, r.before.ce, r.after.ce, 100 * r.ce_change());
            }
            if (!o->out.empty()) std::printf("wrote %s\n", o->out.c_str());
            if (!o->report.empty()) std::printf("wrote %s\n", o->report.c_str());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace

Command add_constitution_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand("constitution", "Principles compiled into directions, probes, monitors and "
                                                        "steering, saved as one profile: build");
  return command_group(cmd, {add_build(*cmd)});
}

}  // namespace glassbox::cli
