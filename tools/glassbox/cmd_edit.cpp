// glassbox edit: knowledge editing. `apply` writes one fact (ROME, MEMIT, FT,
// FT-L) or a saved edit into a model and saves the result; `eval` runs every
// method on counterfactual edits of a facts organism in batches of 1, 10,
// 100 and prints them side by side (efficacy, paraphrase, neighbourhood,
// fluency).
#include <cmath>
#include <memory>

#include "common.h"
#include "glassbox/editing/apply.h"
#include "glassbox/editing/edit.h"
#include "glassbox/editing/evaluate.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/pages/editing.h"
#include "glassbox/report.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

using namespace editing;

std::vector<int> int_list(const std::string& s, const std::string& flag) {
  std::vector<int> out;
  for (int64_t x : parse_int_list(s, flag)) out.push_back(int(x));
  return out;
}

void add_edit_options(CLI::App* cmd, EditConfig& c, std::string& layers) {
  cmd->add_option("--layers", layers, "Layers to edit, comma-separated: one for rome / ft / ft-l, several for memit "
                                      "(in edit eval, memit takes --memit-layers) (default: the first MLP for "
                                      "models of up to 4 layers)");
  cmd->add_option("--v-steps", c.v_steps, "Adam steps on the target value (default 60)");
  cmd->add_option("--v-lr", c.v_lr, "Its learning rate (default 0.5)");
  cmd->add_option("--kl-factor", c.kl_factor, "Weight of the KL term on '<subject> is a' (default 0.0625)");
  cmd->add_option("--prefixes", c.n_prefixes, "Prefix contexts the model samples itself (default 10)");
  cmd->add_option("--mom2-weight", c.mom2_weight, "MEMIT's lambda on the key covariance (default 100)");
  cmd->add_option("--memit-preserve", c.memit_preserve,
                  "MEMIT: weight of keeping the prompts' other tokens' outputs unchanged (default 0.3; 0: as "
                  "published)");
  cmd->add_option("--memit-rounds", c.memit_rounds,
                  "MEMIT passes: each after the first re-edits the requests still below --memit-retry-below "
                  "(default 2; 1: as published)");
  cmd->add_option("--memit-retry-below", c.memit_retry_below,
                  "MEMIT: p(new object) under which a request gets another pass (default 0.8)");
  add_choice_option(cmd, "--memit-keys", c.memit_keys,
                    "MEMIT's keys: bare (the prompt's; default) or mean (over the prefix contexts, as MEMIT's "
                    "reference code)");
  cmd->add_option("--ft-steps", c.ft_steps, "FT / FT-L Adam steps (default 25)");
  cmd->add_option("--ft-lr", c.ft_lr, "FT / FT-L learning rate (default 5e-3)");
  cmd->add_option("--ft-linf", c.ft_linf, "FT-L's bound on each weight's change (default 5e-3)");
  cmd->add_option("--seed", c.seed, "Seed of the prefix contexts (default 0)");
}

