// Ground truth: what the analysis techniques must find in the shipped model
// organisms, whose mechanisms are known in advance (DESIGN.md §6). The
// prompts are the probes each organism's manifest entry stores.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::analysis;
namespace fs = std::filesystem;

namespace {

struct Probe {
  std::vector<int32_t> clean, corrupt;
  int32_t answer = -1, wrong = -1;
};

// The shipped organism, or a skip (tests/zoo requires every organism to ship).
#define LOAD_ORGANISM(var, name)                                                                 \
  const fs::path var##_dir = fs::path(zoo::models_dir()) / name;                                 \
  if (!fs::exists(var##_dir / "model.safetensors")) GTEST_SKIP() << name << " is not shipped"; \
  const Model var = Model::load(var##_dir.string())

int32_t single_token(const Tokenizer& tok, const std::string& s) {
  const auto ids = tok.encode(s, /*add_special=*/false);
  EXPECT_EQ(ids.size(), 1u) << s;
  return ids.at(0);
}

std::vector<Probe> probes(const Model& m, const std::string& name) {
  const auto entry = zoo::read_manifest()["organisms"][name];
  std::vector<Probe> out;
  for (const auto& p : entry.at("probes")) {
    const Tokenizer& tok = *m.tokenizer();
    out.push_back({tok.encode(p["clean"].get<std::string>()), tok.encode(p["corrupt"].get<std::string>()),
                   single_token(tok, p["answer"]), single_token(tok, p["wrong"])});
    EXPECT_EQ(out.back().clean.size(), out.back().corrupt.size()) << p.dump();
  }
  return out;
}

PatchingOptions logit_diff(const Probe& p) {
  PatchingOptions o;
  o.metric.answer = {p.answer};
  o.metric.wrong = {p.wrong};
  return o;
}

TEST(OrganismGroundTruth, InductionDetectorsRankThePreviousTokenHeadInLayer0AndTheInductionHeadInLayer1) {
  LOAD_ORGANISM(m, "induction");
  Engine e(m);
  const Batch b = repeated_random_tokens(m.config().d_vocab, 20, 8, 3, m.tokenizer()->bos_id());
  HeadDetectorOptions o;
  o.matched_rows_only = true;
  const auto s = head_detection_scores(e, b, {HeadPattern::PreviousToken, HeadPattern::Induction}, o);
  const auto prev = s[0].ranked().front(), ind = s[1].ranked().front();
  EXPECT_EQ(prev.first, 0) << s[0].to_json();
  EXPECT_EQ(ind.first, 1) << s[1].to_json();
  EXPECT_GT(s[0].at(prev.first, prev.second), 0.5f) << s[0].to_json();
  EXPECT_GT(s[1].at(ind.first, ind.second), 0.5f) << s[1].to_json();
}

// Pooled over the residual-stream grids (resid_pre, resid_mid, resid_post
// by layer x position) of both probes.
TEST(OrganismGroundTruth, IoiAttributionPatchingTracksActivationPatchingOnTheResidualStream) {
  LOAD_ORGANISM(m, "ioi");
  Engine e(m);
  std::vector<float> act_all, att_all;
  for (const Probe& p : probes(m, "ioi")) {
    const Batch clean = Batch::single(p.clean), corrupt = Batch::single(p.corrupt);
    const std::vector<Site> sites = {Site::resid_pre, Site::resid_mid, Site::resid_post};
    const auto act = activation_patching(e, clean, corrupt, sites, logit_diff(p));
    const auto att = attribution_patching(e, clean, corrupt, sites, logit_diff(p));
    ASSERT_GT(act[0].clean, 2.0) << "the organism should answer the probe";
    for (size_t i = 0; i < sites.size(); ++i) {
      act_all.insert(act_all.end(), act[i].values.begin(), act[i].values.end());
      att_all.insert(att_all.end(), att[i].values.begin(), att[i].values.end());
    }
  }
  EXPECT_GE(correlation(act_all, att_all), 0.9);
}

// The heads activation patching finds (z, by head) are the ones EAP-IG's
// circuit routes the logit difference through; that circuit keeps >= 80% of
// the logit difference with a small fraction of the edges, and ACDC's
// circuit, found by ablation rather than gradients, overlaps it.
TEST(OrganismGroundTruth, IoiPatchingEapIgAndAcdcAgreeOnASmallFaithfulCircuit) {
  LOAD_ORGANISM(m, "ioi");
  Engine e(m);
  const Probe p = probes(m, "ioi").at(0);
  const Batch clean = Batch::single(p.clean), corrupt = Batch::single(p.corrupt);
  const PatchGrid z = activation_patching(e, clean, corrupt, Site::z, logit_diff(p));

  CircuitOptions co;
  co.metric = logit_diff(p).metric;
  co.target_faithfulness = 0.8;
  const Circuit eap = discover_circuit(e, clean, corrupt, co);
  EXPECT_GE(eap.circuit_faithfulness, 0.8);
  EXPECT_LE(double(eap.n_kept()), 0.2 * double(eap.edges.size())) << eap.n_kept() << " of " << eap.edges.size();

  // The two heads with the largest patching effect are in the EAP-IG circuit.
  std::vector<size_t> order(z.values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return z.values[a] > z.values[b]; });
  for (size_t k = 0; k < 2; ++k) {
    const CircuitNode head_node{NodeKind::Head, int(order[k] / size_t(z.n_cols)), int(order[k] % size_t(z.n_cols))};
    const std::string head = head_node.name();
    bool in_circuit = false;
    for (const auto& ed : eap.edges)
      in_circuit |= ed.kept && (eap.nodes[size_t(ed.from)].name() == head || eap.nodes[size_t(ed.to)].name() == head);
    EXPECT_TRUE(in_circuit) << head << " (patching effect " << z.values[order[k]] << ") is not in the circuit";
  }

  co.method = CircuitMethod::ACDC;
  co.criterion = CircuitCriterion::Metric;  // |normalised logit-difference change| < tau
  co.threshold = 0.02;
  const Circuit acdc = discover_circuit(e, clean, corrupt, co);
  EXPECT_GE(acdc.circuit_faithfulness, 0.8);
  // Most of ACDC's edges are among EAP-IG's top edges of the same number.
  const auto n = static_cast<size_t>(acdc.n_kept());
  ASSERT_GT(n, 0u);
  std::vector<size_t> by_score(eap.edges.size());
  for (size_t i = 0; i < by_score.size(); ++i) by_score[i] = i;
  std::sort(by_score.begin(), by_score.end(),
            [&](size_t a, size_t b) { return std::abs(eap.edges[a].score) > std::abs(eap.edges[b].score); });
  size_t shared = 0;
  for (size_t i = 0; i < std::min(n, by_score.size()); ++i) shared += acdc.edges[by_score[i]].kept;
  EXPECT_GE(double(shared), 0.5 * double(n)) << shared << " of ACDC's " << n << " edges";
}

// ACDC with its edge-ablated runs batched finds on ioi the circuit one run per
// pass finds, with the same scores, in fewer passes.
TEST(OrganismGroundTruth, IoiBatchedAcdcMatchesOneRunPerPass) {
  LOAD_ORGANISM(m, "ioi");
  Engine e(m);
  const Probe p = probes(m, "ioi").at(0);
  const Batch clean = Batch::single(p.clean), corrupt = Batch::single(p.corrupt);
  CircuitOptions co;
  co.method = CircuitMethod::ACDC;
  co.metric = logit_diff(p).metric;
  co.criterion = CircuitCriterion::Metric;
  co.threshold = 0.02;
  const Circuit batched = discover_circuit(e, clean, corrupt, co);
  co.batch_bytes = 0;
  const Circuit single = discover_circuit(e, clean, corrupt, co);
  ASSERT_EQ(batched.edges.size(), single.edges.size());
  for (size_t i = 0; i < single.edges.size(); ++i) {
    EXPECT_EQ(batched.edges[i].kept, single.edges[i].kept) << single.edge_name(single.edges[i]);
    EXPECT_NEAR(batched.edges[i].score, single.edges[i].score, 1e-4) << single.edge_name(single.edges[i]);
  }
  EXPECT_NEAR(batched.circuit_metric, single.circuit_metric, 1e-4 * std::max(1.0, std::fabs(single.circuit_metric)));
  EXPECT_GT(single.n_kept(), 0);
  EXPECT_LT(batched.forward_runs * 4, single.forward_runs);
}

// Causal tracing (Meng et al. 2022) on the facts organism: with the subject
// corrupted, restoring one activation at a time shows where the fact lives.
// The subject's information sits at the subject tokens before layer 0 and
// mostly at the final token from layer 1 on (the first name keeps a little);
// the MLPs that restore the fact most are at the final token (this organism
// recalls where the relation is known, unlike ROME's GPT-2 XL).
TEST(OrganismGroundTruth, FactsCausalTraceMovesTheSubjectToTheFinalTokenWhereMlpsRecall) {
  LOAD_ORGANISM(m, "facts");
  Engine e(m);
  for (const Probe& p : probes(m, "facts")) {
    const Batch clean = Batch::single(p.clean), corrupt = Batch::single(p.corrupt);
    const auto g = activation_patching(e, clean, corrupt, {Site::resid_pre, Site::mlp_out}, logit_diff(p));
    const PatchGrid &resid = g[0], &mlp = g[1];
    ASSERT_GT(resid.clean, 1.0) << "the organism should know the fact";
    const int64_t T = resid.n_cols, L = resid.n_layers;
    std::vector<bool> subject(size_t(T), false);  // where the two prompts differ
    for (size_t i = 0; i < p.clean.size(); ++i) subject[i] = p.clean[i] != p.corrupt[i];
    for (int64_t t = 0; t < T; ++t)
      if (!subject[size_t(t)]) {
        EXPECT_NEAR(resid.at(0, t), 0.f, 1e-4) << "position " << t << " before layer 0";
      }
    EXPECT_GT(resid.at(L - 1, T - 1), 0.75f) << resid.to_json();
    for (int64_t l = 1; l < L; ++l)
      for (int64_t t = 0; t < T; ++t)
        if (subject[size_t(t)]) {
          EXPECT_LT(resid.at(l, t), 0.25f) << "the subject matters after layer 0: " << resid.to_json();
          EXPECT_LT(resid.at(l, t), resid.at(l, T - 1)) << "layer " << l << ": " << resid.to_json();
        }
    const auto best = std::max_element(mlp.values.begin(), mlp.values.end()) - mlp.values.begin();
    EXPECT_EQ(best % mlp.n_cols, T - 1) << mlp.to_json();
  }
}

}  // namespace
