// Knowledge-editing evaluations (editing/evaluate.h) as report charts and a
// page section: every method and batch size against efficacy, paraphrase
// success and neighbourhood specificity (a heatmap), and a table with the
// fluency measures beside them.
#pragma once
#include <vector>

#include "glassbox/editing/evaluate.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// "rome x1", "memit x100": a method and its batch size.
std::string editing_row_label(const editing::MethodScores& s);
report::json editing_scores_heatmap(const std::vector<editing::MethodScores>& scores);
void add_editing_sections(report::Page& page, const std::vector<editing::MethodScores>& scores);

}  // namespace glassbox::pages
