// Constitution reports as page sections (pages/constitution.h).
#include "glassbox/pages/constitution.h"

#include <cmath>
#include <string>
#include <vector>

namespace glassbox::pages {

namespace {

std::string num(const nlohmann::json& v, const char* format) {
  return v.is_number() ? report::format_number(v.get<double>(), format) : "-";
}

float value(const nlohmann::json& v) { return v.is_number() ? v.get<float>() : NAN; }

}  // namespace

void add_constitution_sections(report::Page& page, const nlohmann::json& build) {
  const nlohmann::json& ps = build.at("principles");
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> names;
  std::vector<float> auroc, before, after, ce;
  for (const auto& p : ps) {
    const nlohmann::json &b = p.at("before"), &a = p.at("after");
    rows.push_back({p.at("name").get<std::string>(), p.at("action").get<std::string>(),
                    p.at("probe").at("hook").get<std::string>(), num(p.at("probe").at("auroc"), "%.3f"),
                    p.at("direction").at("hook").get<std::string>(),
                    num(b.at("behaviour"), "%.3f") + " → " + num(a.at("behaviour"), "%.3f"),
                    num(b.at("benign"), "%.3f") + " → " + num(a.at("benign"), "%.3f"),
                    num(b.at("ce"), "%.4f") + " → " + num(a.at("ce"), "%.4f"),
                    p.at("ce_change").is_number() ? report::format_number(100 * p.at("ce_change").get<double>(), "%+.2f%%")
                                                  : "-"});
    names.push_back(p.at("name").get<std::string>());
    auroc.push_back(value(p.at("probe").at("auroc")));
    before.push_back(value(b.at("behaviour")));
    after.push_back(value(a.at("behaviour")));
    ce.push_back(p.at("ce_change").is_number() ? 100 * p.at("ce_change").get<float>() : NAN);
  }
  page.add_table({"principle", "action", "probe", "held-out AUROC", "direction", "behaviour (without → with)",
                  "benign kept", "benign CE (nats)", "CE change"},
                 rows);
  page.add_chart(report::bar_chart("Held-out AUROC of each principle's probe", names, auroc, "principle", "AUROC"),
                 "the probe read at the last token, fitted on part of the principle's labelled texts and scored on the rest");
  std::vector<std::string> labels;
  std::vector<float> rates;
  for (size_t i = 0; i < names.size(); ++i) {
    labels.push_back(names[i] + " (without)");
    rates.push_back(before[i]);
    labels.push_back(names[i] + " (with)");
    rates.push_back(after[i]);
  }
  page.add_chart(report::bar_chart("Behaviour on held-out prompts, without and with the profile", labels, rates,
                                   "principle", "share breaking the principle"),
                 "the steering effect: continuations that break the principle");
  page.add_chart(report::bar_chart("Side effect: benign cross-entropy change (%)", names, ce, "principle", "CE change (%)"),
                 "next-token cross-entropy on the principle's held-out benign text, with the profile vs without");
}

}  // namespace glassbox::pages
