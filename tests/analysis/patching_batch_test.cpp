// Batched patching: patched runs as the rows of one batch, logits narrowed to
// what the metric reads. Every result is checked against the exact reference
// (reuse_prefix = reuse_positions = false: one full forward per cell).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "analysis_test_util.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/analysis/path_patching.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::analysis;
namespace fs = std::filesystem;

namespace {

float worst_diff(const PatchGrid& a, const PatchGrid& b) {
  EXPECT_EQ(a.values.size(), b.values.size());
  float worst = 0;
  for (size_t j = 0; j < a.values.size() && j < b.values.size(); ++j)
    worst = std::max(worst, std::fabs(a.values[j] - b.values[j]));
  return worst;
}

// ForwardOptions::logit_positions / logit_tokens give the same numbers as the full logits.
TEST(ChosenLogits, EqualTheFullLogitsAtThoseRowsAndColumns) {
  for (const char* name : {"gpt2", "llama"}) {
    const Model m = Model::load(antest::fixture(name));
    Engine e(m);
    const int32_t V = m.config().d_vocab;
    const Batch b = Batch::from_rows({antest::random_tokens(6, V, 3), antest::random_tokens(6, V, 4)});
    const Tensor full = e.forward(b).logits;  // [2, 6, V]
    const std::vector<int64_t> pos = {4, -1, 0};
    const std::vector<int32_t> toks = {V - 1, 2, 0};
    for (int variant = 0; variant < 3; ++variant) {
      ForwardOptions o;
      if (variant != 1) o.logit_positions = pos;
      if (variant != 0) o.logit_tokens = toks;
      const Tensor t = e.forward(b, nullptr, nullptr, o).logits;
      const int64_t P = variant == 1 ? 6 : 3, C = variant == 0 ? V : 3;
      ASSERT_EQ(t.shape, (Shape{2, P, C})) << name << " variant " << variant;
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t i = 0; i < P; ++i)
          for (int64_t j = 0; j < C; ++j) {
            const int64_t tp = variant == 1 ? i : (pos[size_t(i)] + 6) % 6;
            const int64_t tok = variant == 0 ? j : toks[size_t(j)];
            const float want = full.f32()[(r * 6 + tp) * V + tok], got = t.f32()[(r * P + i) * C + j];
            ASSERT_NEAR(got, want, 1e-5f * std::max(1.f, std::fabs(want))) << name << " " << r << "," << i << "," << j;
          }
    }
  }
}

TEST(ChosenLogits, RejectsBadPositionsTokensAndModes) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const Batch b = Batch::single({1, 2, 3});
  ForwardOptions o;
  o.logit_positions = {3};
  EXPECT_THROW(e.forward(b, nullptr, nullptr, o), Error);
  o.logit_positions = {-4};
  EXPECT_THROW(e.forward(b, nullptr, nullptr, o), Error);
  o.logit_positions = {1};
  o.logit_tokens = {m.config().d_vocab};
  EXPECT_THROW(e.forward(b, nullptr, nullptr, o), Error);
  o.logit_tokens = {0};
  o.logits = LogitsMode::Last;
  EXPECT_THROW(e.forward(b, nullptr, nullptr, o), Error);
}

PatchingOptions opts(MetricKind kind, int64_t pos, bool reuse) {
  PatchingOptions o;
  o.metric.kind = kind;
  o.metric.pos = pos;
  o.metric.answer = {1, 6};
  if (kind == MetricKind::LogitDiff) o.metric.wrong = {2};
  o.reuse_prefix = o.reuse_positions = reuse;
  return o;
}

// Batched in one pass per layer, grouped by start position, unbatched, with
// and without skipping: all equal the reference to rounding; batching runs fewer passes.
TEST(BatchedPatching, EqualsTheReferenceOnEverySiteAndMetric) {
  const std::vector<Site> all = {Site::resid_pre, Site::attn_out, Site::mlp_out, Site::resid_mid, Site::resid_post,
                                 Site::z, Site::q, Site::k, Site::v, Site::pattern, Site::result};
  for (const char* name : {"gpt2", "llama", "neox", "attn-only"}) {
    const Model m = Model::load(antest::fixture(name));
    Engine e(m);
    const int32_t V = m.config().d_vocab;
    Batch clean = Batch::from_rows({antest::random_tokens(7, V, 1), antest::random_tokens(7, V, 2)});
    clean.mask = {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1};  // some padding
    Batch corrupt = clean;
    corrupt.tokens[3] = (corrupt.tokens[3] + 1) % V;
    corrupt.tokens[7 + 4] = (corrupt.tokens[7 + 4] + 3) % V;
    std::vector<Site> sites;
    for (Site s : all)
      if (site_exists(s, m.config())) sites.push_back(s);
    for (auto [kind, pos] : {std::pair{MetricKind::LogitDiff, int64_t(-1)}, std::pair{MetricKind::LogProb, int64_t(5)}}) {
      const auto ref = activation_patching(e, clean, corrupt, sites, opts(kind, pos, false));
      PatchingOptions one_batch = opts(kind, pos, true), grouped = one_batch, single = one_batch, no_skip = one_batch,
                      layers = one_batch;
      one_batch.batch_overhead_rows = 1 << 20;
      grouped.batch_overhead_rows = 0;
      single.batch_bytes = 0;
      no_skip.skip_unchanged = false;
      layers.reuse_positions = false;
      for (const PatchingOptions* o : {&one_batch, &grouped, &single, &no_skip, &layers}) {
        const auto g = activation_patching(e, clean, corrupt, sites, *o);
        ASSERT_EQ(g.size(), ref.size());
        for (size_t i = 0; i < ref.size(); ++i) {
          EXPECT_LE(worst_diff(g[i], ref[i]), 5e-5f) << name << " " << g[i].hook << " pos " << pos << " overhead "
                                                    << o->batch_overhead_rows << " bytes " << o->batch_bytes;
          if (o == &single) {  // one cell per pass: fewer only where cells are skipped
            EXPECT_LE(g[i].forward_runs, ref[i].forward_runs) << name << " " << g[i].hook;
          } else {
            EXPECT_LT(g[i].forward_runs, ref[i].forward_runs) << name << " " << g[i].hook;
          }
          if (o == &one_batch) {
            EXPECT_LE(g[i].forward_runs, m.config().n_layers) << name << " " << g[i].hook;
          }
        }
      }
    }
  }
}

