#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>

#include "analysis/edge_ablation.h"
#include "analysis_test_util.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/dla.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"

using namespace glassbox;
using namespace glassbox::analysis;

namespace {

// Every family: LayerNorm + GELU (gpt2), RMSNorm + SwiGLU + rotary with
// grouped-query attention (llama, qwen2 with q/k/v biases) and without
// (llama-tied), partial rotary with a parallel residual (neox) and a
// sequential one (neox-seq), attention-only (attn-only).
const char* const kFixtures[] = {"gpt2", "llama", "llama-tied", "qwen2", "neox", "neox-seq", "attn-only"};

struct Pair {
  Batch clean, corrupt;
};
Pair random_pair(int32_t V, unsigned seed) {
  Pair p{Batch::from_rows({antest::random_tokens(7, V, seed), antest::random_tokens(7, V, seed + 1)}), {}};
  p.corrupt = p.clean;
  for (size_t i : {1, 4, 7 + 2, 7 + 5}) p.corrupt.tokens[i] = (p.corrupt.tokens[i] + 11) % V;
  return p;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape, b.shape);
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, double(std::fabs(a.f32()[i] - b.f32()[i])));
  return m;
}
double max_abs(const Tensor& a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, double(std::fabs(a.f32()[i])));
  return m;
}

std::vector<bool> only(size_t E, size_t i) {
  std::vector<bool> f(E, false);
  f[i] = true;
  return f;
}

// A model without norms reads the logits linearly off the final residual.
Trainable no_norm_model(bool attn_only) {
  return Trainable::init({{"model_type", "hooked_transformer"}, {"n_layers", 2}, {"d_model", 32}, {"n_heads", 4},
                          {"d_head", 8}, {"d_mlp", 64}, {"d_vocab", 24}, {"n_ctx", 16}, {"attn_only", attn_only},
                          {"normalization_type", nullptr}, {"positional_embedding_type", "standard"}},
                         3);
}

PatchMetric logit_diff(std::vector<int32_t> a, std::vector<int32_t> b, bool normalize = true) {
  PatchMetric m;
  m.answer = std::move(a);
  m.wrong = std::move(b);
  m.normalize = normalize;
  return m;
}

using antest::Induction;
// The previous-token head moves each token's value one position on; the
// induction head keys on that, and copies the token's value to the logits.
const std::set<std::string> kInductionCircuit = {"input->a0.h0<v>", "a0.h0->a1.h0<k>", "input->a1.h0<v>",
                                                 "a1.h0->logits"};

std::string edge_name(const Circuit& c, const CircuitEdge& e) { return c.edge_name(e); }

class CircuitFixture : public ::testing::TestWithParam<const char*> {
 protected:
  const Model m = Model::load(antest::fixture(GetParam()));
  const Config& c = m.config();
  Engine e{m};
  const Pair p = random_pair(c.d_vocab, 3);
  const CircuitGraph g = circuit_graph(c);
};

TEST(CircuitGraph, HasTheNodesAndEdgesOfThePapers) {
  const Model m = Model::load(antest::fixture("gpt2"));  // 2 layers, 4 heads, MLPs
  const CircuitGraph g = circuit_graph(m.config());
  ASSERT_EQ(g.nodes.size(), 1u + 2 * (4 + 1) + 1);
  EXPECT_EQ(g.nodes.front().name(), "input");
  EXPECT_EQ(g.nodes[1].name(), "a0.h0");
  EXPECT_EQ(g.nodes[5].name(), "m0");
  EXPECT_EQ(g.nodes.back().name(), "logits");
  // Into q, k and v of a0.* (input), m0 (input + 4 heads), q, k, v of a1.*
  // (input, 4 heads, m0), m1 (10), logits (11).
  EXPECT_EQ(g.receivers.size(), 4u * 3 + 1 + 4 * 3 + 1 + 1);
  EXPECT_EQ(g.edges.size(), 4u * 3 * 1 + 5 + 4 * 3 * 6 + 10 + 11);
  EXPECT_EQ(g.receiver_name(0), "a0.h0<q>");
  EXPECT_EQ(g.receiver_name(2), "a0.h0<v>");
  EXPECT_EQ(g.receiver_name(int(g.receivers.size()) - 1), "logits");
  for (const CircuitEdge& e : g.edges) {
    EXPECT_LT(e.from, e.to);
    EXPECT_EQ(g.receivers[size_t(e.receiver)].node, e.to);
    const CircuitNode &u = g.nodes[size_t(e.from)], &d = g.nodes[size_t(e.to)];
    EXPECT_FALSE(u.kind == NodeKind::Head && d.kind == NodeKind::Head && u.layer == d.layer);
  }
}

