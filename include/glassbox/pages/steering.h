// A steering sweep (steering/sweep.h) as report charts and a page section:
// the effect over the layer x coefficient grid (a heatmap), the effect
// against the side effect per layer (one line per layer, coefficients along
// it: the trade-off a user picks a cell from), and a table of every cell.
#pragma once
#include "glassbox/report.h"
#include "glassbox/steering/sweep.h"

namespace glassbox::pages {

report::json steering_effect_heatmap(const steering::Sweep& s);
// Null JSON when the sweep measured no side effect (no benign text).
report::json steering_tradeoff_chart(const steering::Sweep& s);

// Summary cards (unsteered effect and CE, the best cell under a CE budget), the charts and the table.
void add_steering_sections(report::Page& page, const steering::Sweep& s, bool want_increase = true,
                           double max_ce_ratio = 0.05);

}  // namespace glassbox::pages
