#include "analysis/edge_ablation.h"

#include <algorithm>
#include <cstring>
#include <map>

#include "analysis/detail.h"
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

// One run of the clean batch with a plan's edges ablated. Observe hooks record
// the senders' outputs as this run computes them (they change when their own
// inputs are ablated); replace hooks rebuild each receiver's input from the
// residual stream it reads, minus its cut senders' outputs plus their ablated
// values: a head's query / key / value input re-projects its slice of
// hook_q / hook_k / hook_v, an MLP its pre-activations, the logits read an
// edited final residual.
class EdgeRun {
 public:
  EdgeRun(const EdgeAblation& ea, const EdgePlan& plan)
      : ea_(ea), p_(plan), c_(ea.e_.model().config()), w_(ea.e_.model().weights()), reg_(c_),
        N_(ea.clean_batch_.B * ea.clean_batch_.T), cur_(ea.g_.nodes.size()), head_in_(ea.g_.receivers.size()) {
    capture_senders();
    for (int l = p_.first; l < c_.n_layers; ++l) {
      edit_heads(l);
      edit_mlp(l);
    }
    edit_logits();
  }

  Tensor run(LogitsMode mode) {
    ForwardOptions fo;
    fo.logits = mode;
    fo.start_at_layer = p_.first;
    // Layers before `first` compute what the clean run did: start there from the clean residual stream.
    if (p_.first > 0) fo.start_resid = ea_.clean_resid_[size_t(p_.first)].data();
    return ea_.e_.forward(ea_.clean_batch_, &reg_, nullptr, fo).logits;
  }

 private:
  void capture_senders() {
    const int64_t d = c_.d_model, H = c_.n_heads, N = N_;
    cur_[0] = ea_.clean_[0];  // nothing is upstream of the input
    for (size_t u = 1; u < cur_.size(); ++u)
      if (p_.sends[u] && ea_.g_.nodes[u].layer < p_.first) cur_[u] = ea_.clean_[u];  // nothing they read is cut
    for (int l = p_.first; l < c_.n_layers; ++l) {
      const int head0 = ea_.head0_[size_t(l)], mlp = ea_.mlp_[size_t(l)];
      bool heads = false;
      for (int h = 0; h < H; ++h) heads |= p_.sends[size_t(head0 + h)] != 0;
      if (heads)
        hs_.push_back(reg_.add(HookPoint{Site::result, l}, [this, head0, H, d, N](TensorView& act, const HookContext&) {
          for (int h = 0; h < H; ++h) {
            if (!p_.sends[size_t(head0 + h)]) continue;
            std::vector<float>& out = cur_[size_t(head0 + h)];
            out.resize(size_t(N * d));
            for (int64_t t = 0; t < N; ++t) std::memcpy(&out[size_t(t * d)], act.data + (t * H + h) * d, size_t(d) * 4);
          }
        }));
      if (mlp >= 0 && p_.sends[size_t(mlp)])
        hs_.push_back(reg_.add(HookPoint{Site::mlp_out, l}, [this, mlp, n = N * d](TensorView& act, const HookContext&) {
          cur_[size_t(mlp)].assign(act.data, act.data + n);
        }));
    }
  }

  // The residual x [N, d] as receiver r reads it: += ablated_u - out_u for each cut sender u.
  void edited(int r, const float* x, std::vector<float>& out) const {
    const int64_t n = N_ * c_.d_model;
    out.assign(x, x + n);
    for (int u : p_.cut[size_t(r)]) {
      const float* a = ea_.ablated_[size_t(u)].data();
      const float* o = cur_[size_t(u)].data();
      for (int64_t i = 0; i < n; ++i) out[size_t(i)] += a[i] - o[i];
    }
  }

