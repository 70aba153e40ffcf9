// The tour's analysis sections: what glassbox::analysis finds in an organism,
// on the probe prompts its manifest entry stores (zoo::Recipe::probes).
#pragma once
#include <nlohmann/json.hpp>

#include "glassbox/model.h"
#include "glassbox/report.h"

namespace glassbox::cli {

// Logit lens, direct logit attribution, activation and attribution patching
// on the entry's first probe (nothing without probes), and head-detector
// scores for every model with room for a repeated sequence.
void add_analysis_sections(report::Page& page, const Model& m, const nlohmann::json& entry);

}  // namespace glassbox::cli