Command add_apply(CLI::App& parent) {
  struct Opts {
    std::string model, method = "rome", prompt, subject, target_new, target_true, layers, out, save_edit, from_edit;
    int64_t cov_tokens = 20000;
    bool json = false;
    EditConfig cfg;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand("apply", "Write one fact into a model (or apply a saved edit) and save it");
  add_model_option(*cmd, o->model);
  cmd->add_option("--method", o->method, "rome (default), memit, ft or ft-l");
  cmd->add_option("--prompt", o->prompt, "The prompt with the subject in it: \"Mina Selia lives in\"");
  cmd->add_option("--subject", o->subject, "The subject, as written in the prompt: \"Mina Selia\"");
  cmd->add_option("--new", o->target_new, "The new object, one token: \" Athens\"");
  cmd->add_option("--old", o->target_true, "The current object, to report both probabilities");
  cmd->add_option("--from-edit", o->from_edit, "Apply an edit file saved by --save-edit instead of editing");
  cmd->add_option("-o,--out", o->out, "Save the edited model: a directory (safetensors) or a .gguf file");
  cmd->add_option("--save-edit", o->save_edit, "Save the change itself (factor pairs, a .safetensors file)");
  cmd->add_option("--cov-tokens", o->cov_tokens, "Tokens of text for the key covariance (default 20000)");
  add_edit_options(cmd, o->cfg, o->layers);
  add_json_flag(*cmd, o->json);
  return {cmd, [o]() {
            const std::string path = resolve_model_path(o->model);
            Editor ed(path);
            EditRequest r;
            if (o->from_edit.empty()) {
              if (o->prompt.empty() || o->subject.empty() || o->target_new.empty())
                throw Error("edit apply: --prompt, --subject and --new are required (or --from-edit FILE)");
              r.subject = o->subject;
              r.prompt = prompt_template(o->prompt, o->subject);
              r.target_new = o->target_new;
              r.target_true = o->target_true;
            }
            AppliedEdit a;
            if (!o->from_edit.empty()) {
              a.deltas = load_deltas(o->from_edit, &a.about);
              for (const WeightDelta& d : a.deltas) ed.add_delta(d);
            } else {
              o->cfg.method = from_string<Method>(o->method);
              if (!o->layers.empty()) o->cfg.layers = int_list(o->layers, "--layers");
              a = apply_fact(ed, path, r, o->cfg, o->cov_tokens, !o->json);
            }
            const std::vector<WeightDelta>& deltas = a.deltas;
            const nlohmann::json& about = a.about;
            if (!o->save_edit.empty()) save_deltas(o->save_edit, deltas, about);
            if (!o->out.empty()) ed.save(o->out);
            if (o->json) {
              nlohmann::json j = a.to_json();
              if (!o->out.empty()) j["out"] = o->out;
              if (!o->save_edit.empty()) j["edit_file"] = o->save_edit;
              print_json(j);
              return 0;
            }
            std::printf("%zu change(s):", deltas.size());
            for (const WeightDelta& d : deltas) std::printf(" layer %d rank %lld;", d.layer, (long long)d.rank);
            std::printf("\n");
            for (const auto& [name, j] : {std::pair{"before", a.before}, std::pair{"after", a.after}})
              if (!j.empty())
                std::printf("%-7s p(new) %.4f%s  top %s\n", name, j["p_new"].get<double>(),
                            j.contains("p_old") ? strf("  p(old) %.4f", j["p_old"].get<double>()).c_str() : "",
                            escape_text(j["top"].get<std::string>()).c_str());
            if (!o->save_edit.empty()) std::printf("wrote %s\n", o->save_edit.c_str());
            if (!o->out.empty()) std::printf("wrote %s\n", o->out.c_str());
            return 0;
          }};
}

Command add_eval(CLI::App& parent) {
  struct Opts {
    std::string model, methods = "rome,memit,ft,ft-l", batches = "1,10,100", layers, memit_layers, html, text_organism;
    int edits = 100, neighbours = 10;
    int64_t cov_tokens = 20000;
    uint64_t seed = 0;
    bool json = false, per_request = false;
    EditConfig cfg;
  };
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "eval", "Every method on counterfactual edits of a facts organism, in batches: efficacy, paraphrase, "
              "neighbourhood, fluency");
  add_model_option(*cmd, o->model);
  cmd->add_option("--methods", o->methods, "Methods to compare (default rome,memit,ft,ft-l)");
  cmd->add_option("--batches", o->batches, "Edits applied together (ROME: in sequence) (default 1,10,100)");
  cmd->add_option("--edits", o->edits, "Counterfactual requests per method and batch size (default 100)");
  cmd->add_option("--neighbours", o->neighbours, "Neighbourhood prompts per request (default 10)");
  cmd->add_option("--memit-layers", o->memit_layers, "MEMIT's layers, comma-separated: 0,1,2 (default: every layer but the last for models of up to 4 "
                  "layers, else the first MLP's and the next)");
  cmd->add_option("--cov-tokens", o->cov_tokens, "Tokens of training text for the key covariance (default 20000)");
  cmd->add_option("--text-organism", o->text_organism,
                  "The organism whose training text gives the covariance and fluency text (default: the model's, "
                  "or its base's for a fine-tuned one)");
  cmd->add_option("--data-seed", o->seed, "Seed of the chosen facts and new objects (default 0)");
  cmd->add_option("--html", o->html, "Also write an HTML page with the chart and the table");
  cmd->add_flag("--per-request", o->per_request, "--json: every request's scores too");
  add_edit_options(cmd, o->cfg, o->layers);
  add_json_flag(*cmd, o->json);
  return {cmd, [o]() {
            const std::string path = resolve_model_path(o->model);
            const std::string organism = organism_of(path);
            if (organism.empty())
              throw Error("edit eval: " + path + " is not a shipped facts organism (its facts are the test set)");
            Editor ed(path);
            const std::vector<int> batches = int_list(o->batches, "--batches");
            const std::vector<EditRequest> reqs = fact_requests(organism, o->edits, o->seed, o->neighbours, path);
            const EditText text =
                organism_text(o->text_organism.empty() ? organism : o->text_organism, o->cov_tokens, 1);
            std::vector<EditConfig> configs;
            const std::string& list = o->methods;
            for (size_t i = 0; i <= list.size();) {
              const size_t j = std::min(list.find(',', i), list.size());
              if (j > i) {
                EditConfig cfg = o->cfg;
                cfg.method = from_string<Method>(list.substr(i, j - i));
                const Method m = cfg.method;
                const std::string& ls = m == Method::Memit && !o->memit_layers.empty() ? o->memit_layers : o->layers;
                cfg.layers = ls.empty() || (m == Method::Memit && o->memit_layers.empty())
                                 ? default_layers(ed.config(), m)
                                 : int_list(ls, &ls == &o->memit_layers ? "--memit-layers" : "--layers");
                configs.push_back(cfg);
              }
              i = j + 1;
            }
            const std::vector<MethodScores> all = evaluate_methods(ed, reqs, configs, batches, text, !o->json);
            if (!o->html.empty()) {
              report::Page page("Knowledge editing: " + organism, path);
              pages::add_editing_sections(page, all);
              page.save(o->html);
            }
            if (o->json) {
              nlohmann::json j = {{"model", path}, {"organism", organism}, {"methods", nlohmann::json::array()}};
              for (const MethodScores& s : all) j["methods"].push_back(to_json(s, o->per_request));
              if (!o->html.empty()) j["html"] = o->html;
              print_json(j);
              return 0;
            }
            std::printf("%-6s %6s %-7s %6s %9s %10s %13s %9s %8s %8s\n", "method", "batch", "layers", "edits",
                        "efficacy", "paraphrase", "neighbourhood", "dCE", "entropy", "seconds");
            for (const MethodScores& s : all) {
              std::string ls;
              for (int l : s.layers) ls += (ls.empty() ? "" : ",") + std::to_string(l);
              std::printf("%-6s %6d %-7s %6d %9.3f %10.3f %13.3f %+9.4f %8.3f %8.1f\n", to_string(s.method),
                          s.batch_size, ls.c_str(), s.n_edits, s.efficacy, s.paraphrase, s.neighbourhood,
                          s.ce_after - s.ce_before, s.entropy_after, s.seconds);
            }
            if (!all.empty())
              std::printf("unedited: held-out CE %.4f, n-gram entropy %.3f\n", all[0].ce_before, all[0].entropy_before);
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace

Command add_edit_command(CLI::App& parent) {
  CLI::App* cmd = parent.add_subcommand(
      "edit", "Knowledge editing: ROME, MEMIT and the FT / FT-L baselines (apply, eval)");
  return command_group(cmd, {add_apply(*cmd), add_eval(*cmd)});
}

}  // namespace glassbox::cli
