// glassbox dashboard: feature dashboards (top contexts, quantile samples,
// histograms, logit effects, co-occurrence) of MLP neurons or a sparse
// dictionary's latents over a text corpus, as HTML plus a JSON export.
#include <chrono>
#include <filesystem>
#include <memory>

#include "common.h"
#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/collect.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/neuron_map.h"
#include "glassbox/features/saelens.h"
#include "glassbox/mmap_file.h"
#include "glassbox/pages/dashboard.h"
#include "glassbox/progress.h"

namespace fs = std::filesystem;

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, neurons, sae, corpus, out;
  int64_t tokens = 0;
  features::CollectOptions collect;
  bool json = false, no_html = false, no_explain = false;
};

// The features to collect, from the flags: one function, so that another
// kind of feature map (--sae: an SAELens directory) is one more branch.
std::unique_ptr<features::FeatureMap> make_feature_map(const Model& m, const Opts& o) {
  if (!o.neurons.empty()) {
    if (o.neurons.size() <= 4 && o.neurons.find_first_not_of("0123456789") == std::string::npos)  // "--neurons 1"
      return std::make_unique<features::NeuronMap>(m, std::stoi(o.neurons));
    return std::make_unique<features::NeuronMap>(features::NeuronMap::from_hook(m, o.neurons));
  }
  return std::make_unique<features::Sae>(features::load_saelens(o.sae));
}

int run(const Opts& o) {
  const Model m = load_model(o.model);
  const std::unique_ptr<features::FeatureMap> map = make_feature_map(m, o);
  std::vector<int32_t> ids = features::tokenize_text_file(require_tokenizer(m, "--corpus"), o.corpus, /*add_special=*/true);
  features::CollectOptions co = o.collect;
  co.max_tokens = o.tokens;
  ProgressBar bar("dashboards", "tokens", ProgressWhen::Always);
  co.progress = [&bar](int64_t done, int64_t total) { bar.update(done, total); };
  const auto t0 = std::chrono::steady_clock::now();
  Engine e(m);
  features::Dashboards d = features::collect_dashboards(e, *map, ids, co);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  d.data.corpus = fs::path(o.corpus).filename().string();
  features::AutointerpReport explained;
  if (!o.no_explain) explained = features::explain_dashboards(d.examples, d.data, o.collect.seed);
  const double explain_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() - seconds;

  fs::create_directories(o.out);
  const std::string json_path = (fs::path(o.out) / "dashboards.json").string();
  const std::string text = features::dashboard_json(d.examples, d.data).dump(-1, ' ', false,
                                                                              nlohmann::json::error_handler_t::replace);
  write_file_atomic(json_path, text.data(), text.size());
  const std::string html = o.no_html ? std::string() : pages::save_dashboard(o.out, d.examples, d.data);

  int64_t dead = 0;
  for (const auto& f : d.data.features) dead += f.active_tokens == 0;
  if (o.json) {
    print_json({{"hook_name", d.data.hook_name}, {"n_features", d.data.n_features}, {"tokens", d.data.tokens},
                {"sequences", d.data.sequences}, {"dead", dead}, {"seconds", seconds},
                {"explain_seconds", explain_seconds},
                {"autointerp", explained.features.empty() ? nlohmann::json(nullptr) : explained.summary()},
                {"json", json_path},
                {"html", html.empty() ? nlohmann::json(nullptr) : nlohmann::json(html)}});
    return 0;
  }
  std::printf("%lld features at %s over %lld tokens in %.1f s (%lld never active)\n", (long long)d.data.n_features,
              d.data.hook_name.c_str(), (long long)d.data.tokens, seconds, (long long)dead);
  if (!explained.features.empty()) {
    const nlohmann::json sim = explained.summary()["simulation"];
    std::printf("explained %zu active features in %.1f s: simulation correlation %.3f (median), %.3f for shuffled "
                "explanations\n",
                explained.features.size(), explain_seconds, sim["explained"]["median"].get<double>(),
                sim["control"]["median"].get<double>());
  }
  std::printf("wrote %s\n", json_path.c_str());
  if (!html.empty()) std::printf("wrote %s\n", html.c_str());
  return 0;
}

}  // namespace

Command add_dashboard_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "dashboard", "Feature dashboards of MLP neurons (or dictionary latents) over a text corpus: HTML + JSON");
  add_model_option(*cmd, o->model);
  auto* neurons = cmd->add_option("--neurons", o->neurons, "MLP neurons of this site, e.g. blocks.1.mlp.hook_post (or a layer number)");
  auto* sae = cmd->add_option("--sae", o->sae, "A sparse dictionary in SAELens' layout (cfg.json + sae_weights.safetensors)");
  neurons->excludes(sae);
  cmd->add_option("--corpus", o->corpus, "Text file, tokenised with the model's tokenizer")->required()->check(CLI::ExistingFile);
  cmd->add_option("-n,--tokens", o->tokens, "Use the first N tokens of the corpus (default: all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("-k,--top", o->collect.top_k, "Top-activating contexts per feature")->capture_default_str()->check(CLI::Range(0, 10000));
  cmd->add_option("--quantile-bands", o->collect.quantile_bands, "Activation quantile bands sampled")->capture_default_str();
  cmd->add_option("--per-band", o->collect.per_band, "Contexts per quantile band")->capture_default_str();
  cmd->add_option("--random", o->collect.random, "Random contexts per feature (for scoring explanations)")->capture_default_str();
  cmd->add_option("--context-before", o->collect.context_before, "Tokens shown before the activating token")->capture_default_str();
  cmd->add_option("--context-after", o->collect.context_after, "Tokens shown after it")->capture_default_str();
  cmd->add_option("--seq-len", o->collect.seq_len, "Tokens per sequence (default: the model's context)");
  cmd->add_option("--batch", o->collect.batch, "Sequences per forward pass")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->collect.seed, "Seed of the random samples")->capture_default_str();
  cmd->add_option("-o,--out", o->out, "Output directory: index.html, dashboard-data/, dashboards.json")->required();
  cmd->add_flag("--no-html", o->no_html, "Write only dashboards.json");
  cmd->add_flag("--no-explain", o->no_explain, "Skip the built-in explanations and their scores (glassbox explain)");
  add_json_flag(*cmd, o->json);
  return {cmd, [o, neurons, sae] {
            if (!*neurons && !*sae) fail("dashboard: give --neurons HOOK (MLP neurons) or --sae DIR (a dictionary)");
            return run(*o);
          }};
}

}  // namespace glassbox::cli