// Grouped-query attention: the key / value inputs are the kv head's, one per
// group; a parallel residual: MLP l reads what the heads of layer l read.
TEST(CircuitGraph, GroupedQueryAttentionAndParallelResidual) {
  const CircuitGraph gqa = circuit_graph(Model::load(antest::fixture("llama")).config());  // 4 heads, 2 kv heads
  EXPECT_EQ(gqa.kv_group, 2);
  std::vector<std::string> layer0;
  for (size_t r = 0; r < gqa.receivers.size() && gqa.nodes[size_t(gqa.receivers[r].node)].layer == 0; ++r)
    if (gqa.nodes[size_t(gqa.receivers[r].node)].kind == NodeKind::Head) layer0.push_back(gqa.receiver_name(int(r)));
  EXPECT_EQ(layer0, (std::vector<std::string>{"a0.h0<q>", "a0.kv0<k>", "a0.kv0<v>", "a0.h1<q>", "a0.h2<q>",
                                              "a0.kv1<k>", "a0.kv1<v>", "a0.h3<q>"}));
  const CircuitGraph par = circuit_graph(Model::load(antest::fixture("neox")).config());
  std::set<std::string> into_m0;
  for (const CircuitEdge& e : par.edges)
    if (par.receiver_name(e.receiver) == "m0") into_m0.insert(par.nodes[size_t(e.from)].name());
  EXPECT_EQ(into_m0, std::set<std::string>{"input"});
}

// Test 1: no edge ablated is the clean run, bit for bit (no hook is attached);
// every edge ablated (resample) is the corrupted run up to float rounding
// (the edited residuals are sums taken in another order).
TEST_P(CircuitFixture, NoEdgeIsTheCleanRunEveryEdgeIsTheCorruptedRun) {
  const size_t E = g.edges.size();
  const Tensor clean = e.logits(p.clean), corrupt = e.logits(p.corrupt);
  const Tensor none = run_with_ablated_edges(e, p.clean, p.corrupt, std::vector<bool>(E, false), AblationKind::Resample);
  EXPECT_EQ(max_abs_diff(none, clean), 0.0);
  const Tensor all = run_with_ablated_edges(e, p.clean, p.corrupt, std::vector<bool>(E, true), AblationKind::Resample);
  EXPECT_LT(max_abs_diff(all, corrupt), 2e-5 * std::max(1.0, max_abs(corrupt))) << GetParam();
  EXPECT_GT(max_abs_diff(clean, corrupt), 1e-2);  // the check can fail
  // With the clean prompt as its own source, every receiver's input is rebuilt from
  // the same values: the recomputed q / k / v / pre-activations are the engine's.
  const Tensor same = run_with_ablated_edges(e, p.clean, p.clean, std::vector<bool>(E, true), AblationKind::Resample);
  EXPECT_LT(max_abs_diff(same, clean), 2e-5 * std::max(1.0, max_abs(clean))) << GetParam();
}

