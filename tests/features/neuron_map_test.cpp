#include "glassbox/features/neuron_map.h"

#include <gtest/gtest.h>

#include "collect_test_util.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/collect.h"
#include "glassbox/features/model_stream.h"

namespace glassbox::features {
namespace {

TEST(NeuronMap, IsTheIdentityOnHookPostWithWOutRowsAsDirections) {
  const Model m = Model::load(dashtest::tiny_lm_dir());
  const NeuronMap n = NeuronMap::from_hook(m, "blocks.1.mlp.hook_post");
  EXPECT_EQ(n.hook_name(), "blocks.1.mlp.hook_post");
  EXPECT_EQ(n.layer(), 1);
  EXPECT_EQ(n.n_features(), m.config().d_mlp);
  EXPECT_EQ(n.d_in(), m.config().d_mlp);
  std::vector<float> x(size_t(2 * n.d_in())), f(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(i) * 0.5f - 3.f;
  n.encode(x.data(), 2, f.data());
  EXPECT_EQ(f, x);
  const MatRef& W = m.weights().layers[1].W_out;
  for (int64_t j : {int64_t(0), int64_t(7), n.n_features() - 1}) {
    const std::vector<float> d = n.output_direction(j);
    ASSERT_EQ(int64_t(d.size()), m.config().d_model);
    for (int64_t i = 0; i < m.config().d_model; ++i) EXPECT_EQ(d[size_t(i)], W.data[j * W.rs + i * W.cs]);
  }
  EXPECT_THROW(n.output_direction(n.n_features()), Error);
}

TEST(NeuronMap, RejectsSitesThatAreNotNeuronsAndMissingLayers) {
  const Model m = Model::load(dashtest::tiny_lm_dir());
  EXPECT_THROW(NeuronMap::from_hook(m, "blocks.1.hook_resid_post"), Error);
  EXPECT_THROW(NeuronMap::from_hook(m, "blocks.9.mlp.hook_post"), Error);
  EXPECT_THROW(NeuronMap(m, -1), Error);
  EXPECT_THROW(NeuronMap(m, m.config().n_layers), Error);
}

TEST(NeuronMap, DashboardsOfNeuronsFindTheirStrongestTokens) {
  const Model m = Model::load(dashtest::tiny_lm_dir());
  std::vector<int32_t> toks = tokenize_text_file(*m.tokenizer(), dashtest::fortune_file("computers"), true);
  toks.resize(600);
  const NeuronMap n(m, 0);
  CollectOptions o;
  o.top_k = 3;
  Engine e(m);
  const Dashboards d = collect_dashboards(e, n, toks, o);
  ASSERT_EQ(d.examples.size(), size_t(m.config().d_mlp));
  // GELU neurons are active on a good part of the tokens; every one has top
  // contexts and logit effects (W_out rows are d_model long).
  int64_t with_top = 0;
  for (size_t j = 0; j < d.examples.size(); ++j) {
    with_top += !d.examples[j].top.empty();
    EXPECT_EQ(d.data.features[j].top_logits.size(), 10u);
    if (!d.examples[j].top.empty()) {
      EXPECT_FLOAT_EQ(d.examples[j].top[0].max_act(), d.data.features[j].max_act);
    }
  }
  EXPECT_GT(with_top, int64_t(d.examples.size()) * 9 / 10);
}

}  // namespace
}  // namespace glassbox::features
