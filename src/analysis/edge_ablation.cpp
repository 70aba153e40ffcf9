#include "analysis/edge_ablation.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "analysis/detail.h"
#include "analysis/patching_batch.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "kernels/kernels.h"

namespace glassbox::analysis::detail {

namespace {

// Every sender's output ([B*T*d]) from one cached run; with `resid`, also
// every layer's hook_resid_pre.
std::vector<std::vector<float>> node_outputs(Engine& e, const Batch& b, const CircuitGraph& g,
                                             std::vector<std::vector<float>>* resid = nullptr) {
  const Config& c = e.model().config();
  CacheOptions co;
  co.names = {resid ? "blocks.*.hook_resid_pre" : "blocks.0.hook_resid_pre", "blocks.*.attn.hook_result"};
  if (!c.attn_only) co.names.push_back("blocks.*.hook_mlp_out");
  const ActivationCache cache = run_with_cache(e, b, co);
  if (resid)
    for (int l = 0; l < c.n_layers; ++l) resid->push_back(cached_f32(cache, {Site::resid_pre, l}));
  const int64_t N = b.B * b.T, d = c.d_model, H = c.n_heads;
  std::vector<std::vector<float>> out(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const CircuitNode& n = g.nodes[i];
    if (n.kind == NodeKind::Input) out[i] = cached_f32(cache, {Site::resid_pre, 0});
    if (n.kind == NodeKind::Mlp) out[i] = cached_f32(cache, {Site::mlp_out, n.layer});
    if (n.kind == NodeKind::Head) {
      const float* r = cache[HookPoint{Site::result, n.layer}.name()].f32();  // [N, H, d]
      out[i].resize(size_t(N * d));
      for (int64_t t = 0; t < N; ++t) std::memcpy(&out[i][size_t(t * d)], r + (t * H + n.head) * d, size_t(d) * 4);
    }
  }
  return out;
}

// Per position, the mean over the reference rows valid there, repeated for B rows.
std::vector<float> position_mean(const std::vector<float>& x, const Batch& ref, int64_t B, int64_t d) {
  const int64_t T = ref.T;
  std::vector<double> sum(static_cast<size_t>(T * d), 0.0);
  std::vector<int64_t> count(static_cast<size_t>(T), 0);
  for (int64_t b = 0; b < ref.B; ++b)
    for (int64_t t = 0; t < T; ++t) {
      if (!ref.valid(b, t)) continue;
      ++count[size_t(t)];
      for (int64_t j = 0; j < d; ++j) sum[size_t(t * d + j)] += x[size_t((b * T + t) * d + j)];
    }
  std::vector<float> out(static_cast<size_t>(B * T * d), 0.f);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      if (count[size_t(t)])
        for (int64_t j = 0; j < d; ++j)
          out[size_t((b * T + t) * d + j)] = float(sum[size_t(t * d + j)] / double(count[size_t(t)]));
  return out;
}

// x [N, d] . one head's projection (+ bias) into its columns of a [N, H, dh] activation.
void project_head(float* act, const float* x, int64_t N, const HeadProj& P, int h) {
  kernels::matmul_forward(act + int64_t(h) * P.d_head, int64_t(P.n_heads) * P.d_head, x, P.d_model, P.head(h),
                          P.b ? P.b + h * P.b_head_stride : nullptr, 1, N);
}

}  // namespace

EdgeAblation::EdgeAblation(Engine& e, const Batch& clean, const Batch& source, AblationKind kind, bool reuse_prefix)
    : e_(e), clean_batch_(clean), g_(circuit_graph(e.model().config())), reuse_prefix_(reuse_prefix) {
  const Config& c = e.model().config();
  if (kind == AblationKind::Resample) check_pair(clean, source, "circuit");
  if (kind == AblationKind::Mean && source.T != clean.T)
    fail("circuit: mean ablation needs a reference batch as long as the clean one (", clean.T,
         " positions; means are taken per position), got ", source.T);
  clean_ = node_outputs(e, clean, g_, reuse_prefix ? &clean_resid_ : nullptr);
  head0_.assign(size_t(c.n_layers), 0);
  mlp_.assign(size_t(c.n_layers), -1);
  for (size_t i = 0; i < g_.nodes.size(); ++i) {
    const CircuitNode& n = g_.nodes[i];
    if (n.kind == NodeKind::Head && n.head == 0) head0_[size_t(n.layer)] = int(i);
    if (n.kind == NodeKind::Mlp) mlp_[size_t(n.layer)] = int(i);
  }
  const int64_t N = clean.B * clean.T, d = c.d_model;
  if (kind == AblationKind::Resample) {
    ablated_ = node_outputs(e, source, g_);
  } else if (kind == AblationKind::Mean) {
    ablated_ = node_outputs(e, source, g_);
    for (auto& x : ablated_)
      if (!x.empty()) x = position_mean(x, source, clean.B, d);
  } else {
    ablated_.assign(g_.nodes.size(), std::vector<float>(static_cast<size_t>(N * d), 0.f));
  }
  ablated_.back().clear();  // the logits node sends nothing
  clean_.back().clear();
}

// What a run with ablated edges must do, worked out from the edge flags.
struct EdgePlan {
  std::vector<std::vector<int>> cut;             // per receiver: senders whose edge into it is ablated
  std::vector<uint8_t> sends;                    // per node: a cut edge leaves it
  std::vector<std::vector<int>> head_receivers;  // per layer: its heads' receivers with a cut input
  std::vector<int> mlp_receiver;                 // per layer: its MLP's receiver with a cut input, or -1
  int logits = -1;                               // the logits' receiver, when one of its inputs is cut
  int first = 0;                                 // where the run starts: the earliest layer reading a cut edge
  bool any = false;
};

EdgePlan plan_edges(const CircuitGraph& g, const std::vector<uint8_t>& ablated, int L, bool reuse_prefix) {
  EdgePlan p;
  p.cut.resize(g.receivers.size());
  p.sends.assign(g.nodes.size(), 0);
  p.head_receivers.resize(size_t(L));
  p.mlp_receiver.assign(size_t(L), -1);
  for (size_t i = 0; i < ablated.size(); ++i)
    if (ablated[i]) {
      p.cut[size_t(g.edges[i].receiver)].push_back(g.edges[i].from);
      p.sends[size_t(g.edges[i].from)] = 1;
      p.any = true;
    }
  p.first = L - 1;  // the logits read the last layer's output
  for (size_t r = 0; r < g.receivers.size(); ++r) {
    if (p.cut[r].empty()) continue;
    const CircuitNode& n = g.nodes[size_t(g.receivers[r].node)];
    if (n.kind == NodeKind::Head) p.head_receivers[size_t(n.layer)].push_back(int(r));
    if (n.kind == NodeKind::Mlp) p.mlp_receiver[size_t(n.layer)] = int(r);
    if (n.kind == NodeKind::Logits) p.logits = int(r);
    if (n.kind != NodeKind::Logits) p.first = std::min(p.first, n.layer);
  }
  if (!reuse_prefix) p.first = 0;
  return p;
}

// Runs of the clean batch with a plan's edges ablated, one plan per copy of
// the clean rows in one batch (copy j: rows j*B .. j*B+B-1). Observe hooks
// record the senders' outputs as each copy's run computes them (they change
// when their own inputs are ablated); replace hooks rebuild each receiver's
// input from the residual stream it reads, minus its cut senders' outputs
// plus their ablated values: a head's query / key / value input re-projects
// its slice of hook_q / hook_k / hook_v, an MLP its pre-activations, the
// logits read an edited final residual. A copy's edits touch its own rows
// only, so each copy computes what a run of its plan alone computes; the
// batch starts at the earliest layer any plan needs, a copy whose plan starts
// later recomputing the clean run's layers there.
class EdgeRun {
 public:
  EdgeRun(const EdgeAblation& ea, const std::vector<const EdgePlan*>& plans)
      : ea_(ea), c_(ea.e_.model().config()), w_(ea.e_.model().weights()), reg_(c_),
        N_(ea.clean_batch_.B * ea.clean_batch_.T), copies_(plans.size()) {
    first_ = c_.n_layers;
    for (size_t j = 0; j < plans.size(); ++j) {
      Copy& cp = copies_[j];
      cp.p = plans[j];
      cp.cur.resize(ea.g_.nodes.size());
      cp.head_in.resize(ea.g_.receivers.size());
      first_ = std::min(first_, cp.p->first);
      cp.cur[0] = ea_.clean_[0];  // nothing is upstream of the input
      for (size_t u = 1; u < cp.cur.size(); ++u)  // nothing they read is cut
        if (cp.p->sends[u] && ea_.g_.nodes[u].layer < cp.p->first) cp.cur[u] = ea_.clean_[u];
    }
    for (int l = first_; l < c_.n_layers; ++l) capture_senders(l);
    for (int l = first_; l < c_.n_layers; ++l) {
      edit_heads(l);
      edit_mlp(l);
    }
    edit_logits();
  }

