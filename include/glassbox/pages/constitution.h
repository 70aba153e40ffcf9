// The constitution's table and charts on a report page: what
// `glassbox constitution build --html` writes and the tour's card shows.
#pragma once
#include <nlohmann/json.hpp>

#include "glassbox/report.h"

namespace glassbox::pages {

// `build` is ConstitutionBuild::to_json() (or the report saved beside a
// shipped profile): one row per principle, AUROC and effect / side-effect charts.
void add_constitution_sections(report::Page& page, const nlohmann::json& build);

}  // namespace glassbox::pages
