#include "tour_report.h"
#include "tour_analysis.h"
#include "tour_constitution.h"
#include "tour_features.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "glassbox/analysis/cross_model.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/pages/charts.h"
#include "glassbox/pages/cross_model.h"
#include "glassbox/report.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

namespace {

std::string fmt_value(const json& v) {
  if (v.is_number_float()) return strf("%.4g", v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

json read_json_or_null(const fs::path& p) {
  try {
    return read_json_file(p.string());
  } catch (const Error&) {  // a missing or broken log only leaves its chart out of the tour
    return nullptr;
  }
}

void loss_curve(report::Page& page, const fs::path& log_path) {
  json chart = pages::loss_curve_chart(read_json_or_null(log_path));
  if (chart.is_null()) return;
  page.add_chart(std::move(chart), "Training loss (averaged over each logging interval) and held-out loss.");
}

// Layer 0 and layer 1 attention on a repeated random sequence: the
// previous-token head and the induction head are visible by eye.
void induction_patterns(report::Page& page, const Model& m) {
  Engine e(m);
  const Batch b = analysis::repeated_random_tokens(m.config().d_vocab, 10, 1, 7);
  CacheOptions o;
  o.names = {"blocks.*.attn.hook_pattern"};
  const ActivationCache c = run_with_cache(e, b, o);
  page.add_heading("Attention patterns on a repeated random sequence");
  page.add_text("Rows are query positions, columns key positions. The second half repeats the first: an induction "
                "head attends from each repeated token to the token after its earlier occurrence (an off-diagonal "
                "stripe); a previous-token head attends one position back.");
  for (int l = 0; l < m.config().n_layers; ++l) {
    const Tensor& p = c["blocks." + std::to_string(l) + ".attn.hook_pattern"];
    for (int h = 0; h < m.config().n_heads; ++h) page.add_chart(pages::attention_heatmap(m, b.tokens, p, l, h));
  }
}

// An induction prompt pair on a model's vocabulary: random tokens r followed
// by r's first half again; the corrupted prompt differs only in the token
// after that half, so copying it forward is the whole logit difference.
struct InductionPair {
  Batch clean, corrupt;
  int32_t answer = 0, wrong = 0;
};

InductionPair induction_pair(const Model& m, int64_t n, uint64_t seed) {
  const Batch r = analysis::repeated_random_tokens(m, n, 2, seed);  // row 1 supplies the replacement
  const int64_t off = r.T - 2 * n, half = n / 2;                     // off: 1 with a BOS
  std::vector<int32_t> clean(r.tokens.begin(), r.tokens.begin() + off + n + half);
  std::vector<int32_t> corrupt = clean;
  const int32_t answer = clean[size_t(off + half)];
  int32_t wrong = answer;
  for (int64_t i = 0; i < n && (wrong == answer || std::count(clean.begin(), clean.end(), wrong)); ++i)
    wrong = r.tokens[size_t(r.T + off + i)];  // a token the clean prompt does not contain
  corrupt[size_t(off + half)] = wrong;
  return {Batch::single(clean), Batch::single(corrupt), answer, wrong};
}

// Across the zoo: head roles of every organism with room for a repeated
// sequence, side by side, and for each fine-tuned organism (manifest
// `init_from`) its induction circuit against its base model's.
void zoo_comparison_page(report::Site& site, const json& manifest, const fs::path& models_dir) {
  std::deque<Model> models;
  std::vector<const Model*> ptrs;
  std::vector<std::string> names;
  for (const auto& [name, entry] : manifest["organisms"].items()) {
    const fs::path dir = models_dir / entry.value("dir", name);
    // Head detectors need attention heads: toy organisms (superposition) have none.
    if (!zoo::is_transformer_entry(entry) || !fs::exists(dir / "model.safetensors")) continue;
    Model m = Model::load(dir.string());
    if (analysis::repeated_length_that_fits(m, 20) < 4) continue;
    ptrs.push_back(&models.emplace_back(std::move(m)));
    names.push_back(name);
  }
  if (ptrs.size() < 2) return;
  auto& page = site.add_page("compare", "Across the zoo", "head roles side by side; base vs. fine-tuned circuits");
  page.add_text("Every organism's heads scored by the same detectors on repeated random tokens from its own "
                "vocabulary (glassbox compare). Heads match by role, not by index: the best head of each role is "
                "in the table.");
  pages::add_role_sections(page, analysis::head_roles(ptrs, names));
  for (const auto& [name, entry] : manifest["organisms"].items()) {
    const std::string base = entry.value("init_from", json::object()).value("organism", "");
    const auto a = std::find(names.begin(), names.end(), base), b = std::find(names.begin(), names.end(), name);
    if (base.empty() || a == names.end() || b == names.end()) continue;
    const Model& base_model = *ptrs[size_t(a - names.begin())];
    const InductionPair ip = induction_pair(base_model, 10, 5);
    std::vector<analysis::Circuit> circuits;
    analysis::CircuitOptions co;
    co.metric.answer = {ip.answer};
    co.metric.wrong = {ip.wrong};
    for (const Model* m : {&base_model, ptrs[size_t(b - names.begin())]}) {
      Engine e(*m);
      circuits.push_back(analysis::discover_circuit(e, ip.clean, ip.corrupt, co));
    }
    page.add_heading(base + " vs. " + name + ": induction circuits");
    page.add_text(strf("EAP-IG circuits of the base model and its fine-tuned version on one induction pair: ten "
                       "random tokens, then their first five again; the corrupted prompt changes the sixth token, "
                       "so the metric is the logit difference between copying it (%s) and the replacement (%s).",
                       token_label(base_model, ip.answer).c_str(), token_label(base_model, ip.wrong).c_str()));
    page.add_text(strf("How strongly each model copies here: logit difference %.3f (clean) vs. %.3f (every edge "
                       "resampled) for %s, %.3f vs. %.3f for %s. A small gap means weak in-context copying, and "
                       "a circuit that explains little.",
                       circuits[0].clean_metric, circuits[0].ablated_metric, base.c_str(), circuits[1].clean_metric,
                       circuits[1].ablated_metric, name.c_str()));
    pages::add_circuit_overlap_sections(page, analysis::compare_circuits(circuits, {base, name}));
  }
}

}  // namespace

std::string write_tour_report(const std::string& out, const std::string& models_dir) {
  report::Site site("glassbox tour", "Model organisms: small transformers whose internals are known in advance");
  const json manifest = zoo::read_manifest((fs::path(models_dir) / "manifest.json").string());
  auto& index = site.index();
  if (!manifest.contains("organisms") || manifest["organisms"].empty()) {
    index.add_text("No trained organisms are shipped in " + models_dir + " yet (glassbox zoo train NAME).");
    return site.save(out);
  }
  index.add_heading("Organisms");
  for (const auto& [name, entry] : manifest["organisms"].items()) {
    report::Card card{name, {}, entry.value("ground_truth", ""), name + ".html"};
    card.fields.push_back({"parameters", fmt_value(entry.value("n_params", json(0)))});
    card.fields.push_back({"train time", strf("%.0f s", entry.value("train_seconds", 0.0))});
    card.fields.push_back({"checks", entry.value("passed", false) ? "passed" : "FAILED"});
    for (const auto& [k, v] : entry["metrics"].items())
      if (v.is_number()) card.fields.push_back({k, fmt_value(v)});
    index.add_card(card);

    auto& page = site.add_page(name, name, entry.value("description", ""));
    const fs::path dir = fs::path(models_dir) / entry.value("dir", name);
    page.add_heading("What it is");
    page.add_text(entry.value("description", ""));
    page.add_text("Ground truth: " + entry.value("ground_truth", ""));
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : entry["metrics"].items()) rows.push_back({k, fmt_value(v)});
    page.add_heading("Metrics on held-out data");
    page.add_table({"metric", "value"}, rows);
    page.add_heading("Training");
    loss_curve(page, dir / "train_log.json");
    if (!fs::exists(dir / "model.safetensors")) continue;
    if (!zoo::is_transformer_entry(entry)) {
      page.add_text("Not a transformer, so the attention, patching and circuit sections do not apply; its "
                    "ground truth is for sparse dictionaries and automated interpretability (glassbox explain).");
      continue;
    }
    const Model m = Model::load(dir.string());
    if (name == "induction") induction_patterns(page, m);
    add_analysis_sections(page, m, entry);
  }
  add_constitution_page(site, models_dir);
  zoo_comparison_page(site, manifest, models_dir);
  features_page(site, manifest, models_dir, out);
  return site.save(out);
}

}  // namespace glassbox::cli