  Tensor run(LogitsMode mode) {
    const Batch& clean = ea_.clean_batch_;
    const int64_t k = int64_t(copies_.size());
    ForwardOptions fo;
    fo.logits = mode;
    fo.start_at_layer = first_;
    // Layers before `first` compute what the clean run did: start there from the clean residual stream.
    if (first_ > 0)
      fo.start_resid = tile_rows(ea_.clean_resid_[size_t(first_)].data(), clean.B, clean.T, c_.d_model, 0, k, start_);
    return ea_.e_.forward(k == 1 ? clean : tile_batch(clean, k, 0), &reg_, nullptr, fo).logits;
  }

 private:
  struct Copy {
    const EdgePlan* p = nullptr;
    std::vector<std::vector<float>> cur;      // senders' outputs in this copy's run
    std::vector<std::vector<float>> head_in;  // normed input per edited head receiver
    std::vector<float> mlp_in, final_in;
  };

  // Hooks `at` for the copies `want` picks (none: no hook); fn(copy, its rows of the activation).
  template <class Want, class Fn>
  void on(HookPoint at, HookMode mode, Want want, Fn fn) {
    std::vector<size_t> js;
    for (size_t j = 0; j < copies_.size(); ++j)
      if (want(copies_[j])) js.push_back(j);
    if (js.empty()) return;
    hs_.push_back(reg_.add(at, [this, js, fn](TensorView& act, const HookContext&) {
      const int64_t per_copy = act.numel() / int64_t(copies_.size());
      for (size_t j : js) fn(copies_[j], act.data + int64_t(j) * per_copy);
    }, mode));
  }

