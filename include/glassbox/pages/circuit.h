// The report page of a discovered circuit (analysis/circuit.h): the graph and
// its faithfulness curve.
#pragma once
#include <string>

#include "glassbox/analysis/circuit.h"
#include "glassbox/report.h"

namespace glassbox::pages {

// The HTML report: summary cards, the graph (interactive: a slider shows the
// top-k edges by |score|, kept edges drawn solid), the faithfulness curve and
// a table of the strongest edges.
report::Page circuit_page(const analysis::Circuit& c, const std::string& title = "Circuit");
// The same sections (summary cards, graph, faithfulness curve, strongest
// edges) appended to an existing page.
void add_circuit_sections(report::Page& page, const analysis::Circuit& c);

}  // namespace glassbox::pages