// Ablating every edge into one receiver alone is patching that input from the
// corrupted run: a head's slice of hook_q, or its kv head's hook_k or hook_v,
// an MLP's hook_pre, the final residual.
TEST_P(CircuitFixture, AblatingEveryEdgeIntoAReceiverPatchesThatInputOnly) {
  const ActivationCache src = run_with_cache(e, p.corrupt);
  for (size_t r = 0; r < g.receivers.size(); ++r) {
    const CircuitNode& n = g.nodes[size_t(g.receivers[r].node)];
    if (n.kind == NodeKind::Head && n.head > 1) continue;  // heads 0 (owns k / v) and 1 (not under GQA) suffice
    std::vector<bool> flags(g.edges.size(), false);
    for (size_t i = 0; i < g.edges.size(); ++i) flags[i] = g.edges[i].receiver == int(r);
    const Tensor got = run_with_ablated_edges(e, p.clean, p.corrupt, flags, AblationKind::Resample);

    HookRegistry reg(c);
    std::vector<HookHandle> hs;
    auto patch = [&](HookPoint hp, int head) {
      const std::vector<float> v = src[hp.name()].to_f32_vector();
      hs.push_back(reg.add(hp, [v, head](TensorView& act, const HookContext&) {
        if (head < 0) return (void)std::copy(v.begin(), v.end(), act.data);
        const int64_t H = act.shape[2], dh = act.shape[3], rows = act.numel() / (H * dh);
        for (int64_t i = 0; i < rows; ++i) std::copy_n(v.data() + (i * H + head) * dh, dh, act.data + (i * H + head) * dh);
      }, HookMode::Replace));
    };
    switch (g.receivers[r].port) {
      case Port::Q: patch({Site::q, n.layer}, n.head); break;
      case Port::K: patch({Site::k, n.layer}, n.head / g.kv_group); break;
      case Port::V: patch({Site::v, n.layer}, n.head / g.kv_group); break;
      case Port::In:
        if (n.kind == NodeKind::Logits) {
          patch({Site::resid_post, c.n_layers - 1}, -1);
        } else {
          patch({Site::mlp_pre, n.layer}, -1);
          if (c.gated_mlp) patch({Site::mlp_pre_linear, n.layer}, -1);
        }
        break;
    }
    const Tensor want = e.logits(p.clean, &reg);
    EXPECT_LT(max_abs_diff(got, want), 2e-5 * std::max(1.0, max_abs(want))) << GetParam() << " " << g.receiver_name(int(r));
  }
}

// The head receivers' input gradients (each through its own q, k or v) and
// the MLP input gradients add up to the engine's residual-stream gradients.
TEST_P(CircuitFixture, ReceiverGradientsSumToTheResidualGradient) {
  const PatchMetric metric = logit_diff({3, 4}, {5, 6}, false);
  double v = 0;
  const auto grads = analysis::detail::receiver_grads(e, p.clean, g, metric, nullptr, &v);

  HookRegistry reg(c);
  std::map<std::string, std::vector<float>> ref;
  auto h = reg.add("blocks.*.hook_resid_*", [&ref](TensorView& gr, const HookContext& ctx) {
    ref[ctx.point.name()].assign(gr.data, gr.data + gr.numel());
  }, HookMode::Grad);
  ForwardOptions fo;
  fo.for_backward = true;
  const ForwardResult fwd = e.forward(p.clean, &reg, nullptr, fo);
  Tensor dl;
  EXPECT_DOUBLE_EQ(metric.value(fwd.logits, p.clean.T, &dl), v);
  e.backward(p.clean, fwd, dl.f32(), &reg);

  const int64_t n = p.clean.B * p.clean.T * c.d_model;
  auto check = [&](const std::vector<float>& sum, const std::vector<float>& want, const std::string& what) {
    double err = 0, scale = 1e-6;
    for (int64_t i = 0; i < n; ++i)
      err = std::max(err, double(std::fabs(sum[size_t(i)] - want[size_t(i)]))), scale = std::max(scale, double(std::fabs(want[size_t(i)])));
    EXPECT_LT(err, 1e-5 * scale) << GetParam() << " " << what;
  };
  auto add = [&](std::vector<float>& sum, int l, NodeKind kind) {
    for (size_t r = 0; r < g.receivers.size(); ++r) {
      const CircuitNode& node = g.nodes[size_t(g.receivers[r].node)];
      if (node.kind == kind && node.layer == l)
        for (int64_t j = 0; j < n; ++j) sum[size_t(j)] += grads[r][size_t(j)];
    }
  };
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blocks." + std::to_string(l) + ".";
    if (c.parallel_residual) {  // heads and MLP read resid_pre
      std::vector<float> sum = ref.at(b + "hook_resid_post");
      add(sum, l, NodeKind::Head);
      add(sum, l, NodeKind::Mlp);
      check(sum, ref.at(b + "hook_resid_pre"), "heads and mlp of layer " + std::to_string(l));
      continue;
    }
    const std::vector<float>& after_attn = ref.at(b + (c.attn_only ? "hook_resid_post" : "hook_resid_mid"));
    std::vector<float> sum = after_attn;
    add(sum, l, NodeKind::Head);
    check(sum, ref.at(b + "hook_resid_pre"), "heads of layer " + std::to_string(l));
    if (!c.attn_only) {
      sum = ref.at(b + "hook_resid_post");
      add(sum, l, NodeKind::Mlp);
      check(sum, after_attn, "mlp " + std::to_string(l));
    }
  }
  check(grads.back(), ref.at("blocks." + std::to_string(c.n_layers - 1) + ".hook_resid_post"), "logits");
}

