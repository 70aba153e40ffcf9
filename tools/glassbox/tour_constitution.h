// The tour's constitution card: the shipped example constitution's table,
// read from the reports saved beside its built profiles (nothing is built).
#pragma once
#include <string>

#include "glassbox/report.h"

namespace glassbox::cli {

// Adds a card to the index and a page, when models_dir/constitutions holds
// organisms.json and at least one organisms.<model>.report.json.
void add_constitution_page(report::Site& site, const std::string& models_dir);

}  // namespace glassbox::cli
