// The pieces ROME and MEMIT share: prefix contexts the model writes itself,
// the subject's MLP key averaged over them, and the target vector optimised
// through the engine's backward pass (ROME's compute_v, MEMIT's compute_z).
#include <cmath>
#include <random>

#include "glassbox/error.h"
#include "glassbox/generate.h"

#include "editing/detail.h"
#include "train/optimizer.h"

namespace glassbox::editing::detail {

namespace {

constexpr size_t kRowsPerPass = 64;

std::vector<int32_t> start_tokens(const Tokenizer& tok) {
  std::vector<int32_t> s = tok.encode("");
  if (s.empty()) s.push_back(tok.bos_id() >= 0 ? tok.bos_id() : 0);
  return s;
}

// The activation at `site` of `layer` at each prompt's subject token ([n, D]),
// or with `others`, at every other token of each prompt, prompt by prompt.
std::vector<float> rows_at(Engine& e, Site site, int layer, const std::vector<TokenizedPrompt>& prompts, bool others) {
  const Config& c = e.model().config();
  const int64_t D = site == Site::mlp_post ? c.d_mlp : c.d_model;
  std::vector<float> out;
  ForwardOptions opt;
  opt.logits = LogitsMode::None;
  opt.keep = {{site, layer}};
  if (layer < c.n_layers - 1) opt.stop_at_layer = layer + 1;  // nothing above is read
  for (size_t from = 0; from < prompts.size(); from += kRowsPerPass) {
    const size_t to = std::min(prompts.size(), from + kRowsPerPass);
    std::vector<std::vector<int32_t>> rows;
    for (size_t i = from; i < to; ++i) rows.push_back(prompts[i].tokens);
    const Batch b = Batch::from_rows(rows);
    const ForwardResult r = e.forward(b, nullptr, nullptr, opt);
    const float* a = r.get({site, layer}).f32();
    for (size_t i = from; i < to; ++i) {
      const int64_t subject = prompts[i].subject_last, n = int64_t(prompts[i].tokens.size());
      for (int64_t t = 0; t < n; ++t) {
        if ((t == subject) == others) continue;
        const float* src = a + (int64_t(i - from) * b.T + t) * D;
        out.insert(out.end(), src, src + D);
      }
    }
  }
  return out;
}

double norm(const std::vector<float>& x) {
  double s = 0;
  for (float v : x) s += double(v) * v;
  return std::sqrt(s);
}

}  // namespace

std::vector<std::string> prefix_contexts(Editor& ed, int n, int prefix_tokens, uint64_t seed) {
  std::vector<std::string> out{""};
  if (n <= 0 || prefix_tokens <= 0) return out;
  const Tokenizer& tok = ed.tokenizer();
  SamplingOptions so;
  so.max_new_tokens = prefix_tokens;
  so.temperature = 1.0f;
  so.seed = seed;
  const Generation g = generate(ed.engine(), std::vector<std::vector<int32_t>>(size_t(n), start_tokens(tok)), so);
  for (const auto& ids : g.tokens) {
    std::string text = tok.decode(ids, /*skip_special=*/true);
    for (char& ch : text)
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    while (!text.empty() && text.front() == ' ') text.erase(text.begin());
    while (!text.empty() && (text.back() == ' ' || text.back() == '.')) text.pop_back();
    out.push_back(text.empty() ? "" : text + ". ");
  }
  return out;
}

std::vector<TokenizedPrompt> in_contexts(const Editor& ed, const EditRequest& r,
                                         const std::vector<std::string>& contexts) {
  std::vector<TokenizedPrompt> out;
  for (const std::string& ctx : contexts) out.push_back(ed.tokenize(r.prompt, r.subject, ctx));
  return out;
}

std::vector<float> subject_key(Engine& e, int layer, const std::vector<TokenizedPrompt>& prompts) {
  const int64_t D = e.model().config().d_mlp;
  const std::vector<float> rows = rows_at(e, Site::mlp_post, layer, prompts, false);
  std::vector<float> k(size_t(D), 0.f);
  for (size_t i = 0; i < prompts.size(); ++i)
    for (int64_t j = 0; j < D; ++j) k[size_t(j)] += rows[i * size_t(D) + size_t(j)] / float(prompts.size());
  return k;
}

std::vector<float> other_keys(Engine& e, int layer, const std::vector<TokenizedPrompt>& prompts) {
  return rows_at(e, Site::mlp_post, layer, prompts, true);
}

std::vector<float> activation_at_subject(Engine& e, Site site, int layer, const TokenizedPrompt& p) {
  return rows_at(e, site, layer, {p}, false);
}

std::vector<std::vector<double>> probs_after(Engine& e, const std::vector<TokenizedPrompt>& prompts,
                                             const std::vector<std::vector<int32_t>>& tokens) {
  const int64_t V = e.model().config().d_vocab;
  std::vector<std::vector<int32_t>> rows;
  for (const auto& p : prompts) rows.push_back(p.tokens);
  const Batch b = Batch::from_rows(rows);
  const Tensor logits = e.forward(b).logits;
  std::vector<std::vector<double>> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const float* z = logits.f32() + (int64_t(i) * b.T + int64_t(rows[i].size()) - 1) * V;
    float mx = z[0];
    for (int64_t v = 1; v < V; ++v) mx = std::max(mx, z[v]);
    double s = 0;
    for (int64_t v = 0; v < V; ++v) s += std::exp(double(z[v] - mx));
    std::vector<double> p;
    for (int32_t t : tokens[i]) p.push_back(std::exp(double(z[t] - mx)) / s);
    out.push_back(std::move(p));
  }
  return out;
}