INSTANTIATE_TEST_SUITE_P(Families, CircuitFixture, ::testing::ValuesIn(kFixtures));

// Test 2: without norms the logits are linear in the final residual, so
// zero-ablating input -> logits moves the logit difference by minus the
// embeddings' direct logit attribution.
TEST(Circuit, InputToLogitsEdgeIsTheDirectPath) {
  const Trainable tr = no_norm_model(false);
  Engine e(tr.model());
  const Batch clean = Batch::from_rows({antest::random_tokens(9, 24, 1), antest::random_tokens(9, 24, 2)});
  const CircuitGraph g = circuit_graph(tr.model().config());
  const PatchMetric metric = logit_diff({3, 7}, {5, 2}, false);
  size_t edge = 0;
  for (size_t i = 0; i < g.edges.size(); ++i)
    if (g.edges[i].from == 0 && g.edges[i].to == int(g.nodes.size()) - 1) edge = i;
  const Tensor ablated = run_with_ablated_edges(e, clean, Batch{}, only(g.edges.size(), edge), AblationKind::Zero);
  const double delta = metric.value(ablated, clean.T) - metric.value(e.logits(clean), clean.T);

  DlaOptions d;
  d.answer = metric.answer;
  d.wrong = metric.wrong;
  const DlaResult dla = direct_logit_attribution(e, clean, d);
  double direct = 0;
  for (const DlaComponent& comp : dla.by_layer)
    if (comp.name == "hook_embed" || comp.name == "hook_pos_embed") direct += comp.value;
  EXPECT_GT(std::fabs(direct), 1e-4);
  EXPECT_NEAR(delta, -direct, 1e-5 + 1e-4 * std::fabs(direct));
}

// Test 3a: first-order estimates are exact for edges into the logits of a
// model without a final norm (the metric is linear in them).
TEST(Circuit, EapIsExactForEdgesIntoALinearReadout) {
  for (bool attn_only : {true, false}) {
    const Trainable tr = no_norm_model(attn_only);
    Engine e(tr.model());
    const Batch clean = Batch::from_rows({antest::random_tokens(9, 24, 4), antest::random_tokens(9, 24, 5)});
    const Batch corrupt = Batch::from_rows({antest::random_tokens(9, 24, 6), antest::random_tokens(9, 24, 7)});
    CircuitOptions o;
    o.method = CircuitMethod::EAP;
    o.metric = logit_diff({3, 7}, {5, 2}, false);
    const Circuit c = discover_circuit(e, clean, corrupt, o);
    const double base = c.clean_metric;
    int checked = 0;
    for (size_t i = 0; i < c.edges.size(); ++i) {
      if (c.nodes[size_t(c.edges[i].to)].kind != NodeKind::Logits) continue;
      const Tensor lg = run_with_ablated_edges(e, clean, corrupt, only(c.edges.size(), i), AblationKind::Resample);
      const double truth = o.metric.value(lg, clean.T) - base;
      EXPECT_NEAR(c.edges[i].score, truth, 1e-5 + 1e-4 * std::fabs(truth)) << edge_name(c, c.edges[i]);
      ++checked;
    }
    EXPECT_EQ(checked, attn_only ? 9 : 11);
    // EAP-IG with one step is EAP.
    o.method = CircuitMethod::EAPIG;
    o.ig_steps = 1;
    const Circuit ig = discover_circuit(e, clean, corrupt, o);
    for (size_t i = 0; i < c.edges.size(); ++i) EXPECT_EQ(ig.edges[i].score, c.edges[i].score);
  }
}

std::vector<float> true_edge_effects(Engine& e, const Batch& clean, const Batch& corrupt, const Circuit& c) {
  std::vector<float> out;
  for (size_t i = 0; i < c.edges.size(); ++i) {
    const Tensor lg = run_with_ablated_edges(e, clean, corrupt, only(c.edges.size(), i), AblationKind::Resample);
    out.push_back(float((c.options.metric.value(lg, clean.T) - c.clean_metric) / (c.clean_metric - c.ablated_metric)));
  }
  return out;
}

