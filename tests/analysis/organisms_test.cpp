// Ground truth: what the analysis techniques must find in the shipped model
// organisms, whose mechanisms are known in advance (DESIGN.md §6). The
// prompts are the probes each organism's manifest entry stores.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/cache.h"
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

size_t last_index_of(const std::vector<int32_t>& v, int32_t x) {
  return static_cast<size_t>(std::find(v.rbegin(), v.rend(), x).base() - v.begin()) - 1;
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

TEST(OrganismGroundTruth, IoiAttributionPatchingTracksActivationPatchingOnTheResidualStream) {
  LOAD_ORGANISM(m, "ioi");
  Engine e(m);
  for (const Probe& p : probes(m, "ioi")) {
    const Batch clean = Batch::single(p.clean), corrupt = Batch::single(p.corrupt);
    const std::vector<Site> sites = {Site::resid_pre, Site::resid_mid, Site::resid_post};
    const auto act = activation_patching(e, clean, corrupt, sites, logit_diff(p));
    const auto att = attribution_patching(e, clean, corrupt, sites, logit_diff(p));
    ASSERT_GT(act[0].clean, 2.0) << "the organism should answer the probe";
    for (size_t i = 0; i < sites.size(); ++i)
      EXPECT_GE(correlation(act[i], att[i]), 0.9) << act[i].hook;
  }
}

// Name movers: the heads whose output carries the answer attend from the
// final position to the indirect object, not to the subject.
TEST(OrganismGroundTruth, IoiHeadsThatMoveTheNameAttendFromTheEndToTheIndirectObject) {
  LOAD_ORGANISM(m, "ioi");
  Engine e(m);
  const Probe p = probes(m, "ioi").at(0);
  const PatchGrid z = activation_patching(e, Batch::single(p.clean), Batch::single(p.corrupt), Site::z, logit_diff(p));
  const auto best = std::max_element(z.values.begin(), z.values.end()) - z.values.begin();
  const int layer = int(best / z.n_cols), head = int(best % z.n_cols);
  EXPECT_GT(z.values[size_t(best)], 0.2f) << z.to_json();
  CacheOptions co;
  co.names = {"blocks." + std::to_string(layer) + ".attn.hook_pattern"};
  const ActivationCache c = run_with_cache(e, Batch::single(p.clean), co);
  const Tensor& pat = c[co.names[0]];
  const int64_t T = int64_t(p.clean.size());
  const float* row = pat.f32() + (head * T + (T - 1)) * T;  // [1, H, T, T]: the last query
  const size_t io = last_index_of(p.clean, p.answer), s = last_index_of(p.clean, p.wrong);
  EXPECT_GT(row[io], row[s]) << "L" << layer << "H" << head << " attends to S more than to IO";
  EXPECT_GT(row[io], 0.3f) << "L" << layer << "H" << head;
}

// Causal tracing (Meng et al. 2022): with the subject corrupted, restoring
// one MLP output at a time recovers the fact most at the last subject token.
TEST(OrganismGroundTruth, FactsCausalTracePeaksAtTheLastSubjectToken) {
  LOAD_ORGANISM(m, "facts");
  Engine e(m);
  for (const Probe& p : probes(m, "facts")) {
    const PatchGrid g =
        activation_patching(e, Batch::single(p.clean), Batch::single(p.corrupt), Site::mlp_out, logit_diff(p));
    ASSERT_GT(g.clean, 1.0) << "the organism should know the fact";
    // The subject is the span where the two prompts differ; its last token:
    size_t last_subject = 0;
    for (size_t i = 0; i < p.clean.size(); ++i)
      if (p.clean[i] != p.corrupt[i]) last_subject = i;
    const auto best = std::max_element(g.values.begin(), g.values.end()) - g.values.begin();
    EXPECT_EQ(best % g.n_cols, int64_t(last_subject)) << g.to_json();
    EXPECT_LT(best / g.n_cols, g.n_layers - 1) << "peak in the last layer, not mid-depth: " << g.to_json();
  }
}

}  // namespace
