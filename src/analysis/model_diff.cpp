// Model diffing, the dynamic half: KL by response position, the share of the
// difference each component carries (patched both ways), and the logit lens
// of the residual difference. Prompts run in chunks of batch_rows; per chunk
// both models run once keeping every patched site and resid_post, then one
// pass per (site, layer, direction) with that site replaced by the other
// model's activation at every position.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "analysis/detail.h"
#include "glassbox/analysis/model_diff.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"

namespace glassbox::analysis {

namespace {

// The scored positions of one chunk: row b, position p (predicting token
// p + 1), response position r, in row-major order.
struct Scored {
  int64_t b, p, r;
};

struct Chunk {
  Batch batch;
  std::vector<Scored> scored;
};

Chunk make_chunk(const std::vector<DiffPrompt>& prompts, size_t from, size_t to) {
  std::vector<std::vector<int32_t>> rows;
  for (size_t i = from; i < to; ++i) rows.push_back(prompts[i].tokens);
  Chunk c;
  c.batch = Batch::from_rows(rows);  // right padding: earlier positions never see it
  for (size_t i = from; i < to; ++i) {
    const DiffPrompt& d = prompts[i];
    for (int64_t p = d.response_from - 1; p + 1 < int64_t(d.tokens.size()); ++p)
      c.scored.push_back({int64_t(i - from), p, p - (d.response_from - 1)});
  }
  return c;
}

// log-softmax of the logits at every scored position: [scored, V].
std::vector<double> scored_log_probs(const Tensor& logits, const Chunk& c, int64_t V) {
  std::vector<double> out(c.scored.size() * size_t(V)), row;
  for (size_t i = 0; i < c.scored.size(); ++i) {
    const Scored& s = c.scored[i];
    detail::log_softmax(logits.f32() + (s.b * c.batch.T + s.p) * V, V, row);
    std::copy(row.begin(), row.end(), out.begin() + std::ptrdiff_t(i * size_t(V)));
  }
  return out;
}

// KL(p || q) at scored position i of two [scored, V] log-probability tables.
double kl_at(const std::vector<double>& log_p, const std::vector<double>& log_q, size_t i, int64_t V) {
  double s = 0;
  const double *lp = log_p.data() + i * size_t(V), *lq = log_q.data() + i * size_t(V);
  for (int64_t j = 0; j < V; ++j) s += std::exp(lp[j]) * (lp[j] - lq[j]);
  return std::max(s, 0.0);
}

// Sums of KL over every scored position and over the response start.
struct KlSums {
  double all = 0, start = 0;
};

KlSums kl_sums(const std::vector<double>& log_p, const std::vector<double>& log_q, const Chunk& c, int64_t V,
               int64_t start_positions) {
  KlSums k;
  for (size_t i = 0; i < c.scored.size(); ++i) {
    const double v = kl_at(log_p, log_q, i, V);
    k.all += v;
    if (c.scored[i].r < start_positions) k.start += v;
  }
  return k;
}

// Per layer, the sum over scored positions of what the residual difference
// does to the logit lens: log p_tuned - log p_base, each model's residual
// decoded through its own final norm and unembedding (exact, where a
// linearisation of the final norm at one model's residual is not: the
// difference is larger than the residual itself late in the tuned model).
struct LensAcc {
  std::vector<double> sum;  // [d_vocab]
  double diff_norm = 0, resid_norm = 0;
  int64_t n = 0;
};

// rows_t / rows_b: [n, d_model] residual rows of the same positions.
void accumulate_lens(LensAcc& acc, const std::vector<float>& rows_t, const std::vector<float>& rows_b, int64_t n,
                     const Model& tuned, const Model& base) {
  if (n == 0) return;
  const Config& c = tuned.config();
  const int64_t D = c.d_model, V = c.d_vocab;
  std::vector<float> lt(size_t(n * V)), lb(size_t(n * V));
  detail::lens_logits(lt.data(), rows_t.data(), n, c, tuned.weights());
  detail::lens_logits(lb.data(), rows_b.data(), n, base.config(), base.weights());
  if (acc.sum.empty()) acc.sum.assign(size_t(V), 0.0);
  std::vector<double> pt, pb;
  for (int64_t i = 0; i < n; ++i) {
    detail::log_softmax(lt.data() + i * V, V, pt);
    detail::log_softmax(lb.data() + i * V, V, pb);
    for (int64_t v = 0; v < V; ++v) acc.sum[size_t(v)] += pt[size_t(v)] - pb[size_t(v)];
    double dn = 0, rn = 0;
    for (int64_t j = 0; j < D; ++j) {
      const double x = rows_t[size_t(i * D + j)], y = rows_b[size_t(i * D + j)];
      dn += (x - y) * (x - y);
      rn += x * x;
    }
    acc.diff_norm += std::sqrt(dn);
    acc.resid_norm += std::sqrt(rn);
  }
  acc.n += n;
}

LensDiffLayer finish_lens(const LensAcc& acc, const Config& c, int layer, int top_k) {
  LensDiffLayer out;
  out.hook = HookPoint{Site::resid_post, layer}.name();
  if (acc.n == 0) return out;
  out.relative_norm = acc.resid_norm > 0 ? acc.diff_norm / acc.resid_norm : 0.0;
  std::vector<float> logits(size_t(c.d_vocab));
  for (int64_t v = 0; v < c.d_vocab; ++v) logits[size_t(v)] = float(acc.sum[size_t(v)] / double(acc.n));
  std::vector<int32_t> order(size_t(c.d_vocab));
  std::iota(order.begin(), order.end(), 0);
  const size_t k = std::min(size_t(std::max(top_k, 0)), order.size());
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                    [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
  for (size_t i = 0; i < k; ++i) {
    out.promoted.push_back(order[i]);
    out.promoted_delta.push_back(logits[size_t(order[i])]);
  }
  std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                    [&](int32_t a, int32_t b) { return logits[size_t(a)] < logits[size_t(b)]; });
  for (size_t i = 0; i < k; ++i) {
    out.suppressed.push_back(order[i]);
    out.suppressed_delta.push_back(logits[size_t(order[i])]);
  }
  return out;
}

void check_prompts(const std::vector<DiffPrompt>& prompts, const Config& c) {
  if (prompts.empty()) fail("model diff: no prompts to compare the models on");
  for (size_t i = 0; i < prompts.size(); ++i) {
    const DiffPrompt& d = prompts[i];
    const int64_t n = int64_t(d.tokens.size());
    if (d.response_from < 1 || d.response_from >= n)
      fail("model diff: prompt ", i, " has ", n, " tokens and its response starts at ", d.response_from,
           "; the response must start after the first token and hold at least one token");
    if (n > c.n_ctx) fail("model diff: prompt ", i, " has ", n, " tokens, more than the context (", c.n_ctx, ")");
    for (int32_t t : d.tokens)
      if (t < 0 || t >= c.d_vocab)
        fail("model diff: prompt ", i, " has token ", t, ", outside the vocabulary [0, ", c.d_vocab, ")");
  }
}

void check_sites(const std::vector<Site>& sites, const Config& c) {
  for (Site s : sites) {
    const SiteInfo& info = site_info(s);
    if (info.global || info.shape != SiteShape::Resid)
      fail("model diff: site ", to_string(s), " cannot be patched as a component; use a per-layer site of width "
           "d_model (attn_out, mlp_out, resid_pre, resid_mid, resid_post)");
    if (!site_exists(s, c)) fail("model diff: this architecture has no ", to_string(s), " site");
  }
}

}  // namespace

const ComponentShare* ModelDiff::find(Site s, int layer) const {
  for (const auto& c : components)
    if (c.site == s && c.layer == layer) return &c;
  return nullptr;
}

ModelDiff model_diff(const Model& base, const Model& tuned, const std::vector<DiffPrompt>& prompts,
                     const ModelDiffOptions& opt) {
  check_diffable(base, tuned);
  const Config& c = tuned.config();
  check_prompts(prompts, c);
  if (opt.patching) check_sites(opt.sites, c);
  if (opt.start_positions < 1) fail("model diff: start_positions must be at least 1, got ", opt.start_positions);
  if (opt.batch_rows < 1) fail("model diff: batch_rows must be at least 1, got ", opt.batch_rows);
  const int64_t V = c.d_vocab, D = c.d_model;
  const int L = c.n_layers;
  const std::vector<Site> sites = opt.patching ? opt.sites : std::vector<Site>{};

  ModelDiff r;
  r.base = base.source();
  r.tuned = tuned.source();
  r.n_prompts = int64_t(prompts.size());
  r.start_positions = opt.start_positions;
  std::vector<double> sum;
  double total_all = 0, total_start = 0;
  int64_t n_all = 0, n_start = 0;
  const size_t n_cells = sites.size() * size_t(L);
  std::vector<KlSums> into_tuned(n_cells), into_base(n_cells);
  std::vector<LensAcc> lens_start(static_cast<size_t>(L)), lens_rest(static_cast<size_t>(L));

  Engine eb(base), et(tuned);
  ForwardOptions keep;
  for (int l = 0; l < L; ++l) {
    keep.keep.insert({Site::resid_post, l});
    for (Site s : sites) keep.keep.insert({s, l});
  }
  const size_t n_chunks = (prompts.size() + size_t(opt.batch_rows) - 1) / size_t(opt.batch_rows);
  const int64_t passes_per_chunk = 2 + 2 * int64_t(n_cells), total_passes = passes_per_chunk * int64_t(n_chunks);
  int64_t done = 0;
  const auto tick = [&] {
    ++done;
    if (opt.progress) opt.progress(done, total_passes);
  };
  for (size_t from = 0; from < prompts.size(); from += size_t(opt.batch_rows)) {
    const Chunk ch = make_chunk(prompts, from, std::min(prompts.size(), from + size_t(opt.batch_rows)));
    const ForwardResult fb = eb.forward(ch.batch, nullptr, nullptr, keep);
    tick();
    const ForwardResult ft = et.forward(ch.batch, nullptr, nullptr, keep);
    tick();
    const std::vector<double> lb = scored_log_probs(fb.logits, ch, V), lt = scored_log_probs(ft.logits, ch, V);
    for (size_t i = 0; i < ch.scored.size(); ++i) {
      const Scored& s = ch.scored[i];
      const double v = kl_at(lt, lb, i, V);
      if (sum.size() <= size_t(s.r)) sum.resize(size_t(s.r) + 1, 0.0), r.count_by_position.resize(size_t(s.r) + 1, 0);
      sum[size_t(s.r)] += v;
      r.count_by_position[size_t(s.r)] += 1;
      total_all += v;
      ++n_all;
      if (s.r < opt.start_positions) total_start += v, ++n_start;
    }
    // The residual rows of the start and of the rest, per layer, through the lens.
    for (int l = 0; l < L; ++l)
      for (int group = 0; group < 2; ++group) {
        std::vector<float> rows_t, rows_b;
        int64_t n = 0;
        for (const Scored& s : ch.scored) {
          if ((s.r < opt.start_positions) != (group == 0)) continue;
          const int64_t at = (s.b * ch.batch.T + s.p) * D;
          const float *rt = ft.get({Site::resid_post, l}).f32() + at, *rb = fb.get({Site::resid_post, l}).f32() + at;
          rows_t.insert(rows_t.end(), rt, rt + D);
          rows_b.insert(rows_b.end(), rb, rb + D);
          ++n;
        }
        accumulate_lens((group == 0 ? lens_start : lens_rest)[size_t(l)], rows_t, rows_b, n, tuned, base);
      }
    // Each component patched from one model into the other at every position.
    for (int l = 0; l < L; ++l)
      for (size_t si = 0; si < sites.size(); ++si) {
        const HookPoint hp{sites[si], l};
        const size_t cell = size_t(l) * sites.size() + si;
        for (int dir = 0; dir < 2; ++dir) {
          Engine& run = dir == 0 ? et : eb;
          const Tensor& source = (dir == 0 ? fb : ft).get(hp);
          HookRegistry reg(run.model().config());
          const HookHandle h = reg.add(
              hp, [&](TensorView& act, const HookContext&) {
                if (act.numel() != source.numel())
                  fail("model diff: ", hp.name(), " has ", act.numel(), " values in the patched pass, ",
                       source.numel(), " in the source pass");
                std::memcpy(act.data, source.f32(), size_t(act.numel()) * sizeof(float));
              },
              HookMode::Replace);
          ForwardOptions fo;
          const ForwardResult fp = run.forward(ch.batch, &reg, nullptr, fo);
          const std::vector<double> lp = scored_log_probs(fp.logits, ch, V);
          // base into tuned: the patched tuned model against the base; tuned into base: the tuned against the patched base.
          const KlSums k = dir == 0 ? kl_sums(lp, lb, ch, V, opt.start_positions)
                                    : kl_sums(lt, lp, ch, V, opt.start_positions);
          KlSums& acc = (dir == 0 ? into_tuned : into_base)[cell];
          acc.all += k.all;
          acc.start += k.start;
          tick();
        }
      }
  }

  for (size_t i = 0; i < sum.size(); ++i)
    r.kl_by_position.push_back(r.count_by_position[i] ? sum[i] / double(r.count_by_position[i]) : 0.0);
  r.kl_mean = n_all ? total_all / double(n_all) : 0.0;
  r.kl_start = n_start ? total_start / double(n_start) : 0.0;
  r.kl_rest = n_all > n_start ? (total_all - total_start) / double(n_all - n_start) : 0.0;
  r.start_over_rest = r.kl_rest > 0 ? r.kl_start / r.kl_rest : INFINITY;
  r.peak_position = r.kl_by_position.empty()
                        ? 0
                        : int64_t(std::max_element(r.kl_by_position.begin(), r.kl_by_position.end()) -
                                  r.kl_by_position.begin());
  // A share: the part of the KL a patch removes (base into tuned) or that it alone brings (tuned into base).
  const auto share = [](double patched_sum, double full_sum) {
    return full_sum > 0 ? 1.0 - patched_sum / full_sum : 0.0;
  };
  for (int l = 0; l < L; ++l)
    for (size_t si = 0; si < sites.size(); ++si) {
      const size_t cell = size_t(l) * sites.size() + si;
      ComponentShare cs;
      cs.site = sites[si];
      cs.layer = l;
      cs.hook = HookPoint{sites[si], l}.name();
      cs.base_into_tuned = share(into_tuned[cell].all, total_all);
      cs.tuned_into_base = share(into_base[cell].all, total_all);
      cs.base_into_tuned_start = share(into_tuned[cell].start, total_start);
      cs.tuned_into_base_start = share(into_base[cell].start, total_start);
      r.components.push_back(std::move(cs));
    }
  r.weights = weight_diff(base, tuned);
  for (int l = 0; l < L; ++l) {
    r.lens_start.push_back(finish_lens(lens_start[size_t(l)], c, l, opt.top_k));
    r.lens_rest.push_back(finish_lens(lens_rest[size_t(l)], c, l, opt.top_k));
  }
  return r;
}

nlohmann::json ModelDiff::to_json() const {
  using nlohmann::json;
  json comps = json::array();
  for (const auto& c : components)
    comps.push_back({{"hook", c.hook},
                     {"site", to_string(c.site)},
                     {"layer", c.layer},
                     {"base_into_tuned", c.base_into_tuned},
                     {"tuned_into_base", c.tuned_into_base},
                     {"base_into_tuned_start", c.base_into_tuned_start},
                     {"tuned_into_base_start", c.tuned_into_base_start}});
  json ws = json::array();
  for (const auto& w : weights)
    ws.push_back({{"name", w.name},
                  {"layer", w.layer},
                  {"base_norm", w.base_norm},
                  {"diff_norm", w.diff_norm},
                  {"relative", std::isfinite(w.relative) ? json(w.relative) : json(nullptr)}});
  const auto lens = [](const std::vector<LensDiffLayer>& ls) {
    json out = json::array();
    for (const auto& l : ls) {
      json pro = json::array(), sup = json::array();
      for (size_t i = 0; i < l.promoted.size(); ++i) pro.push_back({{"token", l.promoted[i]}, {"delta_logprob", l.promoted_delta[i]}});
      for (size_t i = 0; i < l.suppressed.size(); ++i)
        sup.push_back({{"token", l.suppressed[i]}, {"delta_logprob", l.suppressed_delta[i]}});
      out.push_back({{"hook", l.hook}, {"relative_norm", l.relative_norm}, {"promoted", pro}, {"suppressed", sup}});
    }
    return out;
  };
  return {{"technique", "model_diff"},
          {"base", base},
          {"tuned", tuned},
          {"n_prompts", n_prompts},
          {"start_positions", start_positions},
          {"kl",
           {{"by_position", kl_by_position},
            {"count_by_position", count_by_position},
            {"mean", kl_mean},
            {"start", kl_start},
            {"rest", kl_rest},
            {"start_over_rest", std::isfinite(start_over_rest) ? json(start_over_rest) : json(nullptr)},
            {"peak_position", peak_position}}},
          {"components", comps},
          {"weights", ws},
          {"lens", {{"start", lens(lens_start)}, {"rest", lens(lens_rest)}}}};
}

}  // namespace glassbox::analysis
