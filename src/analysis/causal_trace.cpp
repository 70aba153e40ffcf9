// Causal tracing (glassbox/analysis/causal_trace.h): the clean run keeps every
// state a cell may restore; the corrupted and restored runs of a prompt are
// the rows of few batches, cell j's seeds in rows j*S .. j*S+S-1, the noise
// added by a replace hook on hook_embed and the clean states copied in by
// replace hooks on the restored sites.
#include "glassbox/analysis/causal_trace.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "analysis/detail.h"
#include "analysis/patching_batch.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "glassbox/tokenizer.h"

namespace glassbox::analysis {

namespace {

constexpr enum_table::Names<TraceSite, 3> kSites = {
    {TraceSite::Resid, "resid"}, {TraceSite::Mlp, "mlp"}, {TraceSite::Attn, "attn"}};
constexpr enum_table::Names<TokenRole, 7> kRoles = {{TokenRole::BeforeSubject, "tokens before the subject"},
                                                    {TokenRole::FirstSubject, "first subject token"},
                                                    {TokenRole::MiddleSubject, "middle subject tokens"},
                                                    {TokenRole::LastSubject, "last subject token"},
                                                    {TokenRole::FirstSubsequent, "first subsequent token"},
                                                    {TokenRole::FurtherTokens, "further tokens"},
                                                    {TokenRole::LastToken, "last token"}};

Site hook_site(TraceSite s) {
  switch (s) {
    case TraceSite::Resid: return Site::resid_post;
    case TraceSite::Mlp: return Site::mlp_out;
    case TraceSite::Attn: return Site::attn_out;
  }
  return Site::resid_post;
}

// One restored run: which site, the layers restored, the position.
struct Cell {
  int site;  // index into TraceOptions::sites; -1: the corrupted run (nothing restored)
  int64_t layer, first, last, pos;  // layers [first, last)
};

// N(0, 1) by Box-Muller on the generator's raw 64-bit draws: identical on every
// platform (std::normal_distribution is not specified bit for bit).
double standard_normal(std::mt19937_64& rng) {
  const double u1 = (double(rng() >> 11) + 0.5) * 0x1.0p-53, u2 = double(rng() >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}


float embedding_std(const Model& m) {
  const Weights& w = m.weights();
  const Config& c = m.config();
  if (!w.W_E) fail(m.source(), ": causal tracing needs the token embedding matrix to scale its noise; pass an "
                   "absolute noise std instead");
  const size_t n = size_t(c.d_vocab) * size_t(c.d_model);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; ++i) sum += w.W_E[i];
  const double mean = sum / double(n);
  for (size_t i = 0; i < n; ++i) sq += (w.W_E[i] - mean) * (w.W_E[i] - mean);
  return float(std::sqrt(sq / double(n)));
}

void check(const Model& m, const std::vector<TracePrompt>& prompts, const TraceOptions& o) {
  const Config& c = m.config();
  if (prompts.empty()) fail("causal trace: no prompts");
  if (o.sites.empty()) fail("causal trace: no sites to restore");
  for (TraceSite s : o.sites)
    if (!site_exists(hook_site(s), c))
      fail("causal trace: the model has no ", to_string(s), " site (", HookPoint{hook_site(s), 0}.name(), ")");
  if (o.window < 1 || o.window > c.n_layers)
    fail("causal trace: window ", o.window, " must be between 1 and the model's ", c.n_layers, " layers");
  if (o.samples < 1) fail("causal trace: samples must be at least 1, not ", o.samples);
  if (!(o.noise > 0) && !(o.noise_std > 0)) fail("causal trace: noise must be positive, not ", o.noise);
  for (size_t i = 0; i < prompts.size(); ++i) {
    const TracePrompt& p = prompts[i];
    const auto T = int64_t(p.tokens.size());
    if (T < 2) fail("causal trace: prompt ", i, " has ", T, " tokens; it needs a subject and a token after it");
    if (p.subject_begin < 0 || p.subject_end <= p.subject_begin || p.subject_end > T)
      fail("causal trace: prompt ", i, ": subject span [", p.subject_begin, ", ", p.subject_end,
           ") is not inside its ", T, " tokens");
    if (p.subject_end == T)
      fail("causal trace: prompt ", i, " ('", p.text, "') ends with its subject; the answer is read at the last "
           "token, which must follow the subject");
    if (T > c.n_ctx) fail("causal trace: prompt ", i, " has ", T, " tokens; the model's context is ", c.n_ctx);
    for (int32_t t : p.tokens)
      if (t < 0 || t >= c.d_vocab) fail("causal trace: prompt ", i, ": token ", t, " is outside the vocabulary");
    if (p.answer >= c.d_vocab) fail("causal trace: prompt ", i, ": answer ", p.answer, " is outside the vocabulary");
  }
}

// p(answer) at the last position of every row of logits [R, 1, V].
std::vector<double> answer_probs(const Tensor& logits, int32_t answer) {
  const int64_t R = logits.shape[0], V = logits.shape[2];
  std::vector<double> out(static_cast<size_t>(R)), lp;
  for (int64_t r = 0; r < R; ++r) {
    detail::log_softmax(logits.f32() + r * V, V, lp);
    out[size_t(r)] = std::exp(lp[size_t(answer)]);
  }
  return out;
}

PromptTrace trace_one(Engine& e, const TracePrompt& prompt, const TraceOptions& o, float noise_std) {
  const Model& m = e.model();
  const Config& c = m.config();
  const int64_t T = int64_t(prompt.tokens.size()), L = c.n_layers, d = c.d_model, S = o.samples;
  const int64_t n_subj = prompt.subject_end - prompt.subject_begin;
  PromptTrace out;
  out.prompt = prompt;

  // Clean run: every state a cell may restore.
  ForwardOptions keep_opt;
  keep_opt.logits = LogitsMode::Last;
  for (TraceSite s : o.sites)
    for (int64_t l = 0; l < L; ++l) keep_opt.keep.insert({hook_site(s), int(l)});
  const Batch clean = Batch::single(prompt.tokens);
  ForwardResult cr = e.forward(clean, nullptr, nullptr, keep_opt);
  std::map<HookPoint, std::vector<float>> states;
  for (const auto& [p, t] : cr.kept) states[p] = t.to_f32_vector();
  const int64_t V = cr.logits.shape[2];
  if (out.prompt.answer < 0)
    out.prompt.answer = int32_t(std::max_element(cr.logits.f32(), cr.logits.f32() + V) - cr.logits.f32());
  out.p_clean = answer_probs(cr.logits, out.prompt.answer)[0];

  // Cells: the corrupted run, then every (site, layer, position) from the
  // subject on (earlier positions are the same in both runs: effect 0).
  std::vector<Cell> cells{{-1, 0, 0, 0, 0}};
  for (size_t g = 0; g < o.sites.size(); ++g) {
    const int k = o.sites[g] == TraceSite::Resid ? 1 : o.window;
    for (int64_t l = 0; l < L; ++l) {
      const auto [first, last] = trace_window(l, k, L);
      for (int64_t t = prompt.subject_begin; t < T; ++t) cells.push_back({int(g), l, first, last, t});
    }
  }
  std::vector<std::vector<float>> noise;
  for (int s = 0; s < S; ++s) noise.push_back(trace_noise(o.seed, s, n_subj, d, noise_std));

  ForwardOptions fo;
  fo.logits = LogitsMode::All;
  fo.logit_positions = {T - 1};
  const int64_t per_batch = detail::cells_per_batch(e, S, T, fo, o.max_bytes, 0);
  std::vector<double> p_cell(cells.size());
  for (size_t c0 = 0; c0 < cells.size(); c0 += size_t(per_batch)) {
    const size_t c1 = std::min(cells.size(), c0 + size_t(per_batch));
    const int64_t k = int64_t(c1 - c0);
    const Batch b = detail::tile_batch(clean, k * S, 0);
    HookRegistry reg(c);
    std::vector<HookHandle> handles;
    handles.push_back(reg.add(
        HookPoint{Site::embed, -1},
        [&](TensorView& act, const HookContext&) {
          for (int64_t r = 0; r < k * S; ++r) {
            const float* z = noise[size_t(r % S)].data();
            float* x = act.data + (r * T + prompt.subject_begin) * d;
            for (int64_t i = 0; i < n_subj * d; ++i) x[i] += z[i];
          }
        },
        HookMode::Replace));
    // Per restored hook point, the (cell in batch, position) it restores.
    std::map<HookPoint, std::vector<std::pair<int64_t, int64_t>>> restores;
    for (size_t j = c0; j < c1; ++j) {
      const Cell& cell = cells[j];
      if (cell.site < 0) continue;
      for (int64_t l = cell.first; l < cell.last; ++l)
        restores[{hook_site(o.sites[size_t(cell.site)]), int(l)}].push_back({int64_t(j - c0), cell.pos});
    }
    for (const auto& entry : restores) {  // not a structured binding: clang < 16 cannot capture one
      const HookPoint& point = entry.first;
      const std::vector<std::pair<int64_t, int64_t>>& list = entry.second;
      const std::vector<float>& src = states.at(point);
      handles.push_back(reg.add(
          point,
          [&src, &list, S, T, d](TensorView& act, const HookContext&) {
            for (const auto& [j, t] : list)
              for (int64_t s = 0; s < S; ++s)
                std::copy_n(src.data() + t * d, d, act.data + ((j * S + s) * T + t) * d);
          },
          HookMode::Replace));
    }
    const ForwardResult r = e.forward(b, &reg, nullptr, fo);
    const std::vector<double> p = answer_probs(r.logits, out.prompt.answer);
    for (int64_t j = 0; j < k; ++j) {
      double sum = 0;
      for (int64_t s = 0; s < S; ++s) sum += p[size_t(j * S + s)];
      p_cell[c0 + size_t(j)] = sum / double(S);
    }
  }
  out.p_corrupt = p_cell[0];
  for (size_t g = 0; g < o.sites.size(); ++g) {
    TraceGrid grid{o.sites[g], o.sites[g] == TraceSite::Resid ? 1 : o.window, L, T, std::vector<double>(size_t(L * T))};
    out.grids.push_back(std::move(grid));
  }
  for (size_t j = 1; j < cells.size(); ++j) {
    const Cell& cell = cells[j];
    TraceGrid& g = out.grids[size_t(cell.site)];
    g.effect[size_t(cell.layer * T + cell.pos)] = p_cell[j] - out.p_corrupt;
  }
  return out;
}

RoleAverage average_roles(const std::vector<PromptTrace>& prompts, size_t g) {
  const TraceGrid& first = prompts[0].grids[g];
  const int64_t L = first.n_layers, R = int64_t(TokenRole::COUNT);
  RoleAverage avg{first.site, first.window, L, std::vector<double>(size_t(R * L)), std::vector<int64_t>(size_t(R))};
  for (const PromptTrace& pt : prompts) {
    const TraceGrid& grid = pt.grids[g];
    std::vector<double> sum(size_t(R * L));
    std::vector<int64_t> n(static_cast<size_t>(R));
    for (int64_t t = 0; t < grid.T; ++t) {
      const auto r = int64_t(token_role(pt.prompt, t));
      ++n[size_t(r)];
      for (int64_t l = 0; l < L; ++l) sum[size_t(r * L + l)] += grid.at(l, t);
    }
    for (int64_t r = 0; r < R; ++r) {
      if (n[size_t(r)] == 0) continue;
      ++avg.prompts[size_t(r)];
      for (int64_t l = 0; l < L; ++l) avg.effect[size_t(r * L + l)] += sum[size_t(r * L + l)] / double(n[size_t(r)]);
    }
  }
  for (int64_t r = 0; r < R; ++r)
    for (int64_t l = 0; l < L; ++l)
      avg.effect[size_t(r * L + l)] =
          avg.prompts[size_t(r)] ? avg.effect[size_t(r * L + l)] / double(avg.prompts[size_t(r)]) : NAN;
  return avg;
}

}  // namespace

const char* to_string(TraceSite s) { return enum_table::name(s, kSites); }
const char* to_string(TokenRole r) { return enum_table::name(r, kRoles); }

TokenRole token_role(const TracePrompt& p, int64_t t) {
  const auto T = int64_t(p.tokens.size());
  if (t < p.subject_begin) return TokenRole::BeforeSubject;
  if (t == p.subject_end - 1) return TokenRole::LastSubject;
  if (t == p.subject_begin) return TokenRole::FirstSubject;
  if (t < p.subject_end) return TokenRole::MiddleSubject;
  if (t == T - 1) return TokenRole::LastToken;
  if (t == p.subject_end) return TokenRole::FirstSubsequent;
  return TokenRole::FurtherTokens;
}

std::vector<float> trace_noise(uint64_t seed, int sample, int64_t n, int64_t d_model, float std) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(sample) + 1);
  std::vector<float> out(size_t(n * d_model));
  for (float& x : out) x = float(standard_normal(rng) * std);
  return out;
}