std::vector<float> scores(const Circuit& c) {
  std::vector<float> s;
  for (const CircuitEdge& e : c.edges) s.push_back(float(e.score));
  return s;
}

// Test 3b: on a trained model (LayerNorm, MLPs) EAP and EAP-IG scores
// correlate with the true effect of ablating each edge alone.
TEST(Circuit, EapCorrelatesWithEdgeAblationOnATrainedModel) {
  const Trainable tr = antest::trained_arithmetic_gpt2();
  Engine e(tr.model());
  std::vector<std::vector<int32_t>> cl, co;
  for (int32_t x : {1, 6, 11}) {
    cl.emplace_back(), co.emplace_back();
    for (int t = 0; t < 10; ++t) cl.back().push_back((x + 2 * t) % 16), co.back().push_back((x + 3 * t) % 16);
  }
  const Batch clean = Batch::from_rows(cl), corrupt = Batch::from_rows(co);
  CircuitOptions o;
  o.metric = logit_diff({(1 + 20) % 16, (6 + 20) % 16, (11 + 20) % 16}, {(1 + 30) % 16, (6 + 30) % 16, (11 + 30) % 16});
  o.method = CircuitMethod::EAP;
  const Circuit eap = discover_circuit(e, clean, corrupt, o);
  o.method = CircuitMethod::EAPIG;
  const Circuit ig = discover_circuit(e, clean, corrupt, o);
  const std::vector<float> truth = true_edge_effects(e, clean, corrupt, eap);
  const double r_eap = correlation(scores(eap), truth), r_ig = correlation(scores(ig), truth);
  std::cout << "[ analysis ] trained 2-layer gpt2, " << truth.size() << " edges: corr(EAP, edge ablation) = " << r_eap
            << ", corr(EAP-IG, edge ablation) = " << r_ig << "\n";
  EXPECT_GT(eap.clean_metric - eap.ablated_metric, 2.0);
  EXPECT_GT(r_eap, 0.8);
  EXPECT_GT(r_ig, 0.8);
  EXPECT_EQ(ig.backward_runs, 5);
}

// On the hand-built induction model every method finds the known circuit:
// the previous-token head reads the input, the induction head reads it (q, v)
// and the previous-token head (k), the logits read the induction head.
TEST(Circuit, EveryMethodRecoversTheHandBuiltInductionCircuit) {
  const Induction ind;
  Engine e(ind.tr.model());
  for (CircuitMethod m : {CircuitMethod::ACDC, CircuitMethod::EAP, CircuitMethod::EAPIG}) {
    CircuitOptions o = ind.opt(m);
    o.keep_top = 4;
    const Circuit c = discover_circuit(e, ind.clean, ind.corrupt, o);
    std::set<std::string> kept;
    for (const CircuitEdge& edge : c.edges)
      if (edge.kept) kept.insert(edge_name(c, edge));
    EXPECT_EQ(kept, kInductionCircuit) << to_string(m);
    EXPECT_NEAR(c.circuit_faithfulness, 1.0, 1e-4) << to_string(m);
    // The curve runs from every edge ablated (0) to the full model (1).
    ASSERT_GE(c.curve.size(), 3u);
    EXPECT_EQ(c.curve.front().edges, 0);
    EXPECT_EQ(c.curve.front().faithfulness, 0.0);
    EXPECT_EQ(c.curve.back().edges, int64_t(c.edges.size()));
    EXPECT_EQ(c.curve.back().faithfulness, 1.0);
    EXPECT_EQ(c.curve.back().kl, 0.0);
  }
}

