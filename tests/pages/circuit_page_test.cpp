#include <gtest/gtest.h>

#include "analysis/analysis_test_util.h"
#include "glassbox/error.h"
#include "glassbox/pages/circuit.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

using antest::Induction;

TEST(Circuit, PageHasTheGraphAndTheCurve) {
  const Induction ind;
  Engine e(ind.tr.model());
  const Circuit c = discover_circuit(e, ind.clean, ind.corrupt, ind.opt(CircuitMethod::EAPIG));
  const report::Page page = pages::circuit_page(c, "Induction circuit");
  EXPECT_EQ(page.chart_count(), 2u);
  const nlohmann::json g = report::graph_chart("g", {{"a", 0, 0}, {"b", 1, 1}}, {{0, 1, 0.5f, true}}, "score", 1);
  EXPECT_EQ(g["params"][0]["value"], 1);
  EXPECT_THROW(report::graph_chart("g", {{"a", 0, 0}}, {{0, 3, 1.f, true}}, "score", 1), Error);
}

TEST(CircuitPage, SectionsAppendToAnExistingPage) {
  const Induction ind;
  Engine e(ind.tr.model());
  const Circuit c = discover_circuit(e, ind.clean, ind.corrupt, ind.opt(CircuitMethod::EAP));
  report::Page page("tour");
  page.add_text("before");
  pages::add_circuit_sections(page, c);
  EXPECT_EQ(page.chart_count(), 2u);  // the graph and the faithfulness curve
}

}  // namespace
