// The tour's "Features" page: what the features layer finds in the shipped
// organisms, from shipped artefacts only (trained dictionaries ship beside
// their organisms; nothing is trained during the tour).
#pragma once
#include <filesystem>

#include <nlohmann/json.hpp>

#include "glassbox/report.h"

namespace glassbox::cli {

// Adds the page to `site`; dashboards go to <out>/dashboards/.
void features_page(report::Site& site, const nlohmann::json& manifest, const std::filesystem::path& models_dir,
                   const std::filesystem::path& out);

}  // namespace glassbox::cli