// ACDC's runs start at the receiver's layer (prefix reuse): the same circuit
// and scores as full reruns, on every family.
TEST_P(CircuitFixture, AcdcWithPrefixReuseMatchesFullRuns) {
  CircuitOptions o;
  o.method = CircuitMethod::ACDC;
  o.metric = logit_diff({3, 4}, {5, 6});
  o.threshold = 0.02;
  o.curve_points = 4;
  const Circuit fast = discover_circuit(e, p.clean, p.corrupt, o);
  o.reuse_prefix = false;
  const Circuit full = discover_circuit(e, p.clean, p.corrupt, o);
  ASSERT_EQ(fast.edges.size(), full.edges.size());
  for (size_t i = 0; i < fast.edges.size(); ++i) {
    EXPECT_EQ(fast.edges[i].kept, full.edges[i].kept) << GetParam() << " " << fast.edge_name(fast.edges[i]);
    EXPECT_NEAR(fast.edges[i].score, full.edges[i].score, 1e-4) << GetParam() << " " << fast.edge_name(fast.edges[i]);
  }
  EXPECT_NEAR(fast.circuit_metric, full.circuit_metric, 1e-4 * std::max(1.0, std::fabs(full.circuit_metric)));
}

// Many masks as copies of the clean rows in one pass: each copy's logits are
// its own run's, whatever the other copies cut (different first layers,
// receivers, senders) and however the masks are cut into passes.
TEST_P(CircuitFixture, BatchedEdgeRunsEqualOneRunPerMask) {
  const analysis::detail::EdgeAblation ab(e, p.clean, p.corrupt, AblationKind::Resample);
  const size_t E = g.edges.size();
  std::vector<std::vector<uint8_t>> masks;
  masks.emplace_back(E, 0);  // nothing cut: the plain forward
  masks.emplace_back(E, 1);
  for (size_t stride : {2u, 3u, 7u}) {
    masks.emplace_back(E, 0);
    for (size_t i = stride - 1; i < E; i += stride) masks.back()[i] = 1;
  }
  masks.emplace_back(E, 0);
  masks.back()[E - 1] = 1;  // an edge into the logits: the copy starts at the last layer
  for (LogitsMode mode : {LogitsMode::All, LogitsMode::Last}) {
    std::vector<Tensor> one;
    for (const auto& m : masks) one.push_back(ab.run(m, mode));
    int64_t passes = 0;
    const std::vector<Tensor> many = ab.run_many(masks, mode, size_t(64) << 20, &passes);
    EXPECT_EQ(passes, 1);
    ASSERT_EQ(many.size(), masks.size());
    for (size_t j = 0; j < masks.size(); ++j) {
      EXPECT_EQ(many[j].shape, one[j].shape);
      EXPECT_LT(max_abs_diff(many[j], one[j]), 2e-5 * std::max(1.0, max_abs(one[j]))) << GetParam() << " mask " << j;
    }
    // Cut into passes of a few copies (the budget of about 3).
    const size_t per_copy = (size_t(1) << 40) / size_t(ab.max_copies(mode, size_t(1) << 40));
    passes = 0;
    const std::vector<Tensor> cut = ab.run_many(masks, mode, 3 * per_copy, &passes);
    EXPECT_GT(passes, 1);
    for (size_t j = 0; j < masks.size(); ++j) EXPECT_LT(max_abs_diff(cut[j], many[j]), 2e-5 * std::max(1.0, max_abs(one[j])));
  }
  // Two copies differ where their masks do: the check can fail.
  EXPECT_GT(max_abs_diff(ab.run_many(masks, LogitsMode::All, size_t(64) << 20)[1], ab.run(masks[0], LogitsMode::All)), 1e-2);
}

// ACDC with its next edges batched (speculatively removed) finds the circuit
// one run per edge finds, with the same scores, in fewer passes.
TEST_P(CircuitFixture, BatchedAcdcMatchesOneRunPerEdge) {
  CircuitOptions o;
  o.method = CircuitMethod::ACDC;
  o.metric = logit_diff({3, 4}, {5, 6});
  o.curve_points = 6;
  for (double tau : {0.005, 0.05}) {
    o.threshold = tau;
    o.batch_bytes = size_t(256) << 20;
    const Circuit batched = discover_circuit(e, p.clean, p.corrupt, o);
    o.batch_bytes = 0;
    const Circuit single = discover_circuit(e, p.clean, p.corrupt, o);
    ASSERT_EQ(batched.edges.size(), single.edges.size());
    for (size_t i = 0; i < single.edges.size(); ++i) {
      EXPECT_EQ(batched.edges[i].kept, single.edges[i].kept) << GetParam() << " " << single.edge_name(single.edges[i]);
      EXPECT_NEAR(batched.edges[i].score, single.edges[i].score, 1e-4) << GetParam() << " " << single.edge_name(single.edges[i]);
    }
    // (The curves are not compared: they rank edges by |score|, and scores
    // equal within rounding, such as those of edges that change nothing, may
    // rank in either order. BatchedEdgeRunsEqualOneRunPerMask covers their runs.)
    EXPECT_NEAR(batched.circuit_metric, single.circuit_metric, 1e-4 * std::max(1.0, std::fabs(single.circuit_metric)));
    EXPECT_LT(batched.forward_runs, single.forward_runs) << GetParam() << " tau " << tau;
    std::cout << "[ analysis ] " << GetParam() << " ACDC tau " << tau << ": " << batched.n_kept() << " of "
              << batched.edges.size() << " edges kept, " << batched.forward_runs << " passes batched vs "
              << single.forward_runs << "\n";
  }
}

