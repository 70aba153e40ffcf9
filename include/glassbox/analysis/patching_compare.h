// Activation patching and its first-order estimate, attribution patching, of
// one prompt pair over the same sites, and how well the estimate agrees with
// the real patches (Nanda 2023; Syed et al. 2023 report the same
// correlation): what `glassbox patch --method both` and the tour show.
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/patching.h"
#include "glassbox/engine.h"

namespace glassbox::analysis {

struct PatchRun {
  std::vector<PatchGrid> activation, attribution;
  // Where both ran: Pearson r of each site's two grids, keyed by hook suffix.
  std::map<std::string, double> correlation;

  std::vector<PatchGrid> grids() const;  // activation first
  // {"grids": [...], "correlation": {hook: r}}
  nlohmann::json to_json() const;
};

// Either method or both over `sites` (same options for both, so their grids
// compare cell by cell). Errors as activation_patching / attribution_patching.
PatchRun run_patching(Engine& e, const Batch& clean, const Batch& corrupt, const std::vector<Site>& sites,
                      const PatchingOptions& opt, bool activation, bool attribution);

}  // namespace glassbox::analysis
