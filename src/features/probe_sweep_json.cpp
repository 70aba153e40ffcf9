// ProbeSweep / ProbeCell: lookups and JSON.
#include <cmath>

#include "glassbox/features/probe_sweep.h"

namespace glassbox::features {

namespace {
// NaN (not measured) as null.
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
}  // namespace

nlohmann::json ProbeCell::to_json(bool with_probe) const {
  nlohmann::json j = {{"hook", hook},           {"site", to_string(site)},
                      {"layer", layer},         {"d", d},
                      {"accuracy", num(accuracy)}, {"auroc", num(auroc)},
                      {"train_accuracy", num(train_accuracy)}, {"r2", num(r2)},
                      {"mse", num(mse)},        {"control", num(control)},
                      {"selectivity", num(selectivity)}, {"converged", probe.converged},
                      {"iterations", probe.iterations}};
  if (with_probe) j["probe"] = probe.to_json();
  return j;
}

const ProbeCell* ProbeSweep::find(Site s, int layer) const {
  for (const ProbeCell& c : cells)
    if (c.site == s && c.layer == layer) return &c;
  return nullptr;
}

int ProbeSweep::first_layer_reaching(Site s, double threshold) const {
  for (const ProbeCell& c : cells) {
    if (c.site != s) continue;
    const double v = classes.empty() ? c.r2 : c.accuracy;
    if (v >= threshold) return c.layer;
  }
  return -1;
}

nlohmann::json ProbeSweep::to_json(bool with_probes) const {
  nlohmann::json cs = nlohmann::json::array();
  for (const ProbeCell& c : cells) cs.push_back(c.to_json(with_probes));
  return {{"label_set", label_set}, {"model", model},          {"position", position},
          {"kind", to_string(kind)}, {"classes", classes},     {"n_examples", n_examples},
          {"n_train", n_train},     {"n_test", n_test},        {"n_train_rows", n_train_rows},
          {"n_test_rows", n_test_rows}, {"majority", num(majority)}, {"n_layers", n_layers},
          {"cells", cs}};
}

}  // namespace glassbox::features
