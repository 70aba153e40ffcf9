// Knowledge-editing evaluations as charts and page sections.
#include "glassbox/pages/editing.h"

#include <cmath>

namespace glassbox::pages {

using editing::MethodScores;

namespace {

std::string num(double v, const char* f = "%.3f") { return report::format_number(v, f); }

std::string layers_text(const std::vector<int>& ls) {
  std::string s;
  for (int l : ls) s.append(s.empty() ? "" : ",").append(std::to_string(l));  // (GCC 12 -Wrestrict on "," + ...)
  return s;
}

}  // namespace

std::string editing_row_label(const MethodScores& s) {
  return std::string(editing::to_string(s.method)) + " x" + std::to_string(s.batch_size);
}

report::json editing_scores_heatmap(const std::vector<MethodScores>& scores) {
  const std::vector<std::string> cols{"efficacy", "paraphrase", "neighbourhood"};
  std::vector<std::string> rows;
  std::vector<float> values;
  for (const MethodScores& s : scores) {
    rows.push_back(editing_row_label(s));
    values.push_back(float(s.efficacy));
    values.push_back(float(s.paraphrase));
    values.push_back(float(s.neighbourhood));
  }
  report::json spec = report::heatmap("Edit success by method and batch size (1 = perfect)", rows, cols, values,
                                      "score", false, "method x edits per batch", "measure");
  // A score of 0 (no edit took) is a result, not a gap: the scale starts
  // coloured (viridis: 0 dark, 1 yellow) and a missing score (NaN: nothing to
  // score) is drawn grey, apart from both.
  spec["mark"]["invalid"] = nullptr;
  auto& color = spec["encoding"]["color"];
  color["scale"] = {{"domain", {0, 1}}, {"scheme", "viridis"}};
  color["condition"] = {{"test", "!isValid(datum.value) || !isFinite(datum.value)"}, {"value", "#c8ccd2"}};
  return spec;
}

void add_editing_sections(report::Page& page, const std::vector<MethodScores>& scores) {
  if (scores.empty()) return;
  page.add_card({"Edits", {{"methods", std::to_string(scores.size())},
                           {"requests per method", std::to_string(scores.front().n_edits)},
                           {"held-out CE before", num(scores.front().ce_before)},
                           {"generation entropy before", num(scores.front().entropy_before)}}});
  page.add_heading("Efficacy, generalisation, specificity");
  page.add_chart(editing_scores_heatmap(scores),
                 "Efficacy: the new object beats the old after the edited prompt. Paraphrase: also after the other "
                 "phrasings. Neighbourhood: other subjects' facts of the same relation still beat the new object.");
  page.add_heading("All methods");
  std::vector<std::vector<std::string>> rows;
  for (const MethodScores& s : scores)
    rows.push_back({editing::to_string(s.method), std::to_string(s.batch_size), layers_text(s.layers),
                    std::to_string(s.n_edits), num(s.efficacy), num(s.paraphrase), num(s.neighbourhood),
                    num(s.ce_after - s.ce_before, "%+.4f"), num(s.entropy_after, "%.3f"), num(s.seconds, "%.1f")});
  page.add_table({"method", "batch", "layers", "edits", "efficacy", "paraphrase", "neighbourhood", "held-out CE change",
                  "n-gram entropy", "seconds"},
                 rows);
}

}  // namespace glassbox::pages
