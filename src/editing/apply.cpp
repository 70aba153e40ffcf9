// `glassbox edit apply | eval`'s set-up around Editor::apply and
// evaluate_method (glassbox/editing/apply.h).
#include "glassbox/editing/apply.h"

#include <algorithm>
#include <cmath>

#include "glassbox/generate.h"

namespace glassbox::editing {

nlohmann::json request_probabilities(Editor& ed, const EditRequest& r) {
  nlohmann::json j;
  if (r.subject.empty()) return j;
  const TokenizedPrompt p = ed.tokenize(r.prompt, r.subject);
  const Tensor L = ed.engine().forward(Batch::single(p.tokens)).logits;
  const int64_t V = ed.config().d_vocab;
  const float* z = L.f32() + (int64_t(p.tokens.size()) - 1) * V;
  double mx = z[0], s = 0;
  for (int64_t v = 1; v < V; ++v) mx = std::max(mx, double(z[v]));
  for (int64_t v = 0; v < V; ++v) s += std::exp(z[v] - mx);
  j["p_new"] = std::exp(z[ed.single_token(r.target_new, "new object")] - mx) / s;
  if (!r.target_true.empty()) j["p_old"] = std::exp(z[ed.single_token(r.target_true, "old object")] - mx) / s;
  int32_t top = 0;
  for (int64_t v = 1; v < V; ++v)
    if (z[v] > z[top]) top = int32_t(v);
  j["top"] = ed.tokenizer().token_to_bytes(top);
  return j;
}

std::vector<KeyCovariance> edit_covariances(Editor& ed, const std::string& organism, const std::vector<int>& layers,
                                            int64_t n_tokens, bool progress) {
  std::vector<std::vector<int32_t>> rows;
  if (!organism.empty()) {
    rows = organism_text(organism, n_tokens, 1).covariance_rows;
  } else {
    const std::vector<int32_t> s = sample_token_stream(ed.engine(), n_tokens, 1);
    const int64_t w = ed.config().n_ctx;
    for (size_t i = 0; i < s.size(); i += size_t(w))
      rows.emplace_back(s.begin() + int64_t(i), s.begin() + int64_t(std::min(s.size(), i + size_t(w))));
  }
  std::vector<KeyCovariance> out;
  for (int l : layers) out.push_back(key_covariance(ed.engine(), l, rows, progress));
  return out;
}

nlohmann::json AppliedEdit::to_json() const {
  nlohmann::json j = {{"edit", about}, {"before", before}, {"after", after}};
  j["changes"] = nlohmann::json::array();
  for (const WeightDelta& d : deltas) j["changes"].push_back({{"layer", d.layer}, {"rank", d.rank}});
  return j;
}

AppliedEdit apply_fact(Editor& ed, const std::string& model_path, const EditRequest& r, EditConfig cfg,
                       int64_t cov_tokens, bool progress) {
  if (cfg.layers.empty()) cfg.layers = default_layers(ed.config(), cfg.method);
  AppliedEdit a;
  a.before = request_probabilities(ed, r);
  std::vector<KeyCovariance> cov;
  if (cfg.method == Method::Rome || cfg.method == Method::Memit)
    cov = edit_covariances(ed, organism_of(model_path), cfg.layers, cov_tokens, progress);
  a.deltas = ed.apply({r}, cfg, cov, progress);
  a.about = {{"method", to_string(cfg.method)}, {"model", model_path}, {"layers", cfg.layers}, {"subject", r.subject},
             {"prompt", r.prompt}, {"new", r.target_new}, {"old", r.target_true}};
  a.after = request_probabilities(ed, r);
  return a;
}

std::vector<MethodScores> evaluate_methods(Editor& ed, const std::vector<EditRequest>& requests,
                                           const std::vector<EditConfig>& configs, const std::vector<int>& batches,
                                           const EditText& text, bool progress) {
  std::vector<MethodScores> all;
  std::vector<KeyCovariance> cov;
  for (const EditConfig& c : configs) {
    if (c.method == Method::Rome || c.method == Method::Memit)
      for (int l : c.layers)
        if (std::none_of(cov.begin(), cov.end(), [l](const KeyCovariance& k) { return k.layer == l; }))
          cov.push_back(key_covariance(ed.engine(), l, text.covariance_rows, progress));
    for (int b : batches) all.push_back(evaluate_method(ed, requests, b, c, cov, text, progress));
  }
  return all;
}

}  // namespace glassbox::editing
