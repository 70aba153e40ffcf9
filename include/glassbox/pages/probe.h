// A probe sweep (features/probe_sweep.h) as report charts and a page section:
// held-out accuracy (R^2 for regression) by layer, one line per site and one
// per site's control task, the majority-class baseline; selectivity and
// AUROC by layer; a table of every cell.
#pragma once
#include "glassbox/features/probe_sweep.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// Layer on the x axis: per-layer sites at their block, global sites before
// the blocks (-1: hook_embed, hook_pos_embed) or after them (n_layers: ln_final).
report::json probe_accuracy_chart(const features::ProbeSweep& s);
report::json probe_selectivity_chart(const features::ProbeSweep& s);
report::json probe_auroc_chart(const features::ProbeSweep& s);  // null JSON for regression

// Summary cards, the charts and the table.
void add_probe_sections(report::Page& page, const features::ProbeSweep& s);

}  // namespace glassbox::pages
