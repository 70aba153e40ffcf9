// Sweeps and comparisons from Python: linear probes at every layer and site
// (`glassbox probe`), circuits of several models on one prompt pair compared
// (`glassbox compare`'s overlap), and a model written as GGUF (`glassbox convert`).
#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/cross_model.h"
#include "glassbox/error.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/gguf_export.h"
#include "glassbox/pages/probe.h"
#include "glassbox/report.h"

namespace glassbox::py {

void bind_compare(pyb::module_& m) {
  m.def("probe_sweep",
        [](ModelHandle& h, const std::string& task, const std::vector<std::string>& sites, const std::string& position,
           const std::string& kind, double l2, bool covariance, int64_t limit, double test_fraction, uint64_t seed,
           bool control, bool with_probes, const std::string& label_data, const std::string& html) {
          features::LabelSetOptions lo;
          lo.limit = limit;
          lo.seed = seed;
          lo.data_dir = label_data;
          features::ProbeSweepOptions so;
          so.sites.clear();
          for (const auto& s : sites) so.sites.push_back(from_string<Site>(s));
          so.position.spec = position;
          so.probe.kind = from_string<features::ProbeKind>(kind);
          so.probe.l2 = l2;
          so.probe.covariance_corrected = covariance;
          if (covariance && so.probe.kind != features::ProbeKind::MassMean)
            fail("probe_sweep: covariance corrects mass-mean probes only (kind='mass-mean')");
          so.test_fraction = test_fraction;
          so.seed = seed;
          so.control = control;
          features::ProbeSweep s;
          features::LabelSet labels;
          {
            pyb::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(h.mutex);
            labels = features::load_label_set(task, h.model, lo);
            s = features::probe_sweep(h.engine, labels, so);
          }
          if (!html.empty()) {
            report::Page page("Probes: " + labels.name, h.model.source() + " — " + labels.description);
            pages::add_probe_sections(page, s);
            page.save(html);
          }
          nlohmann::json j = s.to_json(with_probes);
          j["description"] = labels.description;
          if (!html.empty()) j["html"] = html;
          pyb::dict d = from_json(j);
          pyb::list probes;  // each cell's fitted probe as a LinearProbe, in the cells' order
          for (const features::ProbeCell& c : s.cells) probes.append(pyb::cast(c.probe));
          d["probes"] = probes;
          return d;
        },
        pyb::arg("model"), pyb::arg("task"), pyb::arg("sites"), pyb::arg("position"), pyb::arg("kind"), pyb::arg("l2"),
        pyb::arg("covariance"), pyb::arg("limit"), pyb::arg("test_fraction"), pyb::arg("seed"), pyb::arg("control"),
        pyb::arg("with_probes"), pyb::arg("label_data"), pyb::arg("html"));

  // pairs[i]: model i's (clean ids, corrupt ids, answer id, wrong id); the metric is their logit difference.
  m.def("compare_circuits",
        [](const std::vector<ModelPtr>& models, const std::vector<std::string>& names,
           const std::vector<std::tuple<std::vector<int32_t>, std::vector<int32_t>, int32_t, int32_t>>& pairs,
           const std::string& method) {
          if (models.size() != pairs.size()) fail("compare_circuits: ", models.size(), " models but ", pairs.size(), " pairs");
          analysis::CircuitOptions co;
          co.method = from_string<analysis::CircuitMethod>(method);
          std::vector<analysis::Circuit> circuits;
          pyb::gil_scoped_release release;
          for (size_t i = 0; i < models.size(); ++i) {
            const auto& [clean, corrupt, answer, wrong] = pairs[i];
            co.metric.answer = {answer};
            co.metric.wrong = {wrong};
            std::lock_guard<std::mutex> lock(models[i]->mutex);
            circuits.push_back(
                analysis::discover_circuit(models[i]->engine, Batch::single(clean), Batch::single(corrupt), co));
          }
          const nlohmann::json j = analysis::compare_circuits(circuits, names).to_json();
          pyb::gil_scoped_acquire gil;
          return from_json(j);
        },
        pyb::arg("models"), pyb::arg("names"), pyb::arg("pairs"), pyb::arg("method"));

  m.def("save_gguf",
        [](const ModelHandle& h, const std::string& path, const std::string& dtype, const std::string& name) {
          GgufExportOptions o;
          o.dtype = from_string<DType>(dtype);
          o.name = name;
          pyb::gil_scoped_release release;
          save_gguf(h.model, path, o);
          return gguf_architecture(h.model.config());
        },
        pyb::arg("model"), pyb::arg("path"), pyb::arg("dtype"), pyb::arg("name"));
}

}  // namespace glassbox::py