  void capture_senders(int l) {
    const int64_t d = c_.d_model, H = c_.n_heads, N = N_;
    const int head0 = ea_.head0_[size_t(l)], mlp = ea_.mlp_[size_t(l)];
    auto heads_send = [l, head0, H](const Copy& cp) {
      if (l < cp.p->first) return false;
      for (int h = 0; h < H; ++h)
        if (cp.p->sends[size_t(head0 + h)]) return true;
      return false;
    };
    on(HookPoint{Site::result, l}, HookMode::Observe, heads_send, [head0, H, d, N](Copy& cp, float* act) {
      for (int h = 0; h < H; ++h) {
        if (!cp.p->sends[size_t(head0 + h)]) continue;
        std::vector<float>& out = cp.cur[size_t(head0 + h)];
        out.resize(size_t(N * d));
        for (int64_t t = 0; t < N; ++t) std::memcpy(&out[size_t(t * d)], act + (t * H + h) * d, size_t(d) * 4);
      }
    });
    if (mlp >= 0)
      on(HookPoint{Site::mlp_out, l}, HookMode::Observe,
         [l, mlp](const Copy& cp) { return l >= cp.p->first && cp.p->sends[size_t(mlp)]; },
         [mlp, n = N * d](Copy& cp, float* act) { cp.cur[size_t(mlp)].assign(act, act + n); });
  }

