// glassbox explain: automated interpretability. Explains each latent from its
// FeatureExamples (a JSON file, or the superposition organism's true features)
// with the built-in explainer or a chat-completions endpoint, scores each
// explanation (simulation correlation, detection, fuzzing) next to the
// shuffled-explanation control (include/glassbox/features/autointerp.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/openai_client.h"
#include "glassbox/features/superposition.h"
#include "glassbox/mmap_file.h"
#include "glassbox/progress.h"

namespace glassbox::cli {

namespace {

struct ExplainOpts {
  std::string file, organism, latents, endpoint, model, api_key_env, out;
  int64_t samples = 20000;
  double timeout = 60;
  uint64_t seed = 0;
  bool builtin_simulator = false, json = false, quiet = false;
};

std::vector<features::FeatureExamples> pick(std::vector<features::FeatureExamples> all, const std::string& latents) {
  if (latents.empty()) return all;
  std::vector<features::FeatureExamples> out;
  for (int64_t id : parse_int_list(latents, "--latents")) {
    const auto it = std::find_if(all.begin(), all.end(), [id](const auto& e) { return e.feature == id; });
    if (it == all.end()) fail("--latents: no examples for latent ", id);
    out.push_back(*it);
  }
  return out;
}

void print_summary(const nlohmann::json& summary) {
  std::printf("\n%-28s %22s %22s\n", "score (mean / median)", "explained", "control (shuffled)");
  for (const auto& [name, d] : summary.items()) {
    auto cell = [](const nlohmann::json& x) {
      return x.is_null() ? std::string("-") : strf("%.3f / %.3f", x["mean"].get<double>(), x["median"].get<double>());
    };
    std::printf("%-28s %22s %22s\n", name.c_str(), cell(d["explained"]).c_str(), cell(d["control"]).c_str());
  }
}

int run_explain(const ExplainOpts& o) {
  if (o.file.empty() == o.organism.empty()) fail("explain: give a FeatureExamples JSON file or --organism (exactly one)");
  std::vector<std::string> names;  // the planted feature of each latent, where known
  std::vector<features::FeatureExamples> examples;
  if (!o.organism.empty()) {
    if (o.organism != "superposition")
      fail("explain --organism: only 'superposition' has known features (got '", o.organism, "')");
    const zoo::SuperpositionModel m = zoo::SuperpositionModel::load();
    features::SuperpositionExamplesOptions so;
    so.samples = o.samples;
    so.seed = o.seed + 1;
    examples = features::superposition_examples(m, features::SuperpositionReadout(m), so);
    names = m.names;
  } else {
    examples = features::read_feature_examples(o.file);
  }
  examples = pick(std::move(examples), o.latents);
  if (examples.empty()) fail("explain: no latents to explain");

  std::unique_ptr<features::Explainer> explainer = std::make_unique<features::BuiltinExplainer>();
  std::unique_ptr<features::Simulator> simulator = std::make_unique<features::BuiltinSimulator>();
  if (!o.endpoint.empty()) {
    features::ChatEndpoint ep = features::chat_endpoint(o.endpoint, o.model, o.api_key_env);
    ep.timeout_s = o.timeout;
    explainer = std::make_unique<features::ChatExplainer>(ep);
    if (!o.builtin_simulator) simulator = std::make_unique<features::ChatSimulator>(ep);
  }
  ProgressBar bar("explain", "latents", o.quiet || o.json ? ProgressWhen::Never : ProgressWhen::Always);
  const nlohmann::json report =
      features::explain_report(examples, *explainer, *simulator, o.seed, names, [&bar](size_t done, size_t total) {
        bar.update(int64_t(done), int64_t(total), "explain, then score with control");
      });
  if (!o.out.empty()) {
    const std::string s = report.dump(2) + "\n";
    write_file_atomic(o.out, s.data(), s.size());
  }
  if (o.json) {
    print_json(report);
    return 0;
  }
  const nlohmann::json& latents = report["latents"];
  if (latents.size() == 1) {  // one latent: its explanation and scores, no control
    std::printf("latent %lld: %s\n%s\n", latents[0]["feature"].get<long long>(),
                latents[0]["explanation"]["text"].get<std::string>().c_str(), latents[0]["scores"].dump(2).c_str());
    return 0;
  }
  const auto score = [](const nlohmann::json& x) { return x.is_number() ? x.get<double>() : NAN; };
  std::printf("%-8s %-7s %-7s %-7s %s\n", "latent", "sim", "detect", "fuzz", "explanation");
  for (const nlohmann::json& l : latents)
    std::printf("%-8lld %-7.3f %-7.3f %-7.3f %s%s\n", l["feature"].get<long long>(), score(l["scores"]["simulation"]),
                score(l["scores"]["detection_auroc"]), score(l["scores"]["fuzzing_auroc"]),
                l["explanation"]["text"].get<std::string>().c_str(),
                l.contains("planted_feature") ? strf("   [planted: %s]", l["planted_feature"].get<std::string>().c_str()).c_str() : "");
  print_summary(report["summary"]);
  if (report.contains("named_planted_features"))
    std::printf("\nexplanations naming their planted feature: %d of %zu\n", report["named_planted_features"].get<int>(),
                latents.size());
  return 0;
}

}  // namespace

Command add_explain_command(CLI::App& parent) {
  auto o = std::make_shared<ExplainOpts>();
  CLI::App* cmd = parent.add_subcommand(
      "explain", "Explain latents from their top-activating examples and score the explanations against a shuffled control");
  cmd->add_option("examples", o->file, "FeatureExamples JSON: one object, an array, or {\"features\": [...]}");
  cmd->add_option("--organism", o->organism, "Use an organism with planted features instead (superposition)");
  cmd->add_option("--samples", o->samples, "--organism: samples drawn (default 20000)")->check(CLI::PositiveNumber);
  cmd->add_option("--latents", o->latents, "Only these latents (comma-separated ids)");
  cmd->add_option("--endpoint", o->endpoint, "OpenAI-compatible API base URL (http://127.0.0.1:8080/v1): explain and "
                                             "simulate with a language model instead of the built-in explainer");
  cmd->add_option("--model", o->model, "--endpoint: the model name sent");
  cmd->add_option("--api-key-env", o->api_key_env, "--endpoint: environment variable holding the API key");
  cmd->add_option("--timeout", o->timeout, "--endpoint: seconds per request (default 60)")->check(CLI::PositiveNumber);
  cmd->add_flag("--builtin-simulator", o->builtin_simulator, "--endpoint: score with the built-in simulator");
  cmd->add_option("--seed", o->seed, "Seed of the control's shuffle and the fuzzing (default 0)");
  cmd->add_option("--out", o->out, "Also write the JSON report to this file");
  cmd->add_flag("--quiet", o->quiet, "No progress bar");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] { return run_explain(*o); }};
}

}  // namespace glassbox::cli
