#include <gtest/gtest.h>

#include <algorithm>

#include "analysis_test_util.h"
#include "glassbox/analysis/cross_model.h"
#include "glassbox/error.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

// The hand-built induction model with layer 1's heads 0 and 1 exchanged: the
// same function, the induction head now at L1H1.
Trainable swapped_induction(float sharpness) {
  Trainable tr = antest::induction_by_hand(sharpness);
  for (Param& p : tr.params()) {
    if (p.name.rfind("blocks.1.attn.W_", 0) != 0) continue;
    const int64_t per_head = p.value.numel() / 2;  // [n_heads, ...], head 0 first
    std::swap_ranges(p.value.f32(), p.value.f32() + per_head, p.value.f32() + per_head);
  }
  return tr;
}

size_t role(const RoleTable& t, const std::string& name) {
  const auto it = std::find(t.roles.begin(), t.roles.end(), name);
  EXPECT_NE(it, t.roles.end()) << name;
  return size_t(it - t.roles.begin());
}

float at(const OverlapMatrix& o, size_t i, size_t j) { return o.jaccard[i * 2 + j]; }

TEST(CrossModel, TheSameModelTwiceHasIdenticalRolesAndFullOverlap) {
  const Trainable tr = antest::induction_by_hand();
  const RoleTable t = head_roles({&tr.model(), &tr.model()}, {"a", "b"});
  ASSERT_EQ(t.models.size(), 2u);
  EXPECT_EQ(t.roles, (std::vector<std::string>{"previous_token", "duplicate_token", "induction", "copying"}));
  for (size_t r = 0; r < t.roles.size(); ++r) {
    EXPECT_EQ(t.models[0].scores[r].scores, t.models[1].scores[r].scores) << t.roles[r];
    EXPECT_EQ(t.models[0].best[r].name(), t.models[1].best[r].name()) << t.roles[r];
  }
  EXPECT_EQ(t.models[0].best[role(t, "previous_token")].name(), "L0H0");
  EXPECT_EQ(t.models[0].best[role(t, "induction")].name(), "L1H0");
  EXPECT_EQ(t.models[0].seq, antest::kT / 2);  // no tokenizer, no BOS: r r fills the context

  const Trainable soft = antest::induction_by_hand(4.f);
  const Circuit c = antest::induction_circuit(soft.model());
  const CircuitComparison cmp = compare_circuits({c, c}, {"a", "b"});
  for (size_t i = 0; i < 2; ++i)
    for (size_t j = 0; j < 2; ++j) {
      EXPECT_EQ(at(cmp.edges, i, j), 1.f);
      EXPECT_EQ(cmp.edges.coverage[i * 2 + j], 1.f);
      EXPECT_EQ(at(cmp.nodes, i, j), 1.f);
    }
  EXPECT_EQ(cmp.common_edges, cmp.circuits[0].edges);
  EXPECT_EQ(cmp.circuits[0].edges.size(), 4u);
}

