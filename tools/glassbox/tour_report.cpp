#include "tour_report.h"
#include "tour_analysis.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/error.h"
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
  std::ifstream in(p);
  if (!in) return nullptr;
  try {
    return json::parse(in);
  } catch (const std::exception&) {
    return nullptr;
  }
}

void loss_curve(report::Page& page, const fs::path& log_path) {
  const json log = read_json_or_null(log_path);
  if (log.is_null() || !log.contains("log")) return;
  report::Series train{"train", {}, {}}, eval{"held-out", {}, {}};
  for (const auto& e : log["log"]) {
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
  page.add_chart(report::line_chart("Loss curve", s, "step", "cross-entropy (nats)", true),
                 "Training loss (averaged over each logging interval) and held-out loss.");
}

// Layer 0 and layer 1 attention on a repeated random sequence: the
// previous-token head and the induction head are visible by eye.
void induction_patterns(report::Page& page, const Model& m) {
  Engine e(m);
  const Batch b = analysis::repeated_random_tokens(m.config().d_vocab, 10, 1, 7);
  CacheOptions o;
  o.names = {"blocks.*.attn.hook_pattern"};
  const ActivationCache c = run_with_cache(e, b, o);
  std::vector<std::string> labels;
  for (int32_t t : b.tokens) labels.push_back(m.tokenizer() ? report::display_token(m.tokenizer()->token_to_piece(t)) : "#" + std::to_string(t));
  page.add_heading("Attention patterns on a repeated random sequence");
  page.add_text("Rows are query positions, columns key positions. The second half repeats the first: an induction "
                "head attends from each repeated token to the token after its earlier occurrence (an off-diagonal "
                "stripe); a previous-token head attends one position back.");
  const int64_t H = m.config().n_heads, T = b.T;
  for (int l = 0; l < m.config().n_layers; ++l) {
    const Tensor& p = c["blocks." + std::to_string(l) + ".attn.hook_pattern"];
    for (int64_t h = 0; h < H; ++h) {
      std::vector<float> v(p.f32() + h * T * T, p.f32() + (h + 1) * T * T);
      page.add_chart(report::heatmap(strf("L%dH%lld", l, (long long)h), labels, labels, v, "attention", false, "query", "key"));
    }
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
    const Model m = Model::load(dir.string());
    if (name == "induction") induction_patterns(page, m);
    add_analysis_sections(page, m, entry);
  }
  return site.save(out);
}

}  // namespace glassbox::cli
