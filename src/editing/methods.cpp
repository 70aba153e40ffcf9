// ROME, MEMIT, FT and FT-L: how each turns requests into weight changes.
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/progress.h"

#include "editing/detail.h"
#include "train/optimizer.h"

namespace glassbox::editing {

namespace {

constexpr enum_table::Names<Method, 4> kMethodNames = {
    {Method::Rome, "rome"}, {Method::Memit, "memit"}, {Method::Ft, "ft"}, {Method::FtL, "ft-l"}};
constexpr enum_table::Names<MemitKeys, 2> kMemitKeyNames = {{MemitKeys::Mean, "mean"}, {MemitKeys::Bare, "bare"}};

void check_layers(const Config& c, const std::vector<int>& layers, Method m) {
  if (layers.empty()) fail("edit: no layer to edit");
  if (m != Method::Memit && layers.size() != 1)
    fail("edit: ", to_string(m), " edits one layer (", layers.size(), " given); MEMIT spreads edits over several");
  for (int l : layers)
    if (l < 0 || l >= c.n_layers) fail("edit: layer ", l, " out of range (the model has ", c.n_layers, " layers)");
  // ROME and MEMIT write at the subject's last token; the last layer's output
  // there is read by nothing (the answer is read at the prompt's end), so the
  // target value would get no gradient and the edit would silently be zero.
  if (m != Method::Ft && m != Method::FtL && layers.back() == c.n_layers - 1)
    fail("edit: ", to_string(m), " cannot write at layer ", layers.back(), ", the model's last: its output at the "
         "subject is read by no later layer; choose layers below ", c.n_layers - 1, " (FT / FT-L can edit it)");
}

// ROME: one request after another, each a rank-one change at one layer.
std::vector<WeightDelta> rome(Editor& ed, const std::vector<EditRequest>& requests, const EditConfig& cfg,
                              const std::vector<std::string>& contexts, const std::vector<KeyCovariance>& cov,
                              ProgressBar& bar) {
  const int l = cfg.layers[0];
  const std::vector<double> C = detail::damped(detail::covariance_for(cov, l), cfg.cov_ridge);
  std::vector<WeightDelta> out;
  for (size_t i = 0; i < requests.size(); ++i) {
    const EditRequest& r = requests[i];
    const std::vector<TokenizedPrompt> prompts = detail::in_contexts(ed, r, contexts);
    const std::vector<float> k = detail::subject_key(ed.engine(), l, prompts);
    const std::vector<float> k_bare = detail::activation_at_subject(ed.engine(), Site::mlp_post, l, prompts[0]);
    // The value v* = (the bare prompt's output) + delta leaves residual delta.
    const std::vector<float> delta = detail::optimise_delta(ed, r, contexts, Site::mlp_out, l, cfg);
    out.push_back(rome_delta(l, C, k, k_bare, delta, ed.config().d_model));
    ed.add_delta(out.back());
    bar.update(int64_t(i + 1), int64_t(requests.size()));
  }
  return out;
}

// A += w K^T K for the rows of K [m, d].
void add_gram(std::vector<double>& A, const std::vector<double>& K, int64_t d, double w) {
  const int64_t m = int64_t(K.size()) / d;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t a = 0; a < d; ++a) {
      const double ka = w * K[size_t(i * d + a)];
      for (int64_t b = 0; b < d; ++b) A[size_t(a * d + b)] += ka * K[size_t(i * d + b)];
    }
}

// MEMIT (Meng et al. 2023, Algorithm 1): a residual target z_i at the last
// layer L for every request, then layer by layer from the lowest, the change
// that writes each request's share of what is still missing at L,
// (z_i - h_i^L) / (layers left), through the keys of that layer:
// Delta W_out = (lambda C + K^T K)^-1 K^T R (K [n, d_mlp], R [n, d_model]).
std::vector<WeightDelta> memit(Editor& ed, const std::vector<EditRequest>& requests, const EditConfig& cfg,
                               const std::vector<std::string>& contexts, const std::vector<KeyCovariance>& cov,
                               ProgressBar& bar) {
  Engine& e = ed.engine();
  const Config& c = ed.config();
  const int64_t n = int64_t(requests.size()), Dm = c.d_mlp, D = c.d_model;
  const int L = cfg.layers.back();
  std::vector<std::vector<TokenizedPrompt>> prompts;
  for (const EditRequest& r : requests) prompts.push_back(detail::in_contexts(ed, r, contexts));
  std::vector<TokenizedPrompt> bare;  // each request's prompt without a prefix context
  for (const auto& p : prompts) bare.push_back(p[0]);
  auto resid_at_L = [&](size_t i) { return detail::activation_at_subject(e, Site::resid_post, L, prompts[i][0]); };
  std::vector<std::vector<float>> z(static_cast<size_t>(n));
  for (size_t i = 0; i < size_t(n); ++i) {
    z[i] = resid_at_L(i);
    const std::vector<float> delta = detail::optimise_delta(ed, requests[i], contexts, Site::resid_post, L, cfg);
    for (int64_t j = 0; j < D; ++j) z[i][size_t(j)] += delta[size_t(j)];
    bar.update(int64_t(i + 1), n + int64_t(cfg.layers.size()));
  }
  std::vector<WeightDelta> out;
  for (size_t li = 0; li < cfg.layers.size(); ++li) {
    const int l = cfg.layers[li];
    std::vector<double> K(size_t(n * Dm)), R(size_t(n * D));
    for (size_t i = 0; i < size_t(n); ++i) {
      const std::vector<float> k = cfg.memit_keys == MemitKeys::Bare
                                       ? detail::activation_at_subject(e, Site::mlp_post, l, prompts[i][0])
                                       : detail::subject_key(e, l, prompts[i]);
      const std::vector<float> h = resid_at_L(i);
      std::copy(k.begin(), k.end(), K.begin() + int64_t(i) * Dm);
      for (int64_t j = 0; j < D; ++j)
        R[size_t(int64_t(i) * D + j)] = (double(z[i][size_t(j)]) - h[size_t(j)]) / double(cfg.layers.size() - li);
    }
    // A = lambda C + K^T K + w P^T P; X = A^-1 K^T [Dm, n].
    std::vector<double> A = detail::damped(detail::covariance_for(cov, l), cfg.cov_ridge);
    for (double& a : A) a *= cfg.mom2_weight;
    add_gram(A, K, Dm, 1.0);
    if (cfg.memit_preserve > 0) {
      const std::vector<float> P = detail::other_keys(e, l, bare);
      add_gram(A, std::vector<double>(P.begin(), P.end()), Dm, cfg.memit_preserve);
    }
    std::vector<double> X(size_t(Dm * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t a = 0; a < Dm; ++a) X[size_t(a * n + i)] = K[size_t(i * Dm + a)];
    detail::solve_spd(std::move(A), X, Dm, n, "MEMIT (lambda C + K^T K)");
    WeightDelta wd;
    wd.layer = l;
    wd.rank = n;
    wd.d_mlp = Dm;
    wd.d_model = D;
    wd.left.assign(X.begin(), X.end());
    wd.right.resize(size_t(D * n));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < D; ++j) wd.right[size_t(j * n + i)] = float(R[size_t(i * D + j)]);
    ed.add_delta(wd);
    out.push_back(std::move(wd));
    bar.update(n + int64_t(li + 1), n + int64_t(cfg.layers.size()));
  }
  return out;
}

// MEMIT's passes: the first over every request, each further one over the
// requests whose new object is still below memit_retry_below after the bare
// prompt, their targets optimised in the model the earlier passes edited.
std::vector<WeightDelta> memit_rounds(Editor& ed, const std::vector<EditRequest>& requests, const EditConfig& cfg,
                                      const std::vector<std::string>& contexts,
                                      const std::vector<KeyCovariance>& cov, ProgressBar& bar) {
  std::vector<WeightDelta> out;
  std::vector<EditRequest> todo = requests;
  for (int round = 0; round < cfg.memit_rounds && !todo.empty(); ++round) {
    for (WeightDelta& d : memit(ed, todo, cfg, contexts, cov, bar)) out.push_back(std::move(d));
    if (round + 1 == cfg.memit_rounds) break;
    std::vector<TokenizedPrompt> prompts;
    std::vector<std::vector<int32_t>> ids;
    for (const EditRequest& r : todo) {
      prompts.push_back(ed.tokenize(r.prompt, r.subject));
      ids.push_back({ed.single_token(r.target_new, "new object")});
    }
    const auto p = detail::probs_after(ed.engine(), prompts, ids);
    std::vector<EditRequest> left;
    for (size_t i = 0; i < todo.size(); ++i)
      if (p[i][0] < cfg.memit_retry_below) left.push_back(todo[i]);
    todo = std::move(left);
  }
  return out;
}

// FT / FT-L: Adam on one layer's W_out alone, on -log p(new) after every
// request's prompt in every context; FT-L projects the change back into
// the L-infinity ball of radius ft_linf after every step (Zhu et al. 2020).
std::vector<WeightDelta> finetune(Editor& ed, const std::vector<EditRequest>& requests, const EditConfig& cfg,
                                  const std::vector<std::string>& contexts, ProgressBar& bar) {
  Engine& e = ed.engine();
  const Config& c = ed.config();
  const int l = cfg.layers[0];
  const int64_t V = c.d_vocab;
  MutMatRef W = ed.w_out(l);
  // The parameter holding W_out(l) and its gradient buffer.
  Trainable& tr = ed.trainable();
  Param* p = nullptr;
  for (Param& q : tr.params())
    if (W.data >= q.value.f32() && W.data < q.value.f32() + q.value.numel()) p = &q;
  if (!p) fail("edit: the MLP output matrix of layer ", l, " is not one of the model's parameters");
  const std::vector<float> w0(p->value.f32(), p->value.f32() + p->value.numel());

  std::vector<std::vector<int32_t>> rows;
  std::vector<int32_t> targets;
  for (const EditRequest& r : requests) {
    const int32_t t = ed.single_token(r.target_new, "new object");
    for (const TokenizedPrompt& tp : detail::in_contexts(ed, r, contexts)) {
      rows.push_back(tp.tokens);
      targets.push_back(t);
    }
  }
  const Batch batch = Batch::from_rows(rows);
  const int64_t T = batch.T;
  std::vector<float> dlogits(size_t(batch.B * T * V));
  ForwardOptions opt;
  opt.for_backward = true;
  OptimizerConfig oc;
  oc.lr = cfg.ft_lr;
  oc.beta2 = 0.999f;
  glassbox::detail::OptimizerState st;
  std::vector<Param> params{*p};
  for (int step = 0; step < cfg.ft_steps; ++step) {
    tr.zero_grad();
    const ForwardResult fwd = e.forward(batch, nullptr, nullptr, opt);
    std::fill(dlogits.begin(), dlogits.end(), 0.f);
    double nll = 0;
    for (size_t b = 0; b < rows.size(); ++b) {
      const int64_t off = (int64_t(b) * T + int64_t(rows[b].size()) - 1) * V;
      nll += detail::nll_and_grad(fwd.logits.f32() + off, V, targets[b], 1.0f / float(rows.size()),
                                  dlogits.data() + off) / double(rows.size());
    }
    if (nll < 0.01) break;
    e.backward(batch, fwd, dlogits.data(), nullptr, &tr.grads());
    glassbox::detail::adamw_step(params, st, oc, oc.lr);
    if (cfg.method == Method::FtL) {
      float* x = p->value.f32();
      for (size_t i = 0; i < w0.size(); ++i) x[i] = std::clamp(x[i], w0[i] - cfg.ft_linf, w0[i] + cfg.ft_linf);
    }
    bar.update(step + 1, cfg.ft_steps);
  }
  // The change as a factor pair in W_out's logical orientation: left = Delta, right = I.
  WeightDelta wd;
  wd.layer = l;
  wd.d_mlp = W.rows;
  wd.d_model = W.cols;
  wd.rank = W.cols;
  wd.left.resize(size_t(W.rows * W.cols));
  const float* x = p->value.f32();
  const float* base = p->value.f32();
  for (int64_t i = 0; i < W.rows; ++i)
    for (int64_t j = 0; j < W.cols; ++j) {
      const size_t at = size_t((W.data - base) + i * W.rs + j * W.cs);
      wd.left[size_t(i * W.cols + j)] = x[at] - w0[at];
    }
  wd.right.assign(size_t(W.cols * W.cols), 0.f);
  for (int64_t j = 0; j < W.cols; ++j) wd.right[size_t(j * W.cols + j)] = 1.f;
  return {wd};
}

}  // namespace

