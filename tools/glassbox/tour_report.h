// The tour's HTML report: a card per shipped model organism (metrics, loss
// curve) and the attention patterns of the induction organism.
#pragma once
#include <string>

namespace glassbox::cli {

// Writes <out>/index.html (+ one page per organism); returns the index path.
// Organisms come from `models_dir` (its manifest.json and train_log.json files).
std::string write_tour_report(const std::string& out, const std::string& models_dir);

}  // namespace glassbox::cli
