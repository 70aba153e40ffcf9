// Features and steering from Python: linear probes, steering directions from
// prompt pairs, and their interventions / control vectors (dictionaries: sae.cpp).
#include <cstring>

#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/error.h"
#include "glassbox/features/probe.h"
#include "glassbox/steering/contrastive.h"
#include "glassbox/steering/control_vector.h"
#include "glassbox/tokenizer.h"

namespace glassbox::py {

namespace {

using FloatRows = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>;

// [rows, width] of a 1-D (one row) or 2-D array; Error naming `what` otherwise.
int64_t rows_of(const FloatRows& x, int64_t width, const char* what) {
  const int64_t last = x.ndim() ? int64_t(x.shape(x.ndim() - 1)) : 0;
  if ((x.ndim() != 1 && x.ndim() != 2) || last != width)
    fail(what, ": expected an array of shape [rows, ", width, "] or [", width, "], got ",
         shape_str(Shape(x.shape(), x.shape() + x.ndim())));
  return x.ndim() == 2 ? int64_t(x.shape(0)) : 1;
}

}  // namespace

void bind_features(pyb::module_& m) {
  pyb::class_<features::LinearProbe>(m, "LinearProbe", "A fitted linear probe (glassbox.fit_probe)")
      .def_readonly("d_in", &features::LinearProbe::d_in)
      .def_readonly("n_classes", &features::LinearProbe::n_classes)
      .def_readonly("converged", &features::LinearProbe::converged)
      .def("scores",
           [](const features::LinearProbe& p, const FloatRows& x) {
             const int64_t rows = rows_of(x, p.d_in, "LinearProbe.scores");
             return to_array(p.scores(x.data(), rows), {rows, p.n_outputs});
           })
      .def("predict",
           [](const features::LinearProbe& p, const FloatRows& x) {
             const int64_t rows = rows_of(x, p.d_in, "LinearProbe.predict");
             const std::vector<int32_t> y = p.predict(x.data(), rows);
             return pyb::array_t<int32_t>(pyb::ssize_t(y.size()), y.data());
           })
      .def("direction",
           [](const features::LinearProbe& p, int64_t output) { return to_array(p.direction(output), {p.d_in}); },
           pyb::arg("output") = 0)
      .def("to_json", [](const features::LinearProbe& p) { return from_json(p.to_json()); });

  m.def("fit_probe",
        [](const FloatRows& x, const pyb::array_t<int32_t, pyb::array::c_style | pyb::array::forcecast>& y,
           const std::string& kind, double l2, int n_classes) {
          if (x.ndim() != 2) fail("fit_probe: x must be [n, d], got ", x.ndim(), " dimensions");
          const int64_t n = x.shape(0), d = x.shape(1);
          if (y.ndim() != 1 || y.shape(0) != n) fail("fit_probe: y must hold one label for each of the ", n, " rows");
          if (n_classes <= 0)
            for (pyb::ssize_t i = 0; i < y.size(); ++i) n_classes = std::max(n_classes, y.data()[i] + 1);
          features::ProbeOptions o;
          o.kind = from_string<features::ProbeKind>(kind);
          o.l2 = l2;
          pyb::gil_scoped_release release;
          return features::fit_probe(x.data(), y.data(), n, d, n_classes, o);
        },
        pyb::arg("x"), pyb::arg("y"), pyb::arg("kind") = "logistic", pyb::arg("l2") = 1e-2, pyb::arg("n_classes") = 0);

  // pairs: [{"prompt", "positive", "negative"}] as `glassbox steer build --pairs` reads them.
  m.def("steering_from_pairs",
        [](ModelHandle& h, const pyb::handle& pairs, const std::string& method, const std::string& site,
           std::vector<int> layers, const std::string& read_at, const std::string& name) {
          if (!h.model.tokenizer()) fail("steering_from_pairs: ", h.model.source(), " has no tokenizer");
          const Tokenizer& tok = *h.model.tokenizer();
          std::vector<steering::ContrastivePair> ps;
          for (const auto& j : to_json(pairs)) {
            if (!j.is_object() || !j.contains("prompt") || !j.contains("positive") || !j.contains("negative"))
              fail("steering_from_pairs: each pair is a dict with \"prompt\", \"positive\" and \"negative\" texts");
            steering::ContrastivePair p;
            p.text = j["prompt"].get<std::string>();
            p.prompt = tok.encode(p.text, /*add_special=*/true, /*parse_special=*/false);
            p.positive = tok.encode(j["positive"].get<std::string>(), false, false);
            p.negative = tok.encode(j["negative"].get<std::string>(), false, false);
            ps.push_back(std::move(p));
          }
          steering::BuildOptions o;
          o.method = from_string<steering::Method>(method);
          o.site = steering::residual_site(site);
          o.layers = std::move(layers);
          o.read_at = from_string<steering::ReadAt>(read_at);
          o.name = name;
          nlohmann::json v;
          {
            pyb::gil_scoped_release release;
            std::lock_guard<std::mutex> lock(h.mutex);
            v = steering::build_from_pairs(h.engine, ps, o).to_json();
          }
          return from_json(v);
        },
        pyb::arg("model"), pyb::arg("pairs"), pyb::arg("method") = "mean-diff", pyb::arg("site") = "resid_post",
        pyb::arg("layers") = std::vector<int>{}, pyb::arg("read_at") = "last", pyb::arg("name") = "");

  // A steering direction (its JSON, as steering_from_pairs returns it or
  // `glassbox steer build` writes it) as add_vector interventions.
  m.def("steering_interventions",
        [](const ModelHandle& h, const pyb::handle& vector, float coefficient, std::vector<int> layers,
           std::vector<int64_t> positions) {
          const auto v = steering::SteeringVector::from_json(to_json(vector), "steering vector");
          v.check_fits(h.model.config(), "steering vector");
          steering::ApplyOptions o;
          o.coefficient = coefficient;
          o.layers = std::move(layers);
          o.positions = std::move(positions);
          return from_json(interventions_to_json(steering::steering_interventions(v, o)));
        },
        pyb::arg("model"), pyb::arg("vector"), pyb::arg("coefficient") = 1.0f, pyb::arg("layers") = std::vector<int>{},
        pyb::arg("positions") = std::vector<int64_t>{});
  m.def("load_steering", [](const std::string& path) { return from_json(steering::load_steering_json(path).to_json()); },
        pyb::arg("path"));

  // llama.cpp control-vector files (GGUF), both ways.
  m.def("control_vector_interventions",
        [](const ModelHandle& h, const std::string& path, float scale, bool check_hint) {
          const auto cv = steering::read_control_vector(path);
          return from_json(interventions_to_json(
              steering::control_vector_interventions(cv, h.model.config(), scale, path, check_hint)));
        },
        pyb::arg("model"), pyb::arg("path"), pyb::arg("scale") = 1.0f, pyb::arg("check_hint") = true);
  m.def("write_control_vector",
        [](const ModelHandle& h, const pyb::handle& vector, const std::string& path, float coefficient,
           const std::vector<int>& layers) {
          const auto v = steering::SteeringVector::from_json(to_json(vector), "steering vector");
          v.check_fits(h.model.config(), "steering vector");
          steering::write_control_vector(
              steering::to_control_vector(v, coefficient, steering::control_vector_model_hint(h.model.config()), layers),
              path);
        },
        pyb::arg("model"), pyb::arg("vector"), pyb::arg("path"), pyb::arg("coefficient") = 1.0f,
        pyb::arg("layers") = std::vector<int>{});
}

}  // namespace glassbox::py