  // The residual x [N, d] as receiver r of a copy reads it: += ablated_u - out_u for each cut sender u.
  void edited(const Copy& cp, int r, const float* x, std::vector<float>& out) const {
    const int64_t n = N_ * c_.d_model;
    out.assign(x, x + n);
    for (int u : cp.p->cut[size_t(r)]) {
      const float* a = ea_.ablated_[size_t(u)].data();
      const float* o = cp.cur[size_t(u)].data();
      for (int64_t i = 0; i < n; ++i) out[size_t(i)] += a[i] - o[i];
    }
  }

  void edit_heads(int l) {
    const LayerWeights& lw = w_.layers[size_t(l)];
    // With a parallel residual the MLP reads the layer's input, as its heads do.
    auto mlp_reads_pre = [this, l](const Copy& cp) { return c_.parallel_residual && cp.p->mlp_receiver[size_t(l)] >= 0; };
    on(HookPoint{Site::resid_pre, l}, HookMode::Observe,
       [l, mlp_reads_pre](const Copy& cp) { return !cp.p->head_receivers[size_t(l)].empty() || mlp_reads_pre(cp); },
       [this, l, &lw, mlp_reads_pre](Copy& cp, float* x) {
         for (int r : cp.p->head_receivers[size_t(l)]) {
           std::vector<float>& in = cp.head_in[size_t(r)];
           edited(cp, r, x, in);
           apply_norm(in.data(), in.data(), N_, c_, lw.ln1_w, lw.ln1_b);
         }
         if (mlp_reads_pre(cp)) {
           edited(cp, cp.p->mlp_receiver[size_t(l)], x, cp.mlp_in);
           apply_norm(cp.mlp_in.data(), cp.mlp_in.data(), N_, c_, lw.ln2_w, lw.ln2_b);
         }
       });
    const std::pair<Port, std::pair<Site, const HeadProj*>> projections[] = {
        {Port::Q, {Site::q, &lw.W_Q}}, {Port::K, {Site::k, &lw.W_K}}, {Port::V, {Site::v, &lw.W_V}}};
    for (const auto& [port, sp] : projections) {
      auto feeds = [this, port = port](int r) { return ea_.g_.receivers[size_t(r)].port == port; };
      // A key / value receiver's node is its group's first query head.
      const int group = port == Port::Q ? 1 : ea_.g_.kv_group;
      on(HookPoint{sp.first, l}, HookMode::Replace,
         [l, feeds](const Copy& cp) {
           for (int r : cp.p->head_receivers[size_t(l)])
             if (feeds(r)) return true;
           return false;
         },
         [this, l, feeds, P = sp.second, group](Copy& cp, float* act) {
           for (int r : cp.p->head_receivers[size_t(l)])
             if (feeds(r))
               project_head(act, cp.head_in[size_t(r)].data(), N_, *P,
                            ea_.g_.nodes[size_t(ea_.g_.receivers[size_t(r)].node)].head / group);
         });
    }
  }

  void edit_mlp(int l) {
    const LayerWeights& lw = w_.layers[size_t(l)];
    const int64_t d = c_.d_model, dm = c_.d_mlp;
    auto has = [l](const Copy& cp) { return cp.p->mlp_receiver[size_t(l)] >= 0; };
    if (!c_.parallel_residual)
      on(HookPoint{Site::resid_mid, l}, HookMode::Observe, has, [this, l, &lw](Copy& cp, float* x) {
        edited(cp, cp.p->mlp_receiver[size_t(l)], x, cp.mlp_in);
        apply_norm(cp.mlp_in.data(), cp.mlp_in.data(), N_, c_, lw.ln2_w, lw.ln2_b);
      });
    // Gated MLPs: hook_pre is the gate projection, hook_pre_linear the up projection.
    const MatRef W_pre = c_.gated_mlp ? lw.W_gate : lw.W_in;
    const float* b_pre = c_.gated_mlp ? lw.b_gate : lw.b_in;
    on(HookPoint{Site::mlp_pre, l}, HookMode::Replace, has, [this, W_pre, b_pre, d, dm](Copy& cp, float* act) {
      kernels::matmul_forward(act, dm, cp.mlp_in.data(), d, W_pre, b_pre, 1, N_);
    });
    if (c_.gated_mlp)
      on(HookPoint{Site::mlp_pre_linear, l}, HookMode::Replace, has, [this, &lw, d, dm](Copy& cp, float* act) {
        kernels::matmul_forward(act, dm, cp.mlp_in.data(), d, lw.W_in, lw.b_in, 1, N_);
      });
  }

