// The organisms as a listing, and model names resolved to shipped
// directories: one place for the CLI and the Python module.
#include <algorithm>
#include <filesystem>

#include "glassbox/error.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::zoo {

nlohmann::json list_organisms() {
  const nlohmann::json man = read_manifest();
  nlohmann::json out = nlohmann::json::array();
  for (const Organism& o : organisms()) {
    const bool shipped = man.contains("organisms") && man["organisms"].contains(o.name) &&
                         fs::exists(fs::path(models_dir()) / o.name / "model.safetensors");
    out.push_back({{"name", o.name},
                   {"description", o.description},
                   {"ground_truth", o.ground_truth},
                   {"shipped", shipped},
                   {"metrics", shipped ? man["organisms"][o.name]["metrics"] : nlohmann::json(nullptr)}});
  }
  return out;
}

std::vector<std::string> shipped_models() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry& d : fs::directory_iterator(models_dir(), ec))
    if (fs::is_regular_file(d.path() / "config.json", ec)) names.push_back(d.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string resolve_model(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::exists(name_or_path, ec)) return name_or_path;
  const fs::path p(name_or_path);
  if (!name_or_path.empty() && p.has_filename() && p.parent_path().empty() &&
      fs::is_directory(fs::path(models_dir()) / p, ec))
    return (fs::path(models_dir()) / p).string();
  std::string known;
  for (const std::string& n : shipped_models()) known += (known.empty() ? "" : ", ") + n;
  fail(name_or_path, ": no such file or directory, and not a shipped organism (",
       known.empty() ? "none found in " + models_dir() : known, ")");
}

}  // namespace glassbox::zoo
