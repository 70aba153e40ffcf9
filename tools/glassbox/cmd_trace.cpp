// glassbox trace: causal tracing (Meng et al. 2022) of one prompt or of a
// file of facts: where does the model recall the answer from the subject?
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/causal_trace.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/pages/causal_trace.h"
#include "glassbox/pages/charts.h"
#include "glassbox/progress.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, prompt, subject, answer, facts, sites = "resid,mlp,attn", html;
  int phrasing = 0, skip = 0, limit = 0, window = 1, samples = 10;
  float noise = 3.0f, noise_std = 0;
  uint64_t seed = 1;
  bool json = false, quiet = false;
};

// A facts file: a list of {"prompt", "subject"[, "answer"]}, or a zoo
// organism's fact list ({"facts": [{"subject", "prompts": [...], "answer"}]},
// models/facts-lm/heldout.json) whose prompt number `phrasing` is traced.
std::vector<analysis::TracePrompt> read_facts(const Model& m, const Opts& o) {
  const nlohmann::json doc = read_json_file(o.facts);
  const nlohmann::json& list = doc.is_object() && doc.contains("facts") ? doc["facts"] : doc;
  if (!list.is_array() || list.empty())
    fail(o.facts, ": expected a non-empty list of facts ({\"prompt\", \"subject\", \"answer\"}) or an object with "
         "\"facts\"");
  if (size_t(o.skip) >= list.size())
    fail(o.facts, ": --skip ", o.skip, " leaves none of its ", list.size(), " facts");
  std::vector<analysis::TracePrompt> out;
  for (size_t i = size_t(o.skip); i < list.size(); ++i) {
    if (o.limit > 0 && int(out.size()) == o.limit) break;
    const nlohmann::json& f = list[i];
    const auto where = [&] { return o.facts + ": fact " + std::to_string(i); };
    if (!f.is_object() || !f.contains("subject") || !f["subject"].is_string())
      fail(where(), ": needs a \"subject\" string");
    std::string prompt;
    if (f.contains("prompt") && f["prompt"].is_string()) {
      prompt = f["prompt"].get<std::string>();
    } else if (f.contains("prompts") && f["prompts"].is_array()) {
      if (o.phrasing < 0 || size_t(o.phrasing) >= f["prompts"].size() || !f["prompts"][size_t(o.phrasing)].is_string())
        fail(where(), ": has no prompt number ", o.phrasing, " (--phrasing)");
      prompt = f["prompts"][size_t(o.phrasing)].get<std::string>();
    } else {
      fail(where(), ": needs a \"prompt\" string or a \"prompts\" list");
    }
    const std::string answer = f.contains("answer") && f["answer"].is_string() ? f["answer"].get<std::string>() : "";
    try {
      out.push_back(analysis::trace_prompt(m, prompt, f["subject"].get<std::string>(), answer));
    } catch (const Error& e) {
      fail(where(), ": ", e.what());
    }
  }
  return out;
}

void print_text(const Model& m, const analysis::CausalTrace& t) {
  std::printf("causal tracing: %zu prompt(s), noise std %.4f, %d samples; mean p(answer) clean %.3f, corrupted %.3f\n",
              t.prompts.size(), double(t.noise_std), t.options.samples, t.mean_p_clean, t.mean_p_corrupt);
  if (t.prompts.size() == 1) {
    const analysis::PromptTrace& pt = t.prompts[0];
    std::printf("answer %s, subject tokens %lld..%lld\n", token_label(m, pt.prompt.answer).c_str(),
                static_cast<long long>(pt.prompt.subject_begin), static_cast<long long>(pt.prompt.subject_end - 1));
    for (const analysis::TraceGrid& g : pt.grids) {
      std::vector<float> v(g.effect.begin(), g.effect.end());
      print_grid(std::string("indirect effect, ") + to_string(g.site) + " [layer x position]",
                 pages::layer_labels(g.n_layers), pages::position_labels(m, pt.prompt.tokens), v);
    }
    return;
  }
  for (const analysis::RoleAverage& a : t.averages) {
    std::printf("average indirect effect, %s [token role x layer]\n", to_string(a.site));
    for (int r = int(analysis::TokenRole::FirstSubject); r < int(analysis::TokenRole::COUNT); ++r) {
      std::printf("  %-24s", to_string(analysis::TokenRole(r)));
      for (int64_t l = 0; l < a.n_layers; ++l) std::printf(" %7.3f", a.at(analysis::TokenRole(r), l));
      std::printf("\n");
    }
  }
}

}  // namespace

