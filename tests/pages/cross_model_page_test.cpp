#include <gtest/gtest.h>

#include "analysis/analysis_test_util.h"
#include "glassbox/pages/cross_model.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

TEST(CrossModel, PageHasItsCharts) {
  const Trainable tr = antest::induction_by_hand(4.f);
  RoleOptions o;
  o.copying = false;
  const RoleTable t = head_roles({&tr.model(), &tr.model()}, {"a", "b"}, o);
  const Circuit c = antest::induction_circuit(tr.model());
  report::Page page("cross-model");
  pages::add_role_sections(page, t);
  pages::add_circuit_overlap_sections(page, compare_circuits({c, c}, {"a", "b"}));
  EXPECT_EQ(page.chart_count(), 3u + 3u);  // a heatmap per role; edge Jaccard, coverage, node Jaccard
}

}  // namespace