  void edit_logits() {
    on(HookPoint{Site::resid_post, c_.n_layers - 1}, HookMode::Replace, [](const Copy& cp) { return cp.p->logits >= 0; },
       [this](Copy& cp, float* x) {
         edited(cp, cp.p->logits, x, cp.final_in);
         std::copy(cp.final_in.begin(), cp.final_in.end(), x);
       });
  }

  const EdgeAblation& ea_;
  const Config& c_;
  const Weights& w_;
  HookRegistry reg_;
  int64_t N_;
  int first_ = 0;  // the layer the batch starts at: the earliest plan's
  std::vector<Copy> copies_;
  std::vector<float> start_;  // the clean residual stream at first_, once per copy
  std::vector<HookHandle> hs_;
};

EdgePlan EdgeAblation::plan(const std::vector<uint8_t>& ablated) const {
  if (ablated.size() != g_.edges.size())
    fail("circuit: ", ablated.size(), " edge flags for a graph of ", g_.edges.size(), " edges");
  return plan_edges(g_, ablated, e_.model().config().n_layers, reuse_prefix_);
}

Tensor EdgeAblation::run(const std::vector<uint8_t>& ablated, LogitsMode mode) const {
  const EdgePlan p = plan(ablated);
  if (!p.any) {
    ForwardOptions fo;
    fo.logits = mode;
    return e_.forward(clean_batch_, nullptr, nullptr, fo).logits;
  }
  return EdgeRun(*this, {&p}).run(mode);
}

int64_t EdgeAblation::max_copies(LogitsMode mode, size_t batch_bytes) const {
  if (batch_bytes == 0) return 1;
  const Config& c = e_.model().config();
  const int64_t B = clean_batch_.B, T = clean_batch_.T;
  ForwardOptions fo;
  fo.logits = mode;
  // Beyond the pass's activations, a copy holds its start rows and, at most,
  // every sender's output and every receiver's edited input ([B*T*d] each).
  const size_t row = size_t(B * T * c.d_model) * sizeof(float);
  const size_t per_copy = row * (1 + g_.nodes.size() + g_.receivers.size());
  return cells_per_batch(e_, B, T, fo, batch_bytes, per_copy);
}

std::vector<Tensor> EdgeAblation::run_many(const std::vector<std::vector<uint8_t>>& masks, LogitsMode mode,
                                           size_t batch_bytes, int64_t* passes) const {
  std::vector<EdgePlan> plans;
  plans.reserve(masks.size());
  for (const auto& m : masks) plans.push_back(plan(m));
  const int64_t cap = max_copies(mode, batch_bytes), B = clean_batch_.B;
  std::vector<Tensor> out;
  for (size_t j0 = 0; j0 < plans.size(); j0 += size_t(cap)) {
    const size_t j1 = std::min(plans.size(), j0 + size_t(cap));
    if (passes) ++*passes;
    if (j1 - j0 == 1) {  // one mask: exactly what run() computes
      out.push_back(run(masks[j0], mode));
      continue;
    }
    std::vector<const EdgePlan*> ps;
    for (size_t j = j0; j < j1; ++j) ps.push_back(&plans[j]);
    const Tensor logits = EdgeRun(*this, ps).run(mode);
    const int64_t Tl = logits.shape[1], V = logits.shape[2];
    for (size_t j = j0; j < j1; ++j)
      out.push_back(Tensor::from_f32(logits.f32() + int64_t(j - j0) * B * Tl * V, {B, Tl, V}));
  }
  return out;
}

std::vector<std::vector<float>> receiver_grads(Engine& e, const Batch& batch, const CircuitGraph& g,
                                               const PatchMetric& metric, const float* input, double* value) {
  const Config& c = e.model().config();
  const Weights& w = e.model().weights();
  const int64_t N = batch.B * batch.T, d = c.d_model, H = c.n_heads, dh = c.d_head, L = c.n_layers, dm = c.d_mlp;
  const bool norm = c.norm != NormKind::None, mlps = !c.attn_only;

  HookRegistry reg(c);
  std::vector<HookHandle> hs;
  ForwardOptions fo;
  fo.for_backward = true;
  for (int l = 0; l < L; ++l)
    if (norm) {
      fo.keep.insert({Site::ln1_normalized, l});
      fo.keep.insert({Site::ln1_scale, l});
      if (mlps) fo.keep.insert({Site::ln2_normalized, l}), fo.keep.insert({Site::ln2_scale, l});
    }
  fo.start_resid = input;  // null: the embeddings
  std::map<HookPoint, std::vector<float>> grads;
  auto collect = [&grads](TensorView& gr, const HookContext& ctx) { grads[ctx.point].assign(gr.data, gr.data + gr.numel()); };
  for (const char* s : {"blocks.*.attn.hook_q", "blocks.*.attn.hook_k", "blocks.*.attn.hook_v"})
    hs.push_back(reg.add(s, collect, HookMode::Grad));
  if (mlps) {
    hs.push_back(reg.add("blocks.*.mlp.hook_pre", collect, HookMode::Grad));
    if (c.gated_mlp) hs.push_back(reg.add("blocks.*.mlp.hook_pre_linear", collect, HookMode::Grad));
  }
  hs.push_back(reg.add(HookPoint{Site::resid_post, int(L - 1)}, collect, HookMode::Grad));

  const ForwardResult fwd = e.forward(batch, &reg, nullptr, fo);
  Tensor dlogits;
  *value = metric.value(fwd.logits, batch.T, &dlogits);
  e.backward(batch, fwd, dlogits.f32(), &reg);
  auto saved = [&](Site s, int l) { return norm ? fwd.get({s, l}).f32() : nullptr; };

  const int64_t Hkv = c.n_kv_heads;
  std::vector<std::vector<float>> out(g.receivers.size());
  std::vector<float> da(static_cast<size_t>(N * d));
  for (size_t r = 0; r < g.receivers.size(); ++r) {
    const CircuitNode& n = g.nodes[size_t(g.receivers[r].node)];
    const int l = n.layer;
    out[r].assign(static_cast<size_t>(N * d), 0.f);
    if (n.kind == NodeKind::Logits) {
      out[r] = grads.at({Site::resid_post, int(L - 1)});
      continue;
    }
    const LayerWeights& lw = w.layers[size_t(l)];
    std::fill(da.begin(), da.end(), 0.f);
    // d (normed input) += d out . W^T for each projection the receiver feeds.
    auto back = [&](Site s, const MatRef& W, int64_t col, int64_t ld) {
      kernels::matmul_backward(da.data(), d, MutMatRef{}, nullptr, 1, grads.at({s, l}).data() + col, ld, nullptr,
                               d, W, N);
    };
    const int kv = n.head / g.kv_group;
    switch (g.receivers[r].port) {
      case Port::Q: back(Site::q, lw.W_Q.head(n.head), n.head * dh, H * dh); break;
      case Port::K: back(Site::k, lw.W_K.head(kv), kv * dh, Hkv * dh); break;
      case Port::V: back(Site::v, lw.W_V.head(kv), kv * dh, Hkv * dh); break;
      case Port::In:
        back(Site::mlp_pre, c.gated_mlp ? lw.W_gate : lw.W_in, 0, dm);
        if (c.gated_mlp) back(Site::mlp_pre_linear, lw.W_in, 0, dm);
        break;
    }
    if (n.kind == NodeKind::Head)
      apply_norm_backward(out[r].data(), da.data(), saved(Site::ln1_normalized, l), saved(Site::ln1_scale, l), N, c,
                          lw.ln1_w);
    else
      apply_norm_backward(out[r].data(), da.data(), saved(Site::ln2_normalized, l), saved(Site::ln2_scale, l), N, c,
                          lw.ln2_w);
  }
  return out;
}

}  // namespace glassbox::analysis::detail
