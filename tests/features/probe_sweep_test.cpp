// Probes on the organisms through the engine. The ground truth: in ioi, which
// name is the indirect object becomes linearly decodable at the final
// position at the same depth of the residual stream from which activation
// patching at that position restores the answer.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "glassbox/analysis/patching.h"
#include "glassbox/error.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::features;
namespace fs = std::filesystem;

namespace {

// The shipped organism and the zoo's corpora its labels come from, or a skip naming what is missing.
#define REQUIRE_ORGANISM(name)                                                                              \
  const std::string organism_dir = (fs::path(zoo::models_dir()) / name).string();                           \
  if (!fs::exists(fs::path(organism_dir) / "model.safetensors"))                                            \
    GTEST_SKIP() << "no trained " << name << " in " << zoo::models_dir() << " (glassbox zoo train " << name \
                 << ")";                                                                                    \
  if (!fs::exists(fs::path(zoo::data_dir()) / "names"))                                                     \
    GTEST_SKIP() << "no zoo corpora in " << zoo::data_dir() << " (scripts/zoo-data.sh)";

// Depth d of the residual stream: what block d reads (blocks.d.hook_resid_pre),
// d = n_layers the last block's output.
double probe_accuracy_at_depth(const ProbeSweep& s, int d) {
  const ProbeCell* c = d < s.n_layers ? s.find(Site::resid_pre, d) : s.find(Site::resid_post, s.n_layers - 1);
  if (!c) throw Error("no probe at depth " + std::to_string(d));
  return c->accuracy;
}

TEST(ProbeSweep, IoiIndirectObjectIsDecodableWherePatchingFindsIt) {
  REQUIRE_ORGANISM("ioi");
  const Model m = Model::load(organism_dir);
  const int L = m.config().n_layers;
  LabelSetOptions lo;
  lo.limit = 400;
  const LabelSet labels = ioi_io_labels(m, lo);
  ASSERT_EQ(labels.classes.size(), 4u);
  Engine e(m);

  // Probes at the final position, at every depth.
  ProbeSweepOptions o;
  o.sites = {Site::resid_pre, Site::resid_post};
  o.position.spec = "end";
  const ProbeSweep s = probe_sweep(e, labels, o);
  int probe_depth = -1;
  for (int d = 0; d <= L && probe_depth < 0; ++d)
    if (probe_accuracy_at_depth(s, d) >= 0.9) probe_depth = d;

  // Activation patching: flip the repeated name at S2 (the indirect object
  // changes), patch the clean residual stream into the corrupted run at the
  // final position only, one depth at a time.
  std::map<size_t, std::vector<const ProbeExample*>> by_length;
  for (const auto& ex : labels.examples) by_length[ex.tokens.size()].push_back(&ex);
  const auto& group = std::max_element(by_length.begin(), by_length.end(), [](const auto& a, const auto& b) {
                        return a.second.size() < b.second.size();
                      })->second;
  std::vector<std::vector<int32_t>> clean, corrupt;
  analysis::PatchingOptions po;
  for (size_t i = 0; i < group.size() && i < 8; ++i) {
    const ProbeExample& ex = *group[i];
    const int32_t io = ex.tokens[size_t(ex.positions.at("IO"))], subject = ex.tokens[size_t(ex.positions.at("S1"))];
    clean.push_back(ex.tokens);
    corrupt.push_back(ex.tokens);
    corrupt.back()[size_t(ex.positions.at("S2"))] = io;
    po.metric.answer.push_back(io);
    po.metric.wrong.push_back(subject);
  }
  const auto grids = analysis::activation_patching(e, Batch::from_rows(clean), Batch::from_rows(corrupt),
                                                   {Site::resid_pre, Site::resid_post}, po);
  const int64_t last = grids[0].n_cols - 1;
  auto restored_at_depth = [&](int d) { return d < L ? grids[0].at(d, last) : grids[1].at(L - 1, last); };
  int patch_depth = -1;
  for (int d = 0; d <= L && patch_depth < 0; ++d)
    if (restored_at_depth(d) >= 0.5) patch_depth = d;

  std::string table;
  for (int d = 0; d <= L; ++d)
    table += "depth " + std::to_string(d) + ": probe accuracy " + std::to_string(probe_accuracy_at_depth(s, d)) +
             ", patching restores " + std::to_string(restored_at_depth(d)) + "\n";
  std::printf("%s", table.c_str());
  // Not there at the start (chance is 1/4), there by the end, and arriving at the same depth.
  EXPECT_LT(probe_accuracy_at_depth(s, 0), 0.4) << table;
  EXPECT_LT(restored_at_depth(0), 0.1) << table;
  EXPECT_GT(probe_depth, 0) << table;
  EXPECT_LE(probe_depth, L) << table;
  EXPECT_EQ(probe_depth, patch_depth) << table;
  // Where it is decodable it is the representation, not the probe: a random
  // label per template is learnt less well.
  const ProbeCell* top = s.find(Site::resid_post, L - 1);
  EXPECT_GE(top->auroc, 0.95);
  EXPECT_GT(top->selectivity, 0.1) << "control " << top->control;
}

TEST(ProbeSweep, EveryKindDecodesTheIndirectObjectLate) {
  REQUIRE_ORGANISM("ioi");
  const Model m = Model::load(organism_dir);
  LabelSetOptions lo;
  lo.limit = 240;
  const LabelSet labels = ioi_io_labels(m, lo);
  Engine e(m);
  for (ProbeKind k : {ProbeKind::Ridge, ProbeKind::MassMean}) {
    ProbeSweepOptions o;
    o.sites = {Site::resid_pre};
    o.position.spec = "end";
    o.probe.kind = k;
    o.control = false;
    const ProbeSweep s = probe_sweep(e, labels, o);
    EXPECT_LT(s.find(Site::resid_pre, 0)->accuracy, 0.4) << to_string(k);
    EXPECT_GT(s.find(Site::resid_pre, 3)->accuracy, 0.9) << to_string(k);
    EXPECT_TRUE(std::isnan(s.find(Site::resid_pre, 3)->control));
  }
}

TEST(ProbeSweep, FactsRelationIsInTheFinalToken) {
  REQUIRE_ORGANISM("facts");
  const Model m = Model::load(organism_dir);
  const LabelSet labels = facts_relation_labels(m, {});
  ASSERT_EQ(labels.classes.size(), 4u);
  EXPECT_EQ(labels.classes[0], "likes to eat");
  Engine e(m);
  ProbeSweepOptions o;
  o.sites = {Site::resid_pre};
  const ProbeSweep s = probe_sweep(e, labels, o);
  EXPECT_EQ(s.n_examples, 480);
  // "lives in" / "works as a" / "plays the" / "likes to eat" end in different words.
  for (int l = 0; l < m.config().n_layers; ++l) EXPECT_GE(s.find(Site::resid_pre, l)->accuracy, 0.95) << l;
}

TEST(ProbeActivations, RowsAreTheForwardPassAtThePosition) {
  REQUIRE_ORGANISM("ioi");
  const Model m = Model::load(organism_dir);
  LabelSetOptions lo;
  lo.limit = 5;
  const LabelSet labels = ioi_io_labels(m, lo);
  Engine e(m);
  const HookPoint h{Site::resid_mid, 1};
  ProbeActivations stream(e, labels, {h}, ProbePosition{"S2"}, /*batch_examples=*/2);
  ActivationBatch b;
  std::vector<float> rows;
  while (stream.next(b, 3) > 0) rows.insert(rows.end(), b.sites[0].begin(), b.sites[0].end());
  ASSERT_EQ(stream.row_examples().size(), 5u);
  const int64_t d = m.config().d_model;
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(stream.row_examples()[i], int64_t(i));
    ForwardOptions fo;
    fo.keep = {h};
    const ForwardResult r = e.forward(Batch::single(labels.examples[i].tokens), nullptr, nullptr, fo);
    const float* want = r.get(h).f32() + labels.examples[i].positions.at("S2") * d;
    for (int64_t j = 0; j < d; ++j) ASSERT_NEAR(rows[i * size_t(d) + size_t(j)], want[j], 1e-5) << i << " " << j;
  }
  stream.rewind();
  int64_t again = 0;
  while (const int64_t n = stream.next(b, 100)) again += n;
  EXPECT_EQ(again, 5);
  EXPECT_THROW(ProbeActivations(e, labels, {{Site::pattern, 0}}, ProbePosition{}), Error);
}

TEST(ProbePosition, ResolvesNamesIndicesAndEvery) {
  ProbeExample ex;
  ex.tokens = {5, 6, 7, 8};
  ex.positions = {{"S2", 1}};
  EXPECT_EQ(ProbePosition{"last"}.resolve(ex, 0), std::vector<int64_t>{3});
  EXPECT_EQ(ProbePosition{"every"}.resolve(ex, 0), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(ProbePosition{"-2"}.resolve(ex, 0), std::vector<int64_t>{2});
  EXPECT_EQ(ProbePosition{"0"}.resolve(ex, 0), std::vector<int64_t>{0});
  EXPECT_EQ(ProbePosition{"S2"}.resolve(ex, 0), std::vector<int64_t>{1});
  EXPECT_THROW(ProbePosition{"4"}.resolve(ex, 0), Error);
  EXPECT_THROW(ProbePosition{"-5"}.resolve(ex, 0), Error);
  EXPECT_THROW(ProbePosition{"IO"}.resolve(ex, 0), Error);
  ex.tokens.clear();
  EXPECT_THROW(ProbePosition{"last"}.resolve(ex, 0), Error);
}

}  // namespace
