#include "glassbox/analysis/patching_compare.h"

#include "glassbox/analysis/attribution_patching.h"

namespace glassbox::analysis {

std::vector<PatchGrid> PatchRun::grids() const {
  std::vector<PatchGrid> all = activation;
  all.insert(all.end(), attribution.begin(), attribution.end());
  return all;
}

nlohmann::json PatchRun::to_json() const {
  nlohmann::json gs = nlohmann::json::array();
  for (const PatchGrid& g : grids()) gs.push_back(g.to_json());
  return {{"grids", gs}, {"correlation", correlation}};
}

PatchRun run_patching(Engine& e, const Batch& clean, const Batch& corrupt, const std::vector<Site>& sites,
                      const PatchingOptions& opt, bool activation, bool attribution) {
  PatchRun r;
  if (activation) r.activation = activation_patching(e, clean, corrupt, sites, opt);
  if (attribution) r.attribution = attribution_patching(e, clean, corrupt, sites, opt);
  if (activation && attribution)
    for (size_t i = 0; i < r.activation.size(); ++i)
      r.correlation[r.activation[i].hook] = correlation(r.activation[i], r.attribution[i]);
  return r;
}

}  // namespace glassbox::analysis