const char* to_string(Method m) { return enum_table::name(m, kMethodNames); }
const char* to_string(MemitKeys k) { return enum_table::name(k, kMemitKeyNames); }

std::vector<int> default_layers(const Config& c, Method m) {
  const bool small = c.n_layers <= 4;
  const int l = small ? 0 : c.n_layers * 17 / 48;
  if (m != Method::Memit) return {l};
  std::vector<int> out{l};  // never the last layer (check_layers)
  while (out.back() + 1 < c.n_layers - 1 && (small || out.size() < 2)) out.push_back(out.back() + 1);
  return out;
}

WeightDelta rome_delta(int layer, const std::vector<double>& C, const std::vector<float>& k_star,
                       const std::vector<float>& k_norm, const std::vector<float>& residual, int64_t d_model) {
  const int64_t d = int64_t(k_star.size());
  if (C.size() != size_t(d * d)) fail("rome: covariance is not [", d, " x ", d, "]");
  if (k_norm.size() != k_star.size()) fail("rome: the keys have ", k_star.size(), " and ", k_norm.size(), " values");
  if (residual.size() != size_t(d_model)) fail("rome: residual has ", residual.size(), " values, expected ", d_model);
  std::vector<double> x(k_star.begin(), k_star.end());
  detail::solve_spd(C, x, d, 1, "ROME (key covariance)");
  double kx = 0;
  for (int64_t i = 0; i < d; ++i) kx += double(k_norm[size_t(i)]) * x[size_t(i)];
  if (!(std::abs(kx) > 1e-12)) fail("rome: the key is orthogonal to C^-1 k* (k^T C^-1 k* = ", kx, ")");
  WeightDelta wd;
  wd.layer = layer;
  wd.rank = 1;
  wd.d_mlp = d;
  wd.d_model = d_model;
  for (double v : x) wd.left.push_back(float(v / kx));
  wd.right = residual;
  return wd;
}

