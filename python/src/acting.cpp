// Acting on a model from Python: directional ablation and weight
// orthogonalisation (`glassbox steer orthogonalize`), suppressing a planted
// behaviour (`steer suppress`), planted-behaviour monitors (`monitor
// planted`), feature dashboards (`glassbox dashboard`), offline automated
// interpretability (`glassbox explain`) and the zoo's organisms (`zoo list | eval`).
#include <cmath>
#include <filesystem>

#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/error.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/collect.h"
#include "glassbox/features/explain.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/neuron_map.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/simulate.h"
#include "glassbox/features/superposition.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/pages/dashboard.h"
#include "glassbox/steering/control_vector.h"
#include "glassbox/steering/orthogonalize.h"
#include "glassbox/steering/planted_monitor.h"
#include "glassbox/steering/profile.h"
#include "glassbox/steering/suppress.h"
#include "glassbox/steering/sweep.h"
#include "glassbox/steering/chat_style.h"
#include "glassbox/pages/steering.h"
#include "glassbox/report.h"
#include "glassbox/zoo.h"
#include "glassbox/zoo_superposition.h"

namespace fs = std::filesystem;

namespace glassbox::py {

namespace {

using namespace glassbox::steering;

// A direction argument: a steering JSON (dict or string), a `steer build`
// file, or a llama.cpp control-vector .gguf.
SteeringVector direction_of(const pyb::handle& h) {
  if (pyb::isinstance<pyb::str>(h)) return load_direction_file(h.cast<std::string>());
  return SteeringVector::from_json(to_json(h), "direction");
}

}  // namespace

void bind_acting(pyb::module_& m) {
  m.def("ablation_interventions",
        [](const ModelHandle& h, const pyb::handle& direction, int layer) {
          const std::vector<float> r = ablation_direction(direction_of(direction), layer, "direction");
          return from_json(interventions_to_json(ablation_interventions(r, h.model.config(), "direction")));
        },
        pyb::arg("model"), pyb::arg("direction"), pyb::arg("layer"));

  m.def("orthogonalize",
        [](const std::string& model_path, const pyb::handle& direction, const std::string& out, int layer,
           const std::string& dtype) {
          const SteeringVector v = direction_of(direction);
          const std::vector<float> r = ablation_direction(v, layer, "direction");
          const OrthogonalizeResult res = [&] {
            pyb::gil_scoped_release release;
            return save_orthogonalized(model_path, r, out, from_string<DType>(dtype), "direction");
          }();
          return from_json({{"out", res.out}, {"format", res.format}, {"tensors_edited", res.tensors_edited},
                            {"untied_unembedding", res.untied}, {"layer", layer < 0 ? v.layers[0].layer : layer}});
        },
        pyb::arg("model_path"), pyb::arg("direction"), pyb::arg("out"), pyb::arg("layer"), pyb::arg("dtype"));

  m.def("suppress",
        [](ModelHandle& h, const std::string& heldout, const std::string& method, std::vector<int> layers,
           const std::string& read_at, const std::string& site, const std::vector<std::string>& modes_in,
           const std::vector<float>& coefs, int samples, double max_ce_rise, bool last_only, bool span,
           const std::string& out) {
          const PlantedSet set = load_planted_set(h.model, heldout.empty() ? h.model.source() : heldout);
          SuppressOptions so;
          so.method = from_string<Method>(method);
          so.layers = layers;
          so.read_at = read_at;
          so.site = residual_site(site);
          so.modes.clear();
          for (const std::string& s : modes_in) so.modes.push_back(from_string<SuppressMode>(s));
          so.coefficients = coefs;
          so.measure.samples = samples;
          so.thresholds.max_ce_rise = max_ce_rise;
          so.last_only = last_only;
          so.span = span;
          return from_json(with_engine(h, [&](Engine& e) {
            const SuppressSearch s = suppress_search(e, set, so);
            nlohmann::json j = s.to_json();
            j["direction"] = s.direction.to_json();
            if (!out.empty()) {
              save_steering_json(s.best_vector(out), out);
              j["out"] = out;
            }
            return j;
          }));
        },
        pyb::arg("model"), pyb::arg("heldout"), pyb::arg("method"), pyb::arg("layers"), pyb::arg("read_at"),
        pyb::arg("site"), pyb::arg("modes"), pyb::arg("coefficients"), pyb::arg("samples"), pyb::arg("max_ce_rise"),
        pyb::arg("last_only"), pyb::arg("span"), pyb::arg("out"));

  // prompts: token rows (empty with chat_style: tiny-lm-chat's held-out prompts, marker and benign text).
  m.def("steering_sweep",
        [](ModelHandle& h, const pyb::handle& direction, std::vector<std::vector<int32_t>> prompts,
           const std::vector<float>& coefficients, const std::vector<int>& layers, bool all_layers,
           const std::vector<int64_t>& positions, std::string marker, bool anywhere, int max_new_tokens,
           const std::vector<int32_t>& targets, std::vector<int32_t> benign, int64_t benign_tokens, bool chat_style,
           int chat_prompts, bool decrease, double max_ce, const std::string& html) {
          const SteeringVector v = direction_of(direction);
          SweepOptions so;
          so.coefficients = coefficients;
          so.layers = layers;
          so.positions = positions;
          so.all_layers = all_layers;
          Behaviour& b = so.behaviour;
          b.max_new_tokens = max_new_tokens;
          b.marker_anywhere = anywhere;
          if (chat_style) {
            const ChatStyleData d = chat_style_data(h.model, 0, size_t(chat_prompts), benign_tokens);
            if (prompts.empty()) prompts = d.heldout_prompts;
            if (marker.empty()) marker = d.marker;
            if (benign.empty()) benign = d.benign;
          }
          b.marker = marker;
          b.prompts = std::move(prompts);
          if (b.prompts.empty()) fail("steering_sweep: give prompts (or chat_style=True)");
          if (!targets.empty()) {
            b.kind = EffectKind::TargetLogprob;
            b.targets = targets;
          } else if (b.marker.empty()) {
            fail("steering_sweep: give marker= (text) or targets= (token ids): what the effect measures");
          }
          if (int64_t(benign.size()) > benign_tokens) benign.resize(size_t(benign_tokens));
          so.benign = std::move(benign);
          const Sweep s = with_engine(h, [&](Engine& e) { return steering_sweep(e, v, so); });
          if (!html.empty()) {
            report::Page page("Steering sweep: " + v.name, h.model.source());
            pages::add_steering_sections(page, s, !decrease, max_ce);
            page.save(html);
          }
          const SweepCell* best = s.best(!decrease, max_ce);
          nlohmann::json j = s.to_json();
          j["best"] = best ? nlohmann::json{{"layer", best->layer}, {"coefficient", best->coefficient},
                                            {"effect", best->effect}, {"ce_ratio", best->ce_ratio}}
                           : nlohmann::json(nullptr);
          if (!html.empty()) j["html"] = html;
          return from_json(j);
        },
        pyb::arg("model"), pyb::arg("direction"), pyb::arg("prompts"), pyb::arg("coefficients"), pyb::arg("layers"),
        pyb::arg("all_layers"), pyb::arg("positions"), pyb::arg("marker"), pyb::arg("anywhere"),
        pyb::arg("max_new_tokens"), pyb::arg("targets"), pyb::arg("benign"), pyb::arg("benign_tokens"),
        pyb::arg("chat_style"), pyb::arg("chat_prompts"), pyb::arg("decrease"), pyb::arg("max_ce"), pyb::arg("html"));

  m.def("planted_monitor",
        [](ModelHandle& h, double test_fraction, double threshold, uint64_t seed, const std::string& save_profile) {
          PlantedMonitorOptions po;
          po.test_fraction = test_fraction;
          po.threshold = threshold;
          po.seed = seed;
          const PlantedMonitorReport r = [&] {
            pyb::gil_scoped_release release;
            return planted_monitor_report(h.model, h.model.source(), po);
          }();
          if (!save_profile.empty()) {
            Profile p;
            p.monitors.push_back(r.monitor);
            steering::save_profile(p, save_profile);
          }
          nlohmann::json j = r.to_json();
          if (!save_profile.empty()) j["profile"] = save_profile;
          return from_json(j);
        },
        pyb::arg("model"), pyb::arg("test_fraction"), pyb::arg("threshold"), pyb::arg("seed"), pyb::arg("save_profile"));

  // features: "neurons" (a layer or blocks.L.mlp.hook_post) or a SAELens directory.
  m.def("dashboards",
        [](ModelHandle& h, const std::string& neurons, const std::string& sae_dir, const pyb::object& corpus,
           const std::string& out, int64_t tokens, int top_k, int quantile_bands, int per_band, int random,
           int context_before, int context_after, int seq_len, int batch, uint64_t seed, bool html, bool explain) {
          const Model& mdl = h.model;
          std::unique_ptr<features::FeatureMap> map;
          if (!neurons.empty()) {
            if (neurons.size() <= 4 && neurons.find_first_not_of("0123456789") == std::string::npos)
              map = std::make_unique<features::NeuronMap>(mdl, std::stoi(neurons));
            else
              map = std::make_unique<features::NeuronMap>(features::NeuronMap::from_hook(mdl, neurons));
          } else {
            map = std::make_unique<features::Sae>(features::load_saelens(sae_dir));
          }
          std::vector<int32_t> ids;
          std::string corpus_name = "tokens";
          if (pyb::isinstance<pyb::str>(corpus)) {
            const std::string path = corpus.cast<std::string>();
            if (!mdl.tokenizer()) fail("dashboards: ", mdl.source(), " has no tokenizer for ", path);
            ids = features::tokenize_text_file(*mdl.tokenizer(), path, /*add_special=*/true);
            corpus_name = fs::path(path).filename().string();
          } else {
            ids = corpus.cast<std::vector<int32_t>>();
          }
          features::CollectOptions co;
          co.top_k = top_k;
          co.quantile_bands = quantile_bands;
          co.per_band = per_band;
          co.random = random;
          co.context_before = context_before;
          co.context_after = context_after;
          co.seq_len = seq_len;
          co.batch = batch;
          co.seed = seed;
          co.max_tokens = tokens;
          nlohmann::json j, data;
          {
            pyb::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(h.mutex);
            features::Dashboards d = features::collect_dashboards(h.engine, *map, ids, co);
            d.data.corpus = corpus_name;
            features::AutointerpReport explained;
            if (explain) explained = features::explain_dashboards(d.examples, d.data, seed);
            data = features::dashboard_json(d.examples, d.data);
            int64_t dead = 0;
            for (const auto& f : d.data.features) dead += f.active_tokens == 0;
            j = {{"hook_name", d.data.hook_name}, {"n_features", d.data.n_features}, {"tokens", d.data.tokens},
                 {"sequences", d.data.sequences}, {"dead", dead},
                 {"autointerp", explained.features.empty() ? nlohmann::json(nullptr) : explained.summary()}};
            if (!out.empty()) {
              fs::create_directories(out);
              const std::string json_path = (fs::path(out) / "dashboards.json").string();
              const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
              write_file_atomic(json_path, text.data(), text.size());
              j["json"] = json_path;
              j["html"] = html ? nlohmann::json(pages::save_dashboard(out, d.examples, d.data)) : nlohmann::json(nullptr);
            }
          }
          pyb::dict r = from_json(j);
          r["dashboards"] = from_json(data);
          return r;
        },
        pyb::arg("model"), pyb::arg("neurons"), pyb::arg("sae"), pyb::arg("corpus"), pyb::arg("out"),
        pyb::arg("tokens"), pyb::arg("top_k"), pyb::arg("quantile_bands"), pyb::arg("per_band"), pyb::arg("random"),
        pyb::arg("context_before"), pyb::arg("context_after"), pyb::arg("seq_len"), pyb::arg("batch"),
        pyb::arg("seed"), pyb::arg("html"), pyb::arg("explain"));

  // Offline: the built-in explainer and simulator (no endpoint).
  m.def("explain",
        [](const pyb::object& examples, const std::string& organism, const std::vector<int64_t>& latents,
           int64_t samples, uint64_t seed) {
          std::vector<std::string> names;
          std::vector<features::FeatureExamples> all;
          if (!organism.empty()) {
            if (organism != "superposition")
              fail("explain: organism: only 'superposition' has known features (got '", organism, "')");
            const zoo::SuperpositionModel sm = zoo::SuperpositionModel::load();
            features::SuperpositionExamplesOptions so;
            so.samples = samples;
            so.seed = seed + 1;
            all = features::superposition_examples(sm, features::SuperpositionReadout(sm), so);
            names = sm.names;
          } else {
            // A FeatureExamples file or document, or a dashboards.json (feature_dashboards' "dashboards").
            all = pyb::isinstance<pyb::str>(examples)
                      ? features::read_feature_examples(examples.cast<std::string>())
                      : features::feature_examples_from_document(to_json(examples), "examples");
          }
          std::vector<features::FeatureExamples> pick;
          if (latents.empty()) pick = std::move(all);
          for (int64_t id : latents) {
            const auto it = std::find_if(all.begin(), all.end(), [id](const auto& e) { return e.feature == id; });
            if (it == all.end()) fail("explain: latents: no examples for latent ", id);
            pick.push_back(*it);
          }
          if (pick.empty()) fail("explain: no latents to explain");
          const features::BuiltinExplainer explainer;
          const features::BuiltinSimulator simulator;
          pyb::gil_scoped_release release;
          const nlohmann::json report = features::explain_report(pick, explainer, simulator, seed, names);
          pyb::gil_scoped_acquire gil;
          return from_json(report);
        },
        pyb::arg("examples"), pyb::arg("organism"), pyb::arg("latents"), pyb::arg("samples"), pyb::arg("seed"));

  m.def("zoo_list", [] { return from_json(zoo::list_organisms()); });
  m.def("shipped_models", &zoo::shipped_models, "The directories in models_dir() holding a config.json");
  m.def("resolve_model", &zoo::resolve_model, pyb::arg("name_or_path"),
        "An existing path as given, else a shipped organism's directory (the CLI's --model)");
  m.def("zoo_info",
        [](const std::string& name) {
          const zoo::Organism& o = zoo::find_organism(name);
          const nlohmann::json man = zoo::read_manifest();
          nlohmann::json j = {{"name", o.name}, {"description", o.description}, {"ground_truth", o.ground_truth},
                              {"seed", o.seed}, {"kind", o.is_transformer() ? "transformer" : "toy"},
                              {"path", (fs::path(zoo::models_dir()) / o.name).string()}};
          j["checks"] = nlohmann::json::array();
          for (const zoo::Check& c : o.checks) j["checks"].push_back({{"metric", c.metric}, {"min", c.min}});
          j["manifest"] = man["organisms"].contains(o.name) ? man["organisms"][o.name] : nlohmann::json(nullptr);
          return from_json(j);
        },
        pyb::arg("name"));
  m.def("zoo_eval",
        [](const std::string& name, const std::string& model_dir) {
          const zoo::Organism& o = zoo::find_organism(name);
          pyb::gil_scoped_release release;
          const nlohmann::json r = zoo::evaluate_organism(o, model_dir);
          pyb::gil_scoped_acquire gil;
          return from_json(r);
        },
        pyb::arg("name"), pyb::arg("model_dir") = "");
}

}  // namespace glassbox::py