// A byte budget of one cell's activations runs one cell per pass and gives the same grid.
TEST(BatchedPatching, ByteBudgetBoundsTheRowsOfABatch) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const int32_t V = m.config().d_vocab;
  const Batch clean = Batch::single(antest::random_tokens(8, V, 7));
  Batch corrupt = clean;
  corrupt.tokens[0] = (corrupt.tokens[0] + 1) % V;
  PatchingOptions big = opts(MetricKind::LogitDiff, -1, true);
  big.metric.answer = {1};
  PatchingOptions tiny = big;
  big.batch_overhead_rows = tiny.batch_overhead_rows = 1 << 20;
  tiny.batch_bytes = 1;
  const PatchGrid a = activation_patching(e, clean, corrupt, Site::resid_pre, big);
  const PatchGrid b = activation_patching(e, clean, corrupt, Site::resid_pre, tiny);
  EXPECT_EQ(a.forward_runs, m.config().n_layers);
  ASSERT_EQ(m.config().n_layers, 2);
  // One cell per pass. The corrupted token is at 0: layer 0's stream differs
  // there only (the other 7 cells are skipped), layer 1's everywhere.
  EXPECT_EQ(b.forward_runs, 1 + 8);
  EXPECT_LE(worst_diff(a, b), 1e-5f);
  PatchingOptions bad = big;
  bad.batch_overhead_rows = -1;
  EXPECT_THROW(activation_patching(e, clean, corrupt, Site::resid_pre, bad), Error);
}

// path_patching's batched grid (heads of a layer as copies, steps b and c from
// the senders' / receivers' layers) equals path_patch's full forwards per head.
TEST(BatchedPathPatching, GridEqualsOnePathPatchPerHead) {
  for (const char* name : {"gpt2", "llama"}) {
    const Model m = Model::load(antest::fixture(name));
    const Config& c = m.config();
    Engine e(m);
    const int32_t V = c.d_vocab;
    const Batch clean = Batch::from_rows({antest::random_tokens(6, V, 11), antest::random_tokens(6, V, 12)});
    Batch corrupt = clean;
    corrupt.tokens[1] = (corrupt.tokens[1] + 1) % V;
    corrupt.tokens[6 + 2] = (corrupt.tokens[6 + 2] + 5) % V;
    const int L = c.n_layers;
    for (bool freeze : {false, true}) {
      PathPatchingOptions o;
      o.metric.answer = {3};
      o.metric.wrong = {4};
      o.metric.normalize = false;
      o.freeze_mlps = freeze;
      const std::vector<PathReceiver> to = {PathReceiver::head_input(L - 1, 0, Site::v), PathReceiver::resid_final()};
      const PatchGrid g = path_patching(e, clean, corrupt, to, o);
      EXPECT_EQ(g.forward_runs, 2 * L) << name;  // one batch per sender layer (the last reaches the logits), steps b and c
      for (int l = 0; l < L - 1; ++l)
        for (int h = 0; h < c.n_heads; ++h) {
          const double one = path_patch(e, clean, corrupt, {{l, h}}, to, o);
          EXPECT_NEAR(g.at(l, h), one, 1e-5 * std::max(1.0, std::fabs(one))) << name << " L" << l << "H" << h;
        }
      o.batch_bytes = 0;  // one sender per pass: the same grid
      EXPECT_LE(worst_diff(path_patching(e, clean, corrupt, to, o), g), 1e-5f) << name;
    }
  }
}

// The ioi organism: its residual-stream and head grids, batched, equal the reference.
TEST(BatchedPatching, EqualsTheReferenceOnIoi) {
  const fs::path dir = fs::path(zoo::models_dir()) / "ioi";
  if (!fs::exists(dir / "model.safetensors")) GTEST_SKIP() << "ioi is not shipped";
  const Model m = Model::load(dir.string());
  Engine e(m);
  const auto probe = zoo::read_manifest()["organisms"]["ioi"].at("probes").at(0);
  const Tokenizer& tok = *m.tokenizer();
  const Batch clean = Batch::single(tok.encode(probe["clean"].get<std::string>()));
  const Batch corrupt = Batch::single(tok.encode(probe["corrupt"].get<std::string>()));
  PatchingOptions o;
  o.metric.answer = {tok.encode(probe["answer"].get<std::string>(), false).at(0)};
  o.metric.wrong = {tok.encode(probe["wrong"].get<std::string>(), false).at(0)};
  PatchingOptions ref = o;
  ref.reuse_prefix = ref.reuse_positions = false;
  const std::vector<Site> sites = {Site::resid_pre, Site::attn_out, Site::z};
  const auto a = activation_patching(e, clean, corrupt, sites, o);
  const auto r = activation_patching(e, clean, corrupt, sites, ref);
  for (size_t i = 0; i < r.size(); ++i) {
    EXPECT_LE(worst_diff(a[i], r[i]), 1e-4f) << r[i].hook;
    EXPECT_LE(a[i].forward_runs * 4, r[i].forward_runs) << r[i].hook;
  }
}

}  // namespace