std::vector<WeightDelta> Editor::apply(const std::vector<EditRequest>& requests, const EditConfig& cfg_in,
                                       const std::vector<KeyCovariance>& cov, bool progress) {
  if (requests.empty()) fail("edit: no edit requests");
  EditConfig cfg = cfg_in;
  if (cfg.layers.empty()) cfg.layers = default_layers(config(), cfg.method);
  check_layers(config(), cfg.layers, cfg.method);
  if (cfg.memit_rounds < 1) fail("edit: memit_rounds must be at least 1 (got ", cfg.memit_rounds, ")");
  if (!(cfg.memit_preserve >= 0)) fail("edit: memit_preserve must be >= 0 (got ", cfg.memit_preserve, ")");
  if (!(cfg.memit_retry_below >= 0 && cfg.memit_retry_below <= 1))
    fail("edit: memit_retry_below is a probability, in [0, 1] (got ", cfg.memit_retry_below, ")");
  for (const EditRequest& r : requests) {
    tokenize(r.prompt, r.subject);  // subject present and tokenizing on its own
    const int32_t t = single_token(r.target_new, "new object");
    if (!r.target_true.empty() && single_token(r.target_true, "true object") == t)
      fail("edit: the new object '", r.target_new, "' of '", r.subject, "' is the object it already has");
  }
  const std::vector<std::string> contexts = detail::prefix_contexts(*this, cfg.n_prefixes, cfg.prefix_tokens, cfg.seed);
  ProgressBar bar(std::string("edit ") + to_string(cfg.method), "", progress ? ProgressWhen::Terminal : ProgressWhen::Never);
  switch (cfg.method) {
    case Method::Rome: return rome(*this, requests, cfg, contexts, cov, bar);
    case Method::Memit: return memit_rounds(*this, requests, cfg, contexts, cov, bar);
    case Method::Ft:
    case Method::FtL: return finetune(*this, requests, cfg, {""}, bar);
  }
  fail("edit: unknown method");
}

}  // namespace glassbox::editing

namespace glassbox {
template <> editing::Method from_string<editing::Method>(std::string_view s) {
  return enum_table::value(s, editing::kMethodNames, "edit method");
}
template <> editing::MemitKeys from_string<editing::MemitKeys>(std::string_view s) {
  return enum_table::value(s, editing::kMemitKeyNames, "memit_keys");
}
}  // namespace glassbox
