#include "glassbox/pages/charts.h"

#include <cmath>

#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::pages {

namespace {

// "L3", "#42": appended piece by piece, since GCC 12 warns of a false overlap
// (-Wrestrict) in "L" + std::to_string(i).
std::string numbered(const char* prefix, int64_t i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}

}  // namespace

std::vector<std::string> position_labels(const Model& m, const std::vector<int32_t>& tokens) {
  std::vector<std::string> out;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string t = m.tokenizer() ? report::display_token(m.tokenizer()->token_to_bytes(tokens[i]))
                                        : numbered("#", tokens[i]);
    out.push_back(std::to_string(i) + " " + t);
  }
  return out;
}

std::vector<std::string> layer_labels(int64_t n, int64_t first) {
  std::vector<std::string> out;
  for (int64_t l = first; l < first + n; ++l) out.push_back(numbered("L", l));
  return out;
}

std::vector<std::string> head_labels(int64_t n_heads) {
  std::vector<std::string> out;
  for (int64_t h = 0; h < n_heads; ++h) out.push_back(numbered("H", h));
  return out;
}

report::json patch_heatmap(const analysis::PatchGrid& g, const std::vector<std::string>& col_labels) {
  const std::string what = g.normalized ? "normalised metric" : "metric";
  return report::heatmap(g.method + ": " + g.hook, layer_labels(g.n_layers, g.first_layer),
                         g.by_head ? head_labels(g.n_cols) : col_labels, g.values, what, /*diverging=*/true, "layer",
                         g.by_head ? "head" : "position");
}

report::json head_score_heatmap(const analysis::HeadScores& s) {
  return report::heatmap(s.name + " score", layer_labels(s.n_layers), head_labels(s.n_heads), s.scores, "score",
                         false, "layer", "head");
}

report::json lens_heatmap(const Model& m, const analysis::LogitLensResult& r) {
  // Colour: the probability of the row's top token; the tooltip names the
  // layer, the position and the predicted token, which large cells also show.
  std::vector<float> v;
  std::vector<std::string> top;
  for (const auto& c : r.cells) {
    v.push_back(c.top_probs.empty() ? NAN : c.top_probs[0]);
    top.push_back(c.top_tokens.empty() ? ""
                  : m.tokenizer()   ? report::display_token(m.tokenizer()->token_to_bytes(c.top_tokens[0]))
                                    : numbered("#", c.top_tokens[0]));
  }
  std::vector<int32_t> toks;
  for (int64_t p : r.positions) toks.push_back(r.tokens[size_t(p)]);
  report::json spec = report::heatmap("logit lens: probability of the top token", r.layers, position_labels(m, toks), v,
                                      "top-1 probability", false, "residual stream", "position");
  for (size_t i = 0; i < top.size(); ++i) spec["data"]["values"][i]["top"] = top[i];
  auto& tooltip = spec["encoding"]["tooltip"];
  tooltip.insert(tooltip.begin() + 2, report::json{{"field", "top"}, {"type", "nominal"}, {"title", "top token"}});
  const int cell = spec["width"]["step"].get<int>();
  if (cell >= 24) {  // legible: the token over its cell, white on the dark end of the scale
    report::json rect = {{"mark", spec["mark"]}, {"encoding", {{"color", spec["encoding"]["color"]}}}};
    report::json text = {
        {"mark", {{"type", "text"}, {"fontSize", 9}, {"limit", cell - 2}}},
        {"encoding",
         {{"text", {{"field", "top"}, {"type", "nominal"}}},
          {"color", {{"condition", {{"test", "datum.value > 0.6"}, {"value", "white"}}}, {"value", "black"}}}}}};
    spec.erase("mark");
    spec["encoding"].erase("color");
    spec["layer"] = report::json::array({rect, text});
  }
  return spec;
}

report::json dla_head_heatmap(const analysis::DlaResult& r) {
  std::vector<float> v(r.by_head.begin(), r.by_head.end());
  return report::heatmap("direct logit attribution by head", layer_labels(r.n_layers), head_labels(r.n_heads), v,
                         "logit (difference)", true, "layer", "head");
}

report::json attention_heatmap(const Model& m, const std::vector<int32_t>& tokens, const Tensor& pattern, int layer,
                               int head) {
  const int64_t T = int64_t(tokens.size());
  if (pattern.shape.size() != 4 || pattern.shape[2] != T || pattern.shape[3] != T || head < 0 ||
      head >= pattern.shape[1])
    fail("attention_heatmap: pattern ", shape_str(pattern.shape), " is not [batch, heads > ", head, ", ", T, ", ",
         T, "] for ", T, " tokens");
  std::vector<std::string> labels;
  for (int32_t t : tokens)
    labels.push_back(m.tokenizer() ? report::display_token(m.tokenizer()->token_to_piece(t)) : numbered("#", t));
  const float* p = pattern.f32() + int64_t(head) * T * T;  // row 0
  return report::heatmap(numbered("L", layer) + numbered("H", head), labels, labels,
                         std::vector<float>(p, p + T * T), "attention", false, "query", "key");
}

report::json dla_component_chart(const analysis::DlaResult& r) {
  std::vector<std::string> names;
  std::vector<float> vals;
  for (const auto& c : r.by_layer) names.push_back(c.name), vals.push_back(float(c.value));
  return report::bar_chart("by component", names, vals, "component", "logit difference");
}

report::json lens_comparison_chart(const analysis::LensComparison& c) {
  report::Series a{"logit lens", {}, {}}, b{"tuned lens", {}, {}};
  for (size_t l = 0; l < c.layers.size(); ++l) {
    a.y.push_back(float(c.logit_lens_kl[l]));
    b.y.push_back(float(c.tuned_lens_kl[l]));
  }
  return report::line_chart("KL to the final distribution by layer", {a, b}, "residual stream (0 = embeddings)",
                            "KL (nats)");
}

report::json loss_curve_chart(const nlohmann::json& train_log) {
  if (!train_log.is_object() || !train_log.contains("log")) return nullptr;
  report::Series train{"train", {}, {}}, eval{"held-out", {}, {}};
  for (const auto& e : train_log["log"]) {
    if (!e.contains("step") || !e.contains("loss")) continue;
    train.x.push_back(e["step"].get<float>());
    train.y.push_back(e["loss"].get<float>());
    if (e.value("eval_loss", -1.0) >= 0) {
      eval.x.push_back(e["step"].get<float>());
      eval.y.push_back(e["eval_loss"].get<float>());
    }
  }
  std::vector<report::Series> s{train};
  if (!eval.y.empty()) s.push_back(eval);
  return report::line_chart("Loss curve", s, "step", "cross-entropy (nats)", true);
}

}  // namespace glassbox::pages
