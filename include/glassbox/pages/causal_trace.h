// Report sections of a causal trace (analysis/causal_trace.h): the paper's
// figures (Meng et al. 2022, Figures 1-2) for glassbox's models.
#pragma once
#include <cstddef>

#include "glassbox/analysis/causal_trace.h"
#include "glassbox/model.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// A summary table (prompts, p(answer) clean and corrupted, noise); per site
// the average indirect effect of each token role by layer as a heatmap, and
// the "last subject token" / "first subsequent token" / "last token" rows as
// lines (Figure 2); then per prompt, up to `max_prompts`, its [position,
// layer] heatmap of every site (Figure 1).
void add_causal_trace_sections(report::Page& page, const Model& m, const analysis::CausalTrace& t,
                               size_t max_prompts = 6);

}  // namespace glassbox::pages