// Test 4: tau = 0 keeps every edge whose removal moves the output; a huge tau removes all.
TEST(Circuit, AcdcThresholdZeroKeepsWhatMattersHugeRemovesAll) {
  const Trainable tr = antest::trained_arithmetic_gpt2();
  Engine e(tr.model());
  const Batch clean = Batch::from_rows({{1, 3, 5, 7, 9, 11, 13, 15}, {2, 5, 8, 11, 14, 1, 4, 7}});
  const Batch corrupt = Batch::from_rows({{1, 2, 3, 4, 5, 6, 7, 8}, {2, 4, 6, 8, 10, 12, 14, 0}});
  CircuitOptions o;
  o.method = CircuitMethod::ACDC;
  o.metric = logit_diff({1, 10}, {9, 2});
  o.batch_bytes = 0;  // one run per pass: forward_runs counts runs
  for (CircuitCriterion crit : {CircuitCriterion::KL, CircuitCriterion::Metric}) {
    o.criterion = crit;
    o.threshold = 0;
    const Circuit c = discover_circuit(e, clean, corrupt, o);
    // Removed only where the criterion fell (KL) -- never for |change| < 0.
    for (const CircuitEdge& edge : c.edges) {
      if (edge.kept) {
        EXPECT_GE(crit == CircuitCriterion::KL ? edge.score : std::fabs(edge.score), 0.0);
      } else {
        EXPECT_LT(edge.score, 0.0) << edge_name(c, edge);
      }
    }
    if (crit == CircuitCriterion::Metric) {
      EXPECT_EQ(c.n_kept(), int64_t(c.edges.size()));
    }
    EXPECT_EQ(c.forward_runs, 2 + 2 + int64_t(c.edges.size()) + int64_t(c.curve.size()) - 2 + 1);

    o.threshold = 1e9;
    const Circuit none = discover_circuit(e, clean, corrupt, o);
    EXPECT_EQ(none.n_kept(), 0);
    EXPECT_DOUBLE_EQ(none.circuit_metric, none.ablated_metric);
    EXPECT_NEAR(none.circuit_faithfulness, 0.0, 1e-12);
  }
}

// Every edge whose ablation changes the output on its own stays at tau = 0 when
// no removal can improve KL: on the induction model, KL over the answer rises
// with every cut of the circuit.
TEST(Circuit, AcdcThresholdZeroKeepsTheInductionCircuit) {
  const Induction ind;
  Engine e(ind.tr.model());
  CircuitOptions o = ind.opt(CircuitMethod::ACDC);
  o.threshold = 0;
  const Circuit c = discover_circuit(e, ind.clean, ind.corrupt, o);
  const std::vector<float> truth = true_edge_effects(e, ind.clean, ind.corrupt, c);
  for (size_t i = 0; i < c.edges.size(); ++i)
    if (std::fabs(truth[i]) > 1e-6) {
      EXPECT_TRUE(c.edges[i].kept) << edge_name(c, c.edges[i]);
    }
}