std::pair<int64_t, int64_t> trace_window(int64_t layer, int k, int64_t n_layers) {
  return {std::max<int64_t>(0, layer - k / 2), std::min<int64_t>(n_layers, layer + (k + 1) / 2)};
}

CausalTrace causal_trace(Engine& e, const std::vector<TracePrompt>& prompts, const TraceOptions& opt) {
  const Model& m = e.model();
  check(m, prompts, opt);
  CausalTrace out;
  out.options = opt;
  out.options.progress = nullptr;
  out.noise_std = opt.noise_std > 0 ? opt.noise_std : opt.noise * embedding_std(m);
  for (size_t i = 0; i < prompts.size(); ++i) {
    out.prompts.push_back(trace_one(e, prompts[i], opt, out.noise_std));
    out.mean_p_clean += out.prompts.back().p_clean / double(prompts.size());
    out.mean_p_corrupt += out.prompts.back().p_corrupt / double(prompts.size());
    if (opt.progress) opt.progress(int64_t(i + 1), int64_t(prompts.size()));
  }
  for (size_t g = 0; g < opt.sites.size(); ++g) out.averages.push_back(average_roles(out.prompts, g));
  return out;
}

const RoleAverage& role_average(const CausalTrace& t, TraceSite s) {
  for (const RoleAverage& a : t.averages)
    if (a.site == s) return a;
  fail("causal trace: site ", to_string(s), " was not traced");
}

}  // namespace glassbox::analysis

namespace glassbox {
template <>
analysis::TraceSite from_string<analysis::TraceSite>(std::string_view s) {
  return enum_table::value(s, analysis::kSites, "trace site");
}
}  // namespace glassbox
