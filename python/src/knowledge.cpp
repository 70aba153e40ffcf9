// Facts from Python: causal tracing (`glassbox trace`), knowledge editing
// (`glassbox edit apply | eval`: ROME, MEMIT, FT, FT-L), known vs unseen
// subjects (`glassbox known`) and model diffing (`glassbox diff`). Each
// returns the command's --json document as a dict (glassbox/analysis.py and
// knowledge.py add numpy arrays and token texts).
#include <cmath>

#include <pybind11/stl.h>
#include <pybind11/stl/filesystem.h>

#include "bind.h"
#include "glassbox/analysis/causal_trace.h"
#include "glassbox/analysis/model_diff.h"
#include "glassbox/editing/apply.h"
#include "glassbox/editing/edit.h"
#include "glassbox/editing/evaluate.h"
#include "glassbox/error.h"
#include "glassbox/features/knowledge.h"
#include "glassbox/features/saelens.h"
#include "glassbox/generate.h"
#include "glassbox/mmap_file.h"
#include "glassbox/pages/causal_trace.h"
#include "glassbox/pages/editing.h"
#include "glassbox/pages/model_diff.h"
#include "glassbox/report.h"
#include "glassbox/steering/chat_style.h"
#include "glassbox/tokenizer.h"

namespace glassbox::py {

namespace {

using namespace glassbox::editing;

// An Editor and the changes its last apply made (for save_edit).
struct PyEditor {
  explicit PyEditor(const std::string& path) : path(path), ed(std::make_unique<Editor>(path)) {}
  std::string path;
  std::unique_ptr<Editor> ed;
  std::vector<WeightDelta> deltas;
  nlohmann::json about;
};

// EditConfig from keyword arguments (the CLI's --v-steps ... flags).
EditConfig edit_config(const std::string& method, const std::vector<int>& layers, const pyb::dict& kw) {
  EditConfig c;
  c.method = from_string<Method>(method);
  c.layers = layers;
  for (const auto& [k, v] : kw) {
    const std::string key = k.cast<std::string>();
    if (key == "v_steps") c.v_steps = v.cast<int>();
    else if (key == "v_lr") c.v_lr = v.cast<float>();
    else if (key == "kl_factor") c.kl_factor = v.cast<float>();
    else if (key == "prefixes") c.n_prefixes = v.cast<int>();
    else if (key == "mom2_weight") c.mom2_weight = v.cast<float>();
    else if (key == "memit_keys") c.memit_keys = from_string<MemitKeys>(v.cast<std::string>());
    else if (key == "memit_preserve") c.memit_preserve = v.cast<float>();
    else if (key == "memit_rounds") c.memit_rounds = v.cast<int>();
    else if (key == "memit_retry_below") c.memit_retry_below = v.cast<float>();
    else if (key == "ft_steps") c.ft_steps = v.cast<int>();
    else if (key == "ft_lr") c.ft_lr = v.cast<float>();
    else if (key == "ft_linf") c.ft_linf = v.cast<float>();
    else if (key == "seed") c.seed = v.cast<uint64_t>();
    else fail("edit: unknown option '", key, "' (v_steps, v_lr, kl_factor, prefixes, mom2_weight, memit_keys, memit_preserve, memit_rounds, memit_retry_below, ft_steps, ft_lr, "
                 "ft_linf, seed)");
  }
  return c;
}

}  // namespace

void bind_knowledge(pyb::module_& m) {
  // facts: [{"prompt", "subject"[, "answer"]}] (the answer one token's text; empty: the clean top prediction).
  m.def("causal_trace",
        [](ModelHandle& h, const pyb::handle& facts, const std::vector<std::string>& sites, int window, int samples,
           float noise, float noise_std, uint64_t seed, const std::string& html) {
          std::vector<analysis::TracePrompt> prompts;
          size_t i = 0;
          for (const auto& f : to_json(facts)) {
            if (!f.is_object() || !f.contains("prompt") || !f.contains("subject"))
              fail("causal_trace: fact ", i, ": expected {\"prompt\", \"subject\"[, \"answer\"]}");
            try {
              prompts.push_back(analysis::trace_prompt(h.model, f["prompt"].get<std::string>(),
                                                       f["subject"].get<std::string>(), f.value("answer", "")));
            } catch (const Error& e) {
              fail("causal_trace: fact ", i, ": ", e.what());
            }
            ++i;
          }
          analysis::TraceOptions o;
          o.sites.clear();
          for (const std::string& s : sites) o.sites.push_back(from_string<analysis::TraceSite>(s));
          o.window = window;
          o.samples = samples;
          o.noise = noise;
          o.noise_std = noise_std;
          o.seed = seed;
          return from_json(with_engine(h, [&](Engine& e) {
            const analysis::CausalTrace t = analysis::causal_trace(e, prompts, o);
            if (!html.empty()) {
              report::Page page("Causal tracing", h.model.source());
              pages::add_causal_trace_sections(page, h.model, t);
              page.save(html);
            }
            return analysis::to_json(t, h.model);
          }));
        },
        pyb::arg("model"), pyb::arg("facts"), pyb::arg("sites"), pyb::arg("window"), pyb::arg("samples"),
        pyb::arg("noise"), pyb::arg("noise_std"), pyb::arg("seed"), pyb::arg("html"));

  // labels: "facts-known", "facts-lm-known" or a JSONL path (label known / unknown, positions subject and end).
  m.def("known",
        [](ModelHandle& h, const std::string& labels, double test_fraction, double l2, uint64_t seed,
           const std::string& save_probe, const std::string& sae_dir, const std::string& probe_position) {
          features::LabelSetOptions lo;
          lo.seed = seed;
          const features::LabelSet s = features::known_label_set(h.model, labels, lo);
          features::KnowledgeOptions ko;
          ko.test_fraction = test_fraction;
          ko.seed = seed;
          ko.probe.l2 = l2;
          ko.probe_position = probe_position;
          features::Sae sae;
          if (!sae_dir.empty()) sae = features::load_saelens(sae_dir), ko.sae = &sae;
          const features::KnowledgeReport r = with_engine(h, [&](Engine& e) { return features::knowledge_signals(e, s, ko); });
          if (!save_probe.empty()) {
            const std::string text = r.probe_json().dump(1) + "\n";
            write_file_atomic(save_probe, text.data(), text.size());
          }
          pyb::dict d = from_json(r.to_json());
          d["probe"] = from_json(r.probe_json());
          d["best_probe"] = pyb::cast(r.best_probe);
          if (!save_probe.empty()) d["probe_file"] = save_probe;
          return d;
        },
        pyb::arg("model"), pyb::arg("labels"), pyb::arg("test_fraction"), pyb::arg("l2"), pyb::arg("seed"),
        pyb::arg("save_probe"), pyb::arg("sae"), pyb::arg("probe_position"));

  // prompts: [(prompt ids, response ids or None)]; responses missing are the writer's greedy continuations.
  m.def("model_diff",
        [](ModelHandle& base, ModelHandle& tuned, std::vector<std::pair<std::vector<int32_t>, std::optional<std::vector<int32_t>>>> asked,
           bool response_by_base, int max_new_tokens, int64_t start, const std::vector<std::string>& sites,
           bool patching, int top_k, int chat, const std::string& html) {
          analysis::check_diffable(base.model, tuned.model);
          std::string source = "the prompts given";
          if (asked.empty()) {  // tiny-lm-chat's held-out prompts; the start: its marker and the token after it
            const steering::ChatStyleData d = steering::chat_style_data(tuned.model, 0, size_t(chat), 0);
            for (const auto& p : d.heldout_prompts) asked.push_back({p, std::nullopt});
            if (start == 0 && tuned.model.tokenizer())
              start = int64_t(tuned.model.tokenizer()->encode(d.marker, false, false).size()) + 1;
            source = glassbox::detail::cat(asked.size(), " held-out tiny-lm-chat prompts (the response start: the marker '",
                                           d.marker, "' and the token after it)");
          }
          analysis::ModelDiffOptions mo;
          mo.start_positions = start > 0 ? start : 3;
          mo.top_k = top_k;
          mo.patching = patching;
          mo.sites.clear();
          for (const std::string& s : sites) mo.sites.push_back(from_string<Site>(s));
          ModelHandle& writer = response_by_base ? base : tuned;
          pyb::gil_scoped_release release;
          std::vector<analysis::AskedPrompt> asked_prompts;
          for (auto& [prompt, response] : asked) asked_prompts.push_back({std::move(prompt), std::move(response)});
          const std::vector<analysis::DiffPrompt> prompts = [&] {
            std::lock_guard<std::mutex> lock(writer.mutex);
            return analysis::with_responses(writer.engine, asked_prompts, max_new_tokens);
          }();
          const analysis::ModelDiff d = analysis::model_diff(base.model, tuned.model, prompts, mo);
          if (!html.empty()) {
            report::Page page("Model diff", d.base + " vs " + d.tuned + " on " + source);
            pages::add_model_diff_sections(page, tuned.model, d);
            page.save(html);
          }
          nlohmann::json j = d.to_json();
          j["prompts"] = source;
          j["summary"] = pages::model_diff_summary(d);
          if (!html.empty()) j["html"] = html;
          pyb::gil_scoped_acquire gil;
          return from_json(j);
        },
        pyb::arg("base"), pyb::arg("tuned"), pyb::arg("prompts"), pyb::arg("response_by_base"),
        pyb::arg("max_new_tokens"), pyb::arg("start"), pyb::arg("sites"), pyb::arg("patching"), pyb::arg("top_k"),
        pyb::arg("chat"), pyb::arg("html"));

  pyb::class_<PyEditor>(m, "Editor",
                        "An editable copy of a safetensors model (ROME, MEMIT, FT, FT-L): apply facts, save the "
                        "edited checkpoint or the change itself")
      .def(pyb::init([](const std::filesystem::path& dir) { return std::make_unique<PyEditor>(dir.string()); }),
           pyb::arg("model_dir"))
      .def_readonly("path", &PyEditor::path)
      .def("apply",
           [](PyEditor& p, const std::string& prompt, const std::string& subject, const std::string& target_new,
              const std::string& target_true, const std::string& method, const std::vector<int>& layers,
              int64_t cov_tokens, const pyb::dict& kw) {
             EditRequest r;
             r.subject = subject;
             r.prompt = prompt_template(prompt, subject);
             r.target_new = target_new;
             r.target_true = target_true;
             EditConfig c = edit_config(method, layers, kw);
             pyb::gil_scoped_release release;
             const AppliedEdit a = apply_fact(*p.ed, p.path, r, c, cov_tokens);
             p.deltas = a.deltas;
             p.about = a.about;
             const nlohmann::json j = a.to_json();
             pyb::gil_scoped_acquire gil;
             return from_json(j);
           },
           pyb::arg("prompt"), pyb::arg("subject"), pyb::arg("new"), pyb::arg("old") = "", pyb::arg("method") = "rome",
           pyb::arg("layers") = std::vector<int>{}, pyb::arg("cov_tokens") = 20000, pyb::arg("options") = pyb::dict())
      .def("apply_edit_file",
           [](PyEditor& p, const std::filesystem::path& path) {
             p.deltas = load_deltas(path.string(), &p.about);
             for (const WeightDelta& d : p.deltas) p.ed->add_delta(d);
             return from_json(p.about);
           },
           pyb::arg("path"), "Applies an edit saved by save_edit (or `edit apply --save-edit`); returns what it was")
      .def("save_edit",
           [](const PyEditor& p, const std::filesystem::path& path) {
             if (p.deltas.empty()) fail("save_edit: nothing applied yet");
             save_deltas(path.string(), p.deltas, p.about);
           },
           pyb::arg("path"), "The last change as factor pairs (a small .safetensors file)")
      .def("save", [](const PyEditor& p, const std::filesystem::path& out) { p.ed->save(out.string()); }, pyb::arg("out"),
           "The edited model: a directory (safetensors) or a .gguf file")
      .def("reset",
           [](PyEditor& p) {
             p.ed->reset();
             p.deltas.clear();
           },
           "Back to the weights as loaded")
      .def("W_out",
           [](pyb::object self, int layer) {
             PyEditor& p = self.cast<PyEditor&>();
             if (layer < 0 || layer >= p.ed->config().n_layers)
               fail("Editor.W_out: layer ", layer, " is outside [0, ", p.ed->config().n_layers, ")");
             const MutMatRef w = p.ed->w_out(layer);
             // A writable view of the editable weights (no copy); its base is the Editor, kept alive by it.
             return pyb::array(pyb::dtype::of<float>(), {pyb::ssize_t(w.rows), pyb::ssize_t(w.cols)},
                               {pyb::ssize_t(w.rs * int64_t(sizeof(float))), pyb::ssize_t(w.cs * int64_t(sizeof(float)))},
                               w.data, self);
           },
           pyb::arg("layer"),
           "The MLP output matrix of a layer, [d_mlp, d_model]: a writable view of the weights every later "
           "pass reads (what ROME / MEMIT change; reset() restores it)")
      .def("logits",
           [](PyEditor& p, const std::string& text) {
             const std::vector<int32_t> ids = p.ed->encode_prompt(text);
             const Tensor L = p.ed->engine().forward(Batch::single(ids)).logits;
             return to_array(std::vector<float>(L.f32(), L.f32() + L.numel()),
                             {int64_t(ids.size()), int64_t(p.ed->config().d_vocab)});
           },
           pyb::arg("text"), "[positions, d_vocab] logits of the edited model on text (BOS first)")
      .def("generate",
           [](PyEditor& p, const std::string& text, int max_new_tokens) {
             SamplingOptions so;
             so.max_new_tokens = max_new_tokens;
             so.temperature = 0;
             const Generation g = generate(p.ed->engine(), {p.ed->encode_prompt(text)}, so);
             return text + p.ed->tokenizer().decode(g.tokens[0]);
           },
           pyb::arg("text"), pyb::arg("max_new_tokens") = 8, "Greedy continuation by the edited model");

  m.def("edit_eval",
        [](const std::string& path, const std::vector<std::string>& methods, const std::vector<int>& batches, int edits,
           int neighbours, const std::vector<int>& layers, const std::vector<int>& memit_layers, int64_t cov_tokens,
           const std::string& text_organism, uint64_t data_seed, bool per_request, const std::string& html,
           const pyb::dict& kw) {
          const std::string organism = organism_of(path);
          if (organism.empty()) fail("edit_eval: ", path, " is not a shipped facts organism (its facts are the test set)");
          EditConfig base = edit_config("rome", {}, kw);
          pyb::gil_scoped_release release;
          Editor ed(path);
          const std::vector<EditRequest> reqs = fact_requests(organism, edits, data_seed, neighbours, path);
          const EditText text = organism_text(text_organism.empty() ? organism : text_organism, cov_tokens, 1);
          std::vector<EditConfig> configs;
          for (const std::string& name : methods) {
            EditConfig c = base;
            c.method = from_string<Method>(name);
            c.layers = c.method == Method::Memit ? memit_layers : layers;
            if (c.layers.empty()) c.layers = default_layers(ed.config(), c.method);
            configs.push_back(c);
          }
          const std::vector<MethodScores> all = evaluate_methods(ed, reqs, configs, batches, text);
          if (!html.empty()) {
            report::Page page("Knowledge editing: " + organism, path);
            pages::add_editing_sections(page, all);
            page.save(html);
          }
          nlohmann::json j = {{"model", path}, {"organism", organism}, {"methods", nlohmann::json::array()}};
          for (const MethodScores& s : all) j["methods"].push_back(to_json(s, per_request));
          if (!html.empty()) j["html"] = html;
          pyb::gil_scoped_acquire gil;
          return from_json(j);
        },
        pyb::arg("path"), pyb::arg("methods"), pyb::arg("batches"), pyb::arg("edits"), pyb::arg("neighbours"),
        pyb::arg("layers"), pyb::arg("memit_layers"), pyb::arg("cov_tokens"), pyb::arg("text_organism"),
        pyb::arg("data_seed"), pyb::arg("per_request"), pyb::arg("html"), pyb::arg("options"));
}

}  // namespace glassbox::py