TEST(Circuit, MeanAblationOverOneRowIsResampling) {
  const Model m = Model::load(antest::fixture("gpt2"));
  Engine e(m);
  const Batch clean = Batch::single(antest::random_tokens(6, m.config().d_vocab, 1));
  const Batch other = Batch::single(antest::random_tokens(6, m.config().d_vocab, 2));
  const size_t E = circuit_graph(m.config()).edges.size();
  std::vector<bool> flags(E, false);
  for (size_t i = 0; i < E; i += 3) flags[i] = true;
  const Tensor mean = run_with_ablated_edges(e, clean, other, flags, AblationKind::Mean);
  const Tensor resample = run_with_ablated_edges(e, clean, other, flags, AblationKind::Resample);
  EXPECT_LT(max_abs_diff(mean, resample), 1e-6);
  // Two reference rows: the mean of both, for a clean batch of a different size.
  const Batch clean2 = Batch::from_rows({clean.tokens, other.tokens, clean.tokens});
  const Tensor zero = run_with_ablated_edges(e, clean2, Batch{}, flags, AblationKind::Zero);
  const Tensor mean2 = run_with_ablated_edges(e, clean2, Batch::from_rows({clean.tokens, other.tokens}), flags,
                                              AblationKind::Mean);
  EXPECT_EQ(mean2.shape, (Shape{3, 6, m.config().d_vocab}));
  EXPECT_GT(max_abs_diff(mean2, zero), 1e-3);
}

// Test 5.
TEST(Circuit, JsonHasTheDocumentedFields) {
  const Induction ind;
  Engine e(ind.tr.model());
  const Circuit c = discover_circuit(e, ind.clean, ind.corrupt, ind.opt(CircuitMethod::EAPIG));
  const nlohmann::json j = c.to_json();
  for (const char* k : {"technique", "method", "ablation", "criterion", "threshold", "ig_steps", "metric", "nodes",
                        "edges", "n_edges", "n_kept", "clean_metric", "ablated_metric", "circuit_metric",
                        "circuit_faithfulness", "circuit_kl", "faithfulness", "forward_runs", "backward_runs"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["technique"], "circuit");
  EXPECT_EQ(j["method"], "eap-ig");
  EXPECT_EQ(j["ablation"], "resample");
  EXPECT_EQ(j["nodes"].size(), c.nodes.size());
  EXPECT_EQ(j["nodes"][1]["name"], "a0.h0");
  EXPECT_EQ(j["nodes"][1]["kind"], "head");
  EXPECT_EQ(j["nodes"][1]["layer"], 0);
  EXPECT_EQ(j["nodes"][1]["head"], 0);
  EXPECT_EQ(j["edges"].size(), c.edges.size());
  EXPECT_EQ(j["edges"][0]["from"], "input");
  EXPECT_EQ(j["edges"][0]["to"], "a0.h0<q>");
  EXPECT_EQ(j["edges"][0]["port"], "q");
  for (const char* k : {"score", "kept"}) EXPECT_TRUE(j["edges"][0].contains(k)) << k;
  EXPECT_EQ(j["n_kept"], c.n_kept());
  ASSERT_FALSE(j["faithfulness"].empty());
  for (const char* k : {"edges", "metric", "faithfulness", "kl"}) EXPECT_TRUE(j["faithfulness"][0].contains(k)) << k;
  EXPECT_EQ(j["metric"]["kind"], "logit_diff");
}

// Test 6: inconsistent inputs fail clearly.
TEST(Circuit, BadInputsFailWithAClearError) {
  auto expect_error = [](auto fn, const std::string& needle) {
    try {
      fn();
      ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
    } catch (const Error& err) {
      EXPECT_NE(std::string(err.what()).find(needle), std::string::npos) << err.what();
    }
  };
  const Induction ind;
  Engine e(ind.tr.model());
  const CircuitOptions o = ind.opt(CircuitMethod::EAP);
  const Batch shorter = Batch::from_rows({{1, 2, 3}, {4, 5, 6}});
  expect_error([&] { discover_circuit(e, ind.clean, shorter, o); }, "same shape");
  CircuitOptions mean = o;
  mean.ablation = AblationKind::Mean;
  expect_error([&] { discover_circuit(e, ind.clean, shorter, mean); }, "per position");
  CircuitOptions bad = o;
  bad.ig_steps = 0;
  expect_error([&] { discover_circuit(e, ind.clean, ind.corrupt, bad); }, "ig_steps");
  bad = o;
  bad.metric.answer.clear();
  expect_error([&] { discover_circuit(e, ind.clean, ind.corrupt, bad); }, "answer");
  expect_error([&] { discover_circuit(e, ind.clean, ind.clean, o); }, "normalize");
  expect_error([&] { run_with_ablated_edges(e, ind.clean, ind.corrupt, {true}, AblationKind::Resample); }, "edge flags");
}

}  // namespace
