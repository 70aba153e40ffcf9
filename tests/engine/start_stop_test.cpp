// ForwardOptions::start_at_layer / stop_at_layer (TransformerLens' names):
// a pass from layer l fed the residual stream there computes exactly what the
// full pass computes from l on, forward and backward, on every family.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "test_util.h"

using namespace glassbox;
using gbtest::fixture;

namespace {

// Fixtures: gpt2 (learned positions, LayerNorm), neox (rotary, parallel residual),
// llama (gated MLP, RMSNorm, grouped-query), attn-only (no MLP, no norm).
const char* const kFamilies[] = {"gpt2", "neox", "llama", "attn-only"};

ForwardResult full_run(Engine& e, const Batch& b) {
  const Config& c = e.model().config();
  ForwardOptions fo;
  for (int l = 0; l < c.n_layers; ++l) fo.keep.insert({Site::resid_pre, l});
  fo.keep.insert({Site::resid_post, c.n_layers - 1});
  return e.forward(b, nullptr, nullptr, fo);
}

// The residual stream entering layer l of a full run (l == n_layers: the last resid_post).
const Tensor& stream_at(const ForwardResult& full, int l, const Config& c) {
  return l < c.n_layers ? full.get({Site::resid_pre, l}) : full.get({Site::resid_post, l - 1});
}

// fn(family, engine, one-row batch of 6 tokens, the full run keeping every layer's stream).
template <class Fn>
void for_each_family(Fn fn) {
  for (const char* fam : kFamilies) {
    const Model m = Model::load(fixture(fam));
    Engine e(m);
    const Batch b = Batch::single(gbtest::some_tokens(6, m.config().d_vocab));
    const ForwardResult full = full_run(e, b);
    fn(fam, e, b, full);
  }
}

TEST(StartStop, StartingAtAnyLayerGivesTheFullRunsLogitsExactly) {
  for (const char* fam : kFamilies) {
    const Model m = Model::load(fixture(fam));
    Engine e(m);
    const Config& c = m.config();
    const Batch b = Batch::from_rows({gbtest::some_tokens(7, c.d_vocab, 1), gbtest::some_tokens(7, c.d_vocab, 2)});
    const ForwardResult full = full_run(e, b);
    for (int l = 0; l <= c.n_layers; ++l) {
      ForwardOptions fo;
      fo.start_at_layer = l;
      fo.start_resid = stream_at(full, l, c).f32();  // at 0: the embeddings' sum, given instead of computed
      const ForwardResult r = e.forward(b, nullptr, nullptr, fo);
      ASSERT_EQ(r.logits.shape, full.logits.shape);
      EXPECT_EQ(std::memcmp(r.logits.f32(), full.logits.f32(), full.logits.nbytes()), 0) << fam << " from layer " << l;
    }
  }
}

TEST(StartStop, HooksFireOnlyFromTheStartLayerOn) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  const Config& c = m.config();
  const Batch b = Batch::single(gbtest::some_tokens(5, c.d_vocab));
  const ForwardResult full = full_run(e, b);
  HookRegistry reg(c);
  std::vector<HookPoint> seen;
  const HookHandle h = reg.add("*", [&](TensorView&, const HookContext& ctx) { seen.push_back(ctx.point); });
  ForwardOptions fo;
  fo.start_at_layer = 1;
  fo.start_resid = full.get({Site::resid_pre, 1}).f32();
  e.forward(b, &reg, nullptr, fo);
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front(), (HookPoint{Site::resid_pre, 1}));
  for (const HookPoint& p : seen) EXPECT_TRUE(p.layer >= 1 || p.site == Site::ln_final_scale ||
                                              p.site == Site::ln_final_normalized) << p.name();
}

TEST(StartStop, StoppingReturnsTheResidualStreamEnteringTheStopLayer) {
  for_each_family([](const char* fam, Engine& e, const Batch& b, const ForwardResult& full) {
    const Config& c = e.model().config();
    for (int l = 0; l <= c.n_layers; ++l) {
      ForwardOptions fo;
      fo.stop_at_layer = l;
      const ForwardResult r = e.forward(b, nullptr, nullptr, fo);
      EXPECT_FALSE(r.logits.storage) << fam;
      const Tensor& want = stream_at(full, l, c);
      ASSERT_EQ(r.resid.shape, want.shape);
      EXPECT_EQ(std::memcmp(r.resid.f32(), want.f32(), want.nbytes()), 0) << fam << " stopped at " << l;
    }
  });
}

TEST(StartStop, BackwardFromTheStartLayerMatchesTheFullBackward) {
  for_each_family([](const char* fam, Engine& e, const Batch& b, const ForwardResult& full0) {
    const Config& c = e.model().config();
    const int start = c.n_layers - 1;
    std::vector<float> start_resid = full0.get({Site::resid_pre, start}).to_f32_vector();

    auto grads_of = [&](int from, std::vector<float>* d_start) {
      HookRegistry reg(c);
      std::map<HookPoint, std::vector<float>> g;
      const HookHandle h = reg.add("blocks.*", [&](TensorView& a, const HookContext& ctx) {
        g[ctx.point].assign(a.data, a.data + a.numel());
      }, HookMode::Grad);
      ForwardOptions fo;
      fo.for_backward = true;
      fo.start_at_layer = from;
      if (from > 0) fo.start_resid = start_resid.data();
      const ForwardResult r = e.forward(b, &reg, nullptr, fo);
      std::vector<float> dlogits(size_t(r.logits.numel()));
      for (size_t i = 0; i < dlogits.size(); ++i) dlogits[i] = float(int(i % 7) - 3) * 0.25f;
      if (d_start) d_start->resize(start_resid.size());
      e.backward(b, r, dlogits.data(), &reg, nullptr, d_start ? d_start->data() : nullptr);
      return g;
    };
    const auto all = grads_of(0, nullptr);
    std::vector<float> d_start;
    const auto part = grads_of(start, &d_start);
    for (const auto& [p, g] : part) {
      EXPECT_GE(p.layer, start) << fam << " " << p.name();
      ASSERT_TRUE(all.count(p)) << p.name();
      EXPECT_EQ(g, all.at(p)) << fam << " " << p.name();
    }
    EXPECT_EQ(d_start, all.at({Site::resid_pre, start})) << fam;
  });
}

TEST(StartStop, RejectsInconsistentOptions) {
  const Model m = Model::load(fixture("gpt2"));
  Engine e(m);
  const Config& c = m.config();
  const Batch b = Batch::single(gbtest::some_tokens(4, c.d_vocab));
  std::vector<float> resid(size_t(4 * c.d_model), 0.f);
  auto fails_with = [&](ForwardOptions fo, const std::string& what) {
    try {
      e.forward(b, nullptr, nullptr, fo);
      ADD_FAILURE() << "no error for " << what;
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(what), std::string::npos) << err.what();
    }
  };
  ForwardOptions fo;
  fo.start_at_layer = 1;
  fails_with(fo, "needs start_resid");
  fo.start_at_layer = c.n_layers + 1;
  fo.start_resid = resid.data();
  fails_with(fo, "start_at_layer");
  fo = {};
  fo.start_at_layer = 1;
  fo.start_resid = resid.data();
  fo.stop_at_layer = 0;
  fails_with(fo, "stop_at_layer 0 is out of range");
  fo = {};
  fo.stop_at_layer = 1;
  fo.for_backward = true;
  fails_with(fo, "kept for backward");
}

}  // namespace