Command add_trace_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "trace", "Causal tracing (Meng et al. 2022): noise the subject, restore one state, measure p(answer)");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt text (with --subject)");
  cmd->add_option("--subject", o->subject, "The subject, as it is written in the prompt");
  cmd->add_option("--answer", o->answer,
                  "The answer token traced (text of one token; default: the clean run's top prediction)");
  auto* facts = cmd->add_option("--facts", o->facts,
                                "A JSON file of facts: [{\"prompt\", \"subject\", \"answer\"}], or a zoo fact list "
                                "such as models/facts-lm/heldout.json");
  prompt->excludes(facts);
  cmd->add_option("--phrasing", o->phrasing, "With a zoo fact list: which of each fact's prompts to trace");
  cmd->add_option("--skip", o->skip,
                  "Skip the file's first N facts (facts-lm's records-only half: --skip 240 --limit 24)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--limit", o->limit, "Trace at most this many facts of the file")->check(CLI::NonNegativeNumber);
  cmd->add_option("--sites", o->sites, "States restored: resid, mlp, attn (comma-separated)");
  cmd->add_option("--window", o->window, "Consecutive layers of MLP / attention outputs restored at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--samples", o->samples, "Noise samples per prompt")->check(CLI::PositiveNumber);
  cmd->add_option("--noise", o->noise, "Noise std as a multiple of the token embeddings' std")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--noise-std", o->noise_std, "An absolute noise std instead of --noise")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", o->seed, "Seed of the noise");
  cmd->add_option("--html", o->html, "Also write an HTML page with the heatmaps and the role averages");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            std::vector<analysis::TracePrompt> prompts;
            if (!o->facts.empty()) {
              if (!o->subject.empty()) fail("--subject goes with a prompt; a --facts file names each fact's subject");
              prompts = read_facts(m, *o);
            } else {
              if (o->prompt.empty()) fail("no input: give a prompt and --subject, or --facts FILE");
              if (o->subject.empty()) fail("--subject is required with a prompt (the words the noise corrupts)");
              prompts.push_back(analysis::trace_prompt(m, o->prompt, o->subject, o->answer));
            }
            analysis::TraceOptions to;
            to.sites.clear();
            for (std::string s : CLI::detail::split(o->sites, ','))
              to.sites.push_back(parse_choice<analysis::TraceSite>("--sites", CLI::detail::trim_copy(s)));
            to.window = o->window;
            to.samples = o->samples;
            to.noise = o->noise;
            to.noise_std = o->noise_std;
            to.seed = o->seed;
            ProgressBar bar("trace", "prompts", o->quiet || o->json ? ProgressWhen::Never : ProgressWhen::Always);
            to.progress = [&bar](int64_t done, int64_t total) { bar.update(done, total); };
            Engine e(m);
            const analysis::CausalTrace t = analysis::causal_trace(e, prompts, to);
            if (!o->html.empty()) {
              report::Page page("Causal tracing", m.source());
              pages::add_causal_trace_sections(page, m, t);
              page.save(o->html);
            }
            if (o->json) {
              print_json(analysis::to_json(t, m));
              return 0;
            }
            print_text(m, t);
            return 0;
          }};
}

}  // namespace glassbox::cli