// Exchanging two heads moves their roles and their circuit edges to the other
// index: names no longer match (overlap < 1), but the nodes the circuits share
// (input, a0.h0, logits) still do, and undoing the renaming restores overlap 1.
TEST(CrossModel, SwappedHeadsMoveRolesAndCircuitEdgesToTheOtherIndex) {
  const Trainable a = antest::induction_by_hand(), b = swapped_induction(40.f);
  const RoleTable t = head_roles({&a.model(), &b.model()}, {"original", "swapped"});
  for (const char* r : {"induction", "copying"}) {
    EXPECT_EQ(t.models[0].best[role(t, r)].name(), "L1H0") << r;
    EXPECT_EQ(t.models[1].best[role(t, r)].name(), "L1H1") << r;
    const HeadScores &s0 = t.models[0].scores[role(t, r)], &s1 = t.models[1].scores[role(t, r)];
    EXPECT_NEAR(s0.at(1, 0), s1.at(1, 1), 1e-5) << r;
  }
  EXPECT_EQ(t.models[1].best[role(t, "previous_token")].name(), "L0H0");

  const Trainable sa = antest::induction_by_hand(4.f), sb = swapped_induction(4.f);
  const Circuit ca = antest::induction_circuit(sa.model());
  Circuit cb = antest::induction_circuit(sb.model());
  const CircuitComparison cmp = compare_circuits({ca, cb}, {"original", "swapped"});
  EXPECT_EQ(cmp.circuits[1].edges,
            (std::vector<std::string>{"a0.h0->a1.h1<k>", "a1.h1->logits", "input->a0.h0<v>", "input->a1.h1<v>"}));
  EXPECT_EQ(cmp.common_edges, std::vector<std::string>{"input->a0.h0<v>"});
  EXPECT_NEAR(at(cmp.edges, 0, 1), 1.0 / 7, 1e-6);   // 1 shared of 7
  EXPECT_NEAR(cmp.edges.coverage[1], 1.0 / 4, 1e-6);
  EXPECT_NEAR(at(cmp.nodes, 0, 1), 3.0 / 5, 1e-6);   // input, a0.h0, logits of 5
  EXPECT_NEAR(cmp.nodes.coverage[1], 3.0 / 4, 1e-6);

  for (CircuitNode& n : cb.nodes)
    if (n.kind == NodeKind::Head && n.layer == 1) n.head = 1 - n.head;
  const CircuitComparison renamed = compare_circuits({ca, cb}, {"original", "renamed"});
  EXPECT_EQ(at(renamed.edges, 0, 1), 1.f);
  EXPECT_EQ(at(renamed.nodes, 0, 1), 1.f);
}

TEST(CrossModel, JsonHasTheDocumentedFields) {
  const Trainable tr = antest::induction_by_hand(4.f);
  RoleOptions o;
  o.copying = false;
  const RoleTable t = head_roles({&tr.model(), &tr.model()}, {"a", "b"}, o);
  const nlohmann::json j = t.to_json();
  for (const char* k : {"technique", "roles", "rows", "seed", "models"}) EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["technique"], "head_roles");
  EXPECT_EQ(j["roles"].size(), 3u);
  for (const char* k : {"name", "n_layers", "n_heads", "seq", "best", "scores"})
    EXPECT_TRUE(j["models"][0].contains(k)) << k;
  EXPECT_EQ(j["models"][1]["name"], "b");
  EXPECT_EQ(j["models"][0]["best"]["induction"]["name"], "L1H0");
  EXPECT_EQ(j["models"][0]["best"]["induction"]["layer"], 1);
  EXPECT_EQ(j["models"][0]["scores"][0]["scores"].size(), 4u);

  const Circuit c = antest::induction_circuit(tr.model());
  const nlohmann::json cj = compare_circuits({c, c}, {"a", "b"}).to_json();
  for (const char* k : {"technique", "names", "circuits", "edges", "nodes", "common_edges"})
    EXPECT_TRUE(cj.contains(k)) << k;
  EXPECT_EQ(cj["technique"], "circuit_comparison");
  for (const char* k : {"name", "n_edges", "n_kept", "kept_edges", "kept_nodes", "faithfulness"})
    EXPECT_TRUE(cj["circuits"][0].contains(k)) << k;
  EXPECT_EQ(cj["edges"]["jaccard"][0][1], 1.0);
  EXPECT_EQ(cj["nodes"]["shared"][1][0], 4);
}

TEST(CrossModel, MismatchedNamesAndNoModelsFail) {
  const Trainable tr = antest::induction_by_hand();
  EXPECT_THROW(head_roles({&tr.model()}, {"a", "b"}), Error);
  EXPECT_THROW(head_roles({}, {}), Error);
  EXPECT_THROW(compare_circuits({}, {}), Error);
}

}  // namespace