double nll_and_grad(const float* row, int64_t V, int32_t target, float scale, float* drow) {
  float mx = row[0];
  for (int64_t i = 1; i < V; ++i) mx = std::max(mx, row[i]);
  double z = 0;
  for (int64_t i = 0; i < V; ++i) z += std::exp(double(row[i] - mx));
  for (int64_t i = 0; i < V; ++i) drow[i] += scale * float(std::exp(double(row[i] - mx)) / z);
  drow[target] -= scale;
  return -(double(row[target] - mx) - std::log(z));
}

std::vector<float> optimise_delta(Editor& ed, const EditRequest& r, const std::vector<std::string>& contexts,
                                  Site site, int layer, const EditConfig& cfg) {
  Engine& e = ed.engine();
  const Config& c = ed.config();
  const int64_t D = c.d_model, V = c.d_vocab;
  const int32_t target = ed.single_token(r.target_new, "new object");
  // Rows: the prompt in every context (the new object is read at its end),
  // then ROME's essence prompt "<subject> is a" for the KL term.
  std::vector<TokenizedPrompt> prompts = in_contexts(ed, r, contexts);
  const size_t n_rewrite = prompts.size();
  prompts.push_back(ed.tokenize("{} is a", r.subject));
  std::vector<std::vector<int32_t>> rows;
  for (const auto& p : prompts) rows.push_back(p.tokens);
  const Batch batch = Batch::from_rows(rows);
  const int64_t T = batch.T, B = batch.B;

  // The value the delta is added to (bare prompt): its norm scales the L2
  // penalty and bounds the delta, as in ROME.
  const double v0_norm = std::max(1e-6, norm(activation_at_subject(e, site, layer, prompts[0])));
  Param delta{"delta", Tensor::zeros({D}), Tensor::zeros({D})};
  float* d = delta.value.f32();
  float* g = delta.grad.f32();

  HookRegistry hooks(c);
  const HookPoint at{site, layer};
  auto add = hooks.add(at, [&](TensorView& act, const HookContext&) {
    for (int64_t b = 0; b < B; ++b) {
      float* x = act.data + (b * T + prompts[size_t(b)].subject_last) * D;
      for (int64_t j = 0; j < D; ++j) x[j] += d[j];
    }
  }, HookMode::Replace);
  auto read_grad = hooks.add(at, [&](TensorView& grad, const HookContext&) {
    for (int64_t b = 0; b < B; ++b) {
      const float* x = grad.data + (b * T + prompts[size_t(b)].subject_last) * D;
      for (int64_t j = 0; j < D; ++j) g[j] += x[j];
    }
  }, HookMode::Grad);

  ForwardOptions opt;
  opt.for_backward = true;
  std::vector<float> dlogits(size_t(B * T * V));
  std::vector<float> p_essence0;  // the essence prompt's next-token distribution before the edit
  OptimizerConfig oc;
  oc.lr = cfg.v_lr;
  oc.beta2 = 0.999f;
  glassbox::detail::OptimizerState st;
  std::vector<Param> params{delta};
  for (int step = 0; step < cfg.v_steps; ++step) {
    const ForwardResult fwd = e.forward(batch, &hooks, nullptr, opt);
    std::fill(dlogits.begin(), dlogits.end(), 0.f);
    double nll = 0;
    for (size_t b = 0; b < n_rewrite; ++b) {
      const int64_t last = int64_t(prompts[b].tokens.size()) - 1, off = (int64_t(b) * T + last) * V;
      nll += nll_and_grad(fwd.logits.f32() + off, V, target, 1.0f / float(n_rewrite), dlogits.data() + off) /
             double(n_rewrite);
    }
    // KL(p0 || p) at the essence prompt's last token: gradient p - p0.
    const size_t ke = n_rewrite;
    const int64_t off = (int64_t(ke) * T + int64_t(prompts[ke].tokens.size()) - 1) * V;
    const float* z = fwd.logits.f32() + off;
    float mx = z[0];
    for (int64_t i = 1; i < V; ++i) mx = std::max(mx, z[i]);
    double sum = 0;
    std::vector<float> p(static_cast<size_t>(V));
    for (int64_t i = 0; i < V; ++i) sum += (p[size_t(i)] = std::exp(z[i] - mx));
    for (float& x : p) x = float(x / sum);
    if (p_essence0.empty()) p_essence0 = p;
    for (int64_t i = 0; i < V; ++i) dlogits[size_t(off + i)] += cfg.kl_factor * (p[size_t(i)] - p_essence0[size_t(i)]);
    if (nll < 0.05) break;  // ROME's stop: the new object is already near certain everywhere

    std::fill(g, g + D, 0.f);
    e.backward(batch, fwd, dlogits.data(), &hooks);
    const double wd = 2.0 * cfg.v_weight_decay / (v0_norm * v0_norm);
    for (int64_t j = 0; j < D; ++j) g[j] += float(wd * d[j]);
    glassbox::detail::adamw_step(params, st, oc, oc.lr);
    // ROME's clamp: the delta stays within clamp_norm times the value it edits.
    double dn = 0;
    for (int64_t j = 0; j < D; ++j) dn += double(d[j]) * d[j];
    dn = std::sqrt(dn);
    const double cap = cfg.clamp_norm * v0_norm;
    if (dn > cap)
      for (int64_t j = 0; j < D; ++j) d[j] = float(d[j] * cap / dn);
  }
  return std::vector<float>(d, d + D);
}

}  // namespace glassbox::editing::detail
