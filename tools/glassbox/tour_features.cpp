#include "tour_features.h"

#include "common.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/pages/probe.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

namespace {

bool shipped(const fs::path& models_dir, const char* name) {
  return fs::exists(models_dir / name / "model.safetensors") || fs::exists(models_dir / name / "config.json");
}

// Which name is the indirect object, probed layer by layer at the final token:
// the depth where it becomes decodable is where activation patching starts to
// restore the answer (test ProbeSweep.IoiIndirectObjectIsDecodableWherePatchingFindsIt).
void ioi_probe_section(report::Page& page, const fs::path& models_dir) {
  const Model m = Model::load((models_dir / "ioi").string());
  features::LabelSetOptions lo;
  lo.limit = 1024;
  const features::LabelSet labels = features::load_label_set("ioi-io", m, lo);
  features::ProbeSweepOptions so;
  so.sites = {Site::resid_pre, Site::resid_post};
  Engine e(m);
  const features::ProbeSweep s = features::probe_sweep(e, labels, so);
  page.add_heading("Probes: where ioi's indirect object becomes readable");
  page.add_text("A logistic probe per layer reads which of four held-out names is the indirect object from the "
                "residual stream at the final token (glassbox probe --model models/ioi --task ioi-io). The control "
                "task gives every name a random label (Hewitt & Liang): selectivity is accuracy above it. The name "
                "becomes decodable at the depth where patching the residual stream starts to restore the answer.");
  pages::add_probe_sections(page, s);
}

}  // namespace

void features_page(report::Site& site, const json& manifest, const fs::path& models_dir, const fs::path& out) {
  (void)manifest;
  (void)out;
  auto& page = site.add_page("features", "Features", "probes, sparse dictionaries, dashboards, explanations");
  page.add_text("The other half of interpretability: directions and sparse features in the activations. "
                "Everything here is computed from shipped weights and dictionaries in a few seconds.");
  if (shipped(models_dir, "ioi")) ioi_probe_section(page, models_dir);
}

}  // namespace glassbox::cli
