#include <gtest/gtest.h>

#include "analysis/analysis_test_util.h"
#include "glassbox/pages/cross_model.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

// The induction circuit of tests/analysis/cross_model_test.cpp.
Circuit induction_circuit(const Model& m) {
  Engine e(m);
  CircuitOptions o;
  o.method = CircuitMethod::EAP;
  o.keep_top = 4;
  o.metric.answer = {5, 5};
  o.metric.wrong = {13, 12};
  const Batch clean = Batch::from_rows({{1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 9, 8, 7, 6}});
  const Batch corrupt =
      Batch::from_rows({{1, 2, 3, 13, 5, 6, 7, 8, 1, 2, 3, 4}, {9, 8, 7, 6, 12, 4, 3, 2, 9, 8, 7, 6}});
  return discover_circuit(e, clean, corrupt, o);
}

TEST(CrossModel, PageHasItsCharts) {
  const Trainable tr = antest::induction_by_hand(4.f);
  RoleOptions o;
  o.copying = false;
  const RoleTable t = head_roles({&tr.model(), &tr.model()}, {"a", "b"}, o);
  const Circuit c = induction_circuit(tr.model());
  report::Page page("cross-model");
  pages::add_role_sections(page, t);
  pages::add_circuit_overlap_sections(page, compare_circuits({c, c}, {"a", "b"}));
  EXPECT_EQ(page.chart_count(), 3u + 3u);  // a heatmap per role; edge Jaccard, coverage, node Jaccard
}

}  // namespace
