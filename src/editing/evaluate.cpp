// CounterFact-style scores of edits, and fluency before and after.
#include <chrono>
#include <cmath>
#include <map>

#include "glassbox/editing/evaluate.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/progress.h"
#include "glassbox/train.h"

#include "editing/detail.h"

namespace glassbox::editing {

namespace {

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

}  // namespace

RequestScore score_request(Editor& ed, const EditRequest& r) {
  RequestScore s{r.subject, r.prompt, r.target_new, r.target_true};
  if (r.target_true.empty()) fail("edit: scoring '", r.subject, "' needs its true object");
  const int32_t tn = ed.single_token(r.target_new, "new object"), tt = ed.single_token(r.target_true, "true object");
  std::vector<TokenizedPrompt> prompts{ed.tokenize(r.prompt, r.subject)};
  std::vector<std::vector<int32_t>> ids{{tn, tt}};
  for (const std::string& p : r.paraphrases) {
    prompts.push_back(ed.tokenize(p, r.subject));
    ids.push_back({tn, tt});
  }
  for (const auto& [prompt, object] : r.neighbours) {
    TokenizedPrompt tp;
    tp.tokens = ed.encode_prompt(prompt);
    prompts.push_back(tp);
    ids.push_back({tn, ed.single_token(object, "neighbour's object")});
  }
  const auto p = detail::probs_after(ed.engine(), prompts, ids);
  s.p_new = p[0][0];
  s.p_true = p[0][1];
  s.efficacy = s.p_new > s.p_true;
  size_t i = 1;
  double para = 0, nb = 0;
  for (; i < 1 + r.paraphrases.size(); ++i) para += p[i][0] > p[i][1];
  for (; i < p.size(); ++i) nb += p[i][1] > p[i][0];
  s.paraphrase = r.paraphrases.empty() ? NAN : para / double(r.paraphrases.size());
  s.neighbourhood = r.neighbours.empty() ? NAN : nb / double(r.neighbours.size());
  return s;
}

double heldout_ce(const Model& m, const std::vector<TrainBatch>& batches) {
  if (batches.empty()) return NAN;
  double s = 0;
  for (const TrainBatch& b : batches) s += eval_loss(m, b);
  return s / double(batches.size());
}

double generation_entropy(Engine& e, const std::vector<std::vector<int32_t>>& prompts, int max_new) {
  if (prompts.empty() || max_new <= 0) return NAN;
  SamplingOptions so;
  so.max_new_tokens = max_new;
  so.temperature = 0;
  const Generation g = generate(e, prompts, so);
  std::vector<double> per;
  for (const auto& toks : g.tokens) {
    double h = 0;
    const double w[2] = {2.0 / 3.0, 4.0 / 3.0};
    for (int n = 2; n <= 3; ++n) {
      std::map<std::vector<int32_t>, int> counts;
      int total = 0;
      for (size_t i = 0; i + size_t(n) <= toks.size(); ++i, ++total)
        ++counts[std::vector<int32_t>(toks.begin() + int64_t(i), toks.begin() + int64_t(i) + n)];
      double hn = 0;
      for (const auto& [k, c] : counts) {
        const double f = double(c) / total;
        hn -= f * std::log2(f);
      }
      h += w[n - 2] * hn / 2.0;
    }
    per.push_back(h);
  }
  return mean(per);
}

MethodScores evaluate_method(Editor& ed, const std::vector<EditRequest>& requests, int batch_size,
                             const EditConfig& cfg, const std::vector<KeyCovariance>& cov, const EditText& text,
                             bool progress) {
  if (batch_size <= 0) fail("edit: batch size must be positive (got ", batch_size, ")");
  MethodScores m;
  m.method = cfg.method;
  m.layers = cfg.layers.empty() ? default_layers(ed.config(), cfg.method) : cfg.layers;
  m.batch_size = batch_size;
  const int max_new = int(std::min<int64_t>(20, ed.config().n_ctx - 4));
  ed.reset();
  m.ce_before = heldout_ce(ed.model(), text.heldout);
  m.entropy_before = generation_entropy(ed.engine(), text.generation_prompts, max_new);
  const auto t0 = std::chrono::steady_clock::now();
  ProgressBar bar(std::string("evaluate ") + to_string(cfg.method), "edits",
                  progress ? ProgressWhen::Terminal : ProgressWhen::Never);
  for (size_t from = 0; from < requests.size(); from += size_t(batch_size)) {
    const size_t to = std::min(requests.size(), from + size_t(batch_size));
    const std::vector<EditRequest> batch(requests.begin() + int64_t(from), requests.begin() + int64_t(to));
    ed.reset();
    ed.apply(batch, cfg, cov);
    for (const EditRequest& r : batch) m.requests.push_back(score_request(ed, r));
    if (from == 0) {
      m.ce_after = heldout_ce(ed.model(), text.heldout);
      m.entropy_after = generation_entropy(ed.engine(), text.generation_prompts, max_new);
    }
    bar.update(int64_t(to), int64_t(requests.size()));
  }
  ed.reset();
  m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  m.n_edits = int(m.requests.size());
  double para_n = 0, nb_n = 0;
  for (const RequestScore& s : m.requests) {
    m.efficacy += s.efficacy;
    if (std::isfinite(s.paraphrase)) m.paraphrase += s.paraphrase, ++para_n;
    if (std::isfinite(s.neighbourhood)) m.neighbourhood += s.neighbourhood, ++nb_n;
  }
  m.efficacy /= double(std::max(1, m.n_edits));
  m.paraphrase = para_n > 0 ? m.paraphrase / para_n : NAN;
  m.neighbourhood = nb_n > 0 ? m.neighbourhood / nb_n : NAN;
  return m;
}

nlohmann::json to_json(const RequestScore& s) {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"subject", s.subject},       {"prompt", s.prompt},          {"target_new", s.target_new},
          {"target_true", s.target_true}, {"efficacy", s.efficacy},      {"paraphrase", num(s.paraphrase)},
          {"neighbourhood", num(s.neighbourhood)}, {"p_new", s.p_new}, {"p_true", s.p_true}};
}

nlohmann::json to_json(const MethodScores& s, bool per_request) {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  nlohmann::json j = {{"method", to_string(s.method)},
                      {"layers", s.layers},
                      {"batch_size", s.batch_size},
                      {"edits", s.n_edits},
                      {"efficacy", num(s.efficacy)},
                      {"paraphrase", num(s.paraphrase)},
                      {"neighbourhood", num(s.neighbourhood)},
                      {"heldout_ce_before", num(s.ce_before)},
                      {"heldout_ce_after", num(s.ce_after)},
                      {"ngram_entropy_before", num(s.entropy_before)},
                      {"ngram_entropy_after", num(s.entropy_after)},
                      {"seconds", s.seconds}};
  if (per_request) {
    j["requests"] = nlohmann::json::array();
    for (const RequestScore& r : s.requests) j["requests"].push_back(to_json(r));
  }
  return j;
}

}  // namespace glassbox::editing
