// Report sections of a cross-model comparison (analysis/cross_model.h): head
// roles side by side and circuit overlap.
#pragma once
#include "glassbox/analysis/cross_model.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// The role table (best head and score per model and role) and, per role, one
// heatmap of every model's scores side by side (columns "name H0"...; a model
// with fewer layers leaves gaps), on one colour scale.
void add_role_sections(report::Page& page, const analysis::RoleTable& roles);
// A table of circuit sizes and faithfulness, the edge and node overlap
// matrices as heatmaps, and the edges every circuit keeps.
void add_circuit_overlap_sections(report::Page& page, const analysis::CircuitComparison& cmp);

}  // namespace glassbox::pages