  void edit_heads(int l) {
    const LayerWeights& lw = w_.layers[size_t(l)];
    const std::vector<int>& rs = p_.head_receivers[size_t(l)];
    const int mr = p_.mlp_receiver[size_t(l)];
    // With a parallel residual the MLP reads the layer's input, as its heads do.
    const bool mlp_reads_pre = mr >= 0 && c_.parallel_residual;
    if (rs.empty() && !mlp_reads_pre) return;
    hs_.push_back(reg_.add(HookPoint{Site::resid_pre, l}, [this, &lw, &rs, mr, mlp_reads_pre](TensorView& act,
                                                                                            const HookContext&) {
      for (int r : rs) {
        std::vector<float>& x = head_in_[size_t(r)];
        edited(r, act.data, x);
        apply_norm(x.data(), x.data(), N_, c_, lw.ln1_w, lw.ln1_b);
      }
      if (mlp_reads_pre) {
        edited(mr, act.data, mlp_in_);
        apply_norm(mlp_in_.data(), mlp_in_.data(), N_, c_, lw.ln2_w, lw.ln2_b);
      }
    }));
    const std::pair<Port, std::pair<Site, const HeadProj*>> projections[] = {
        {Port::Q, {Site::q, &lw.W_Q}}, {Port::K, {Site::k, &lw.W_K}}, {Port::V, {Site::v, &lw.W_V}}};
    for (const auto& [port, sp] : projections) {
      std::vector<int> mine;
      for (int r : rs)
        if (ea_.g_.receivers[size_t(r)].port == port) mine.push_back(r);
      if (mine.empty()) continue;
      // A key / value receiver's node is its group's first query head.
      const int group = port == Port::Q ? 1 : ea_.g_.kv_group;
      hs_.push_back(reg_.add(HookPoint{sp.first, l}, [this, P = sp.second, mine, group](TensorView& act,
                                                                                        const HookContext&) {
        for (int r : mine)
          project_head(act.data, head_in_[size_t(r)].data(), N_, *P,
                       ea_.g_.nodes[size_t(ea_.g_.receivers[size_t(r)].node)].head / group);
      }, HookMode::Replace));
    }
  }

  void edit_mlp(int l) {
    const int mr = p_.mlp_receiver[size_t(l)];
    if (mr < 0) return;
    const LayerWeights& lw = w_.layers[size_t(l)];
    const int64_t d = c_.d_model, dm = c_.d_mlp;
    if (!c_.parallel_residual)
      hs_.push_back(reg_.add(HookPoint{Site::resid_mid, l}, [this, &lw, mr](TensorView& act, const HookContext&) {
        edited(mr, act.data, mlp_in_);
        apply_norm(mlp_in_.data(), mlp_in_.data(), N_, c_, lw.ln2_w, lw.ln2_b);
      }));
    // Gated MLPs: hook_pre is the gate projection, hook_pre_linear the up projection.
    const MatRef W_pre = c_.gated_mlp ? lw.W_gate : lw.W_in;
    const float* b_pre = c_.gated_mlp ? lw.b_gate : lw.b_in;
    hs_.push_back(reg_.add(HookPoint{Site::mlp_pre, l}, [this, W_pre, b_pre, d, dm](TensorView& act,
                                                                                    const HookContext&) {
      kernels::matmul_forward(act.data, dm, mlp_in_.data(), d, W_pre, b_pre, 1, N_);
    }, HookMode::Replace));
    if (c_.gated_mlp)
      hs_.push_back(reg_.add(HookPoint{Site::mlp_pre_linear, l}, [this, &lw, d, dm](TensorView& act,
                                                                                    const HookContext&) {
        kernels::matmul_forward(act.data, dm, mlp_in_.data(), d, lw.W_in, lw.b_in, 1, N_);
      }, HookMode::Replace));
  }

  void edit_logits() {
    if (p_.logits < 0) return;
    hs_.push_back(reg_.add(HookPoint{Site::resid_post, c_.n_layers - 1}, [this](TensorView& act, const HookContext&) {
      edited(p_.logits, act.data, final_in_);
      std::copy(final_in_.begin(), final_in_.end(), act.data);
    }, HookMode::Replace));
  }

  const EdgeAblation& ea_;
  const EdgePlan& p_;
  const Config& c_;
  const Weights& w_;
  HookRegistry reg_;
  int64_t N_;
  std::vector<std::vector<float>> cur_;      // senders' outputs in this run
  std::vector<std::vector<float>> head_in_;  // normed input per edited head receiver
  std::vector<float> mlp_in_, final_in_;
  std::vector<HookHandle> hs_;
};

Tensor EdgeAblation::run(const std::vector<uint8_t>& ablated, LogitsMode mode) const {
  if (ablated.size() != g_.edges.size())
    fail("circuit: ", ablated.size(), " edge flags for a graph of ", g_.edges.size(), " edges");
  const EdgePlan plan = plan_edges(g_, ablated, e_.model().config().n_layers, reuse_prefix_);
  if (!plan.any) {
    ForwardOptions fo;
    fo.logits = mode;
    return e_.forward(clean_batch_, nullptr, nullptr, fo).logits;
  }
  EdgeRun r(*this, plan);
  return r.run(mode);
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
