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
  if (kind == AblationKind::Resample) {
    if (source.B != clean.B || source.T != clean.T)
      fail("circuit: clean batch is ", clean.B, "x", clean.T, " but the corrupted (resample) batch is ", source.B, "x",
           source.T, " (they must have the same shape)");
    if (source.mask != clean.mask) fail("circuit: clean and corrupted batches are padded differently");
  }
  if (kind == AblationKind::Mean && source.T != clean.T)
    fail("circuit: mean ablation needs a reference batch as long as the clean one (", clean.T,
         " positions; means are taken per position), got ", source.T);
  clean_ = node_outputs(e, clean, g_, reuse_prefix ? &clean_resid_ : nullptr);
  suffix_.resize(size_t(c.n_layers));
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

Tensor EdgeAblation::run(const std::vector<uint8_t>& ablated, LogitsMode mode) const {
  const Config& c = e_.model().config();
  const Weights& w = e_.model().weights();
  if (ablated.size() != g_.edges.size())
    fail("circuit: ", ablated.size(), " edge flags for a graph of ", g_.edges.size(), " edges");
  const int64_t N = clean_batch_.B * clean_batch_.T, d = c.d_model, H = c.n_heads, L = c.n_layers;
  const size_t n_nodes = g_.nodes.size();
  ForwardOptions fo;
  fo.logits = mode;

  // cut[r]: senders whose edge into receiver r is ablated.
  std::vector<std::vector<int>> cut(g_.receivers.size());
  std::vector<uint8_t> sends(n_nodes, 0);
  bool any = false;
  for (size_t i = 0; i < ablated.size(); ++i)
    if (ablated[i]) {
      cut[size_t(g_.edges[i].receiver)].push_back(g_.edges[i].from);
      sends[size_t(g_.edges[i].from)] = 1;
      any = true;
    }
  if (!any) return e_.forward(clean_batch_, nullptr, nullptr, fo).logits;

  // Node index of layer l's head 0 and MLP; receivers of layer l's heads.
  std::vector<int> head0(static_cast<size_t>(L)), mlp(static_cast<size_t>(L), -1);
  for (size_t i = 0; i < n_nodes; ++i) {
    const CircuitNode& n = g_.nodes[i];
    if (n.kind == NodeKind::Head && n.head == 0) head0[size_t(n.layer)] = int(i);
    if (n.kind == NodeKind::Mlp) mlp[size_t(n.layer)] = int(i);
  }
  std::vector<std::vector<int>> head_receivers(static_cast<size_t>(L));
  std::vector<int> mlp_receiver(static_cast<size_t>(L), -1);
  int logits = -1;
  int first = int(L) - 1;  // the earliest layer reading an ablated edge (the logits: the last layer's output)
  for (size_t r = 0; r < g_.receivers.size(); ++r) {
    const CircuitNode& n = g_.nodes[size_t(g_.receivers[r].node)];
    if (cut[r].empty()) continue;
    if (n.kind == NodeKind::Head) head_receivers[size_t(n.layer)].push_back(int(r));
    if (n.kind == NodeKind::Mlp) mlp_receiver[size_t(n.layer)] = int(r);
    if (n.kind == NodeKind::Logits) logits = int(r);
    if (n.kind != NodeKind::Logits) first = std::min(first, n.layer);
  }
  if (!reuse_prefix_) first = 0;
  // Layers before `first` compute what the clean run did: start the run at
  // `first` (a model of layers first..), fed the clean residual stream there.
  if (first > 0 && !suffix_[size_t(first)].model) suffix_[size_t(first)] = layer_suffix(e_.model(), first);
  Engine& eng = first > 0 ? *suffix_[size_t(first)].engine : e_;
  HookRegistry reg(eng.model().config());
  std::vector<HookHandle> hs;
  auto at = [first](Site s, int l) { return HookPoint{s, l - first}; };  // layer l of the full model
  if (first > 0)
    hs.push_back(reg.add(HookPoint{Site::resid_pre, 0}, [src = clean_resid_[size_t(first)].data()](
                                                            TensorView& act, const HookContext&) {
      std::copy(src, src + act.numel(), act.data);
    }, HookMode::Replace));  // replace hooks fire before the observers below read it

  // Senders' outputs in this run (they change when their own inputs are ablated;
  // before `first`, nothing they read is).
  std::vector<std::vector<float>> cur(n_nodes);
  cur[0] = clean_[0];  // nothing is upstream of the input
  for (size_t u = 1; u < n_nodes; ++u)
    if (sends[u] && g_.nodes[u].layer < first) cur[u] = clean_[u];
  for (int l = first; l < L; ++l) {
    bool heads = false;
    for (int h = 0; h < H; ++h) heads |= sends[size_t(head0[size_t(l)] + h)] != 0;
    if (heads)
      hs.push_back(reg.add(at(Site::result, l), [&, l](TensorView& act, const HookContext&) {
        for (int h = 0; h < H; ++h) {
          const int node = head0[size_t(l)] + h;
          if (!sends[size_t(node)]) continue;
          cur[size_t(node)].resize(size_t(N * d));
          for (int64_t t = 0; t < N; ++t)
            std::memcpy(&cur[size_t(node)][size_t(t * d)], act.data + (t * H + h) * d, size_t(d) * 4);
        }
      }));
    if (mlp[size_t(l)] >= 0 && sends[size_t(mlp[size_t(l)])])
      hs.push_back(reg.add(at(Site::mlp_out, l), [&, l](TensorView& act, const HookContext&) {
        cur[size_t(mlp[size_t(l)])].assign(act.data, act.data + N * d);
      }));
  }
  // The residual `x` [N, d] as receiver r reads it: += ablated_u - out_u for each cut sender u.
  auto edited = [&](int r, const float* x, std::vector<float>& out) {
    out.assign(x, x + N * d);
    for (int u : cut[size_t(r)]) {
      const float* a = ablated_[size_t(u)].data();
      const float* o = cur[size_t(u)].data();
      for (int64_t i = 0; i < N * d; ++i) out[size_t(i)] += a[i] - o[i];
    }
  };

  // Receivers: a head's query / key / value input re-projects its slice of
  // hook_q / hook_k / hook_v from its own edited residual; MLPs their
  // pre-activations; the logits read an edited final residual.
  std::vector<std::vector<float>> head_in(g_.receivers.size());  // normed input per edited head receiver
  std::vector<float> mlp_in;
  for (int l = first; l < L; ++l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    const std::vector<int>& rs = head_receivers[size_t(l)];
    const int mr = mlp_receiver[size_t(l)];
    // With a parallel residual the MLP reads the layer's input, as its heads do.
    const bool mlp_reads_pre = mr >= 0 && c.parallel_residual;
    if (!rs.empty() || mlp_reads_pre)
      hs.push_back(reg.add(at(Site::resid_pre, l), [&, l, rs, mr, mlp_reads_pre](TensorView& act,
                                                                                       const HookContext&) {
        const LayerWeights& lw = w.layers[size_t(l)];
        for (int r : rs) {
          std::vector<float>& x = head_in[size_t(r)];
          edited(r, act.data, x);
          apply_norm(x.data(), x.data(), N, c, lw.ln1_w, lw.ln1_b);
        }
        if (mlp_reads_pre) {
          edited(mr, act.data, mlp_in);
          apply_norm(mlp_in.data(), mlp_in.data(), N, c, lw.ln2_w, lw.ln2_b);
        }
      }));
    if (!rs.empty()) {
      const std::pair<Port, std::pair<Site, const HeadProj*>> projections[] = {
          {Port::Q, {Site::q, &lw.W_Q}}, {Port::K, {Site::k, &lw.W_K}}, {Port::V, {Site::v, &lw.W_V}}};
      for (const auto& [port, sp] : projections) {
        std::vector<int> mine;
        for (int r : rs)
          if (g_.receivers[size_t(r)].port == port) mine.push_back(r);
        if (mine.empty()) continue;
        // A key / value receiver's node is its group's first query head.
        const int group = port == Port::Q ? 1 : g_.kv_group;
        hs.push_back(reg.add(at(sp.first, l), [&, P = sp.second, mine, group](TensorView& act,
                                                                                    const HookContext&) {
          for (int r : mine)
            project_head(act.data, head_in[size_t(r)].data(), N, *P, g_.nodes[size_t(g_.receivers[size_t(r)].node)].head / group);
        }, HookMode::Replace));
      }
    }
    if (mr >= 0) {
      if (!mlp_reads_pre)
        hs.push_back(reg.add(at(Site::resid_mid, l), [&, l, mr](TensorView& act, const HookContext&) {
          edited(mr, act.data, mlp_in);
          apply_norm(mlp_in.data(), mlp_in.data(), N, c, w.layers[size_t(l)].ln2_w, w.layers[size_t(l)].ln2_b);
        }));
      // Gated MLPs: hook_pre is the gate projection, hook_pre_linear the up projection.
      const MatRef W_pre = c.gated_mlp ? lw.W_gate : lw.W_in;
      const float* b_pre = c.gated_mlp ? lw.b_gate : lw.b_in;
      hs.push_back(reg.add(at(Site::mlp_pre, l), [&, W_pre, b_pre](TensorView& act, const HookContext&) {
        kernels::matmul_forward(act.data, c.d_mlp, mlp_in.data(), d, W_pre, b_pre, 1, N);
      }, HookMode::Replace));
      if (c.gated_mlp)
        hs.push_back(reg.add(at(Site::mlp_pre_linear, l), [&, W = lw.W_in, b = lw.b_in](TensorView& act,
                                                                                               const HookContext&) {
          kernels::matmul_forward(act.data, c.d_mlp, mlp_in.data(), d, W, b, 1, N);
        }, HookMode::Replace));
    }
  }
  std::vector<float> final_in;
  if (logits >= 0)
    hs.push_back(reg.add(at(Site::resid_post, int(L - 1)), [&](TensorView& act, const HookContext&) {
      edited(logits, act.data, final_in);
      std::copy(final_in.begin(), final_in.end(), act.data);
    }, HookMode::Replace));
  return eng.forward(clean_batch_, &reg, nullptr, fo).logits;
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
      fo.keep.insert({int(Site::ln1_normalized), l});
      fo.keep.insert({int(Site::ln1_scale), l});
      if (mlps) fo.keep.insert({int(Site::ln2_normalized), l}), fo.keep.insert({int(Site::ln2_scale), l});
    }
  if (input)
    hs.push_back(reg.add(HookPoint{Site::resid_pre, 0}, [input](TensorView& act, const HookContext&) {
      std::memcpy(act.data, input, size_t(act.numel()) * sizeof(float));
    }, HookMode::Replace));
  std::map<std::pair<int, int>, std::vector<float>> grads;
  auto collect = [&grads](TensorView& gr, const HookContext& ctx) {
    grads[{int(ctx.point.site), ctx.point.layer}].assign(gr.data, gr.data + gr.numel());
  };
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
  std::map<std::pair<int, int>, const float*> kept;
  for (const auto& [p, t] : fwd.kept) kept[{int(p.site), p.layer}] = t.f32();
  auto saved = [&](Site s, int l) { return norm ? kept.at({int(s), l}) : nullptr; };

  const int64_t Hkv = c.n_kv_heads;
  std::vector<std::vector<float>> out(g.receivers.size());
  std::vector<float> da(static_cast<size_t>(N * d));
  for (size_t r = 0; r < g.receivers.size(); ++r) {
    const CircuitNode& n = g.nodes[size_t(g.receivers[r].node)];
    const int l = n.layer;
    out[r].assign(static_cast<size_t>(N * d), 0.f);
    if (n.kind == NodeKind::Logits) {
      out[r] = grads.at({int(Site::resid_post), int(L - 1)});
      continue;
    }
    const LayerWeights& lw = w.layers[size_t(l)];
    std::fill(da.begin(), da.end(), 0.f);
    // d (normed input) += d out . W^T for each projection the receiver feeds.
    auto back = [&](Site s, const MatRef& W, int64_t col, int64_t ld) {
      kernels::matmul_backward(da.data(), d, MutMatRef{}, nullptr, 1, grads.at({int(s), l}).data() + col, ld, nullptr,
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
