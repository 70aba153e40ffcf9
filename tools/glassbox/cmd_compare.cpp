// glassbox compare: head roles of several models side by side and, given a
// clean / corrupted prompt pair, their circuits and how much they overlap.
#include <algorithm>
#include <filesystem>
#include <memory>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/cross_model.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/pages/cross_model.h"

namespace glassbox::cli {

namespace {

struct Opts {
  PairFlags pair;
  std::vector<std::string> models, names;
  std::string method = "eap-ig", html;
  int64_t seq = 20, rows = 8;
  uint64_t seed = 1;
  bool json = false, no_copying = false;
};

// The directory's name ("models/tiny-lm/" -> "tiny-lm"), "#2", "#3" ... on repeats.
std::vector<std::string> model_names(const std::vector<std::string>& paths) {
  std::vector<std::string> base, out;
  for (const auto& p : paths) {
    const std::filesystem::path fp = std::filesystem::path(p).lexically_normal();
    base.push_back(fp.has_filename() ? fp.filename().string() : fp.parent_path().filename().string());
    const auto seen = std::count(base.begin(), base.end(), base.back());
    out.push_back(seen > 1 ? base.back() + "#" + std::to_string(seen) : base.back());
  }
  return out;
}

analysis::CircuitMethod parse_method(const std::string& s) {
  return parse_choice<analysis::CircuitMethod>("--method", s);
}

// Each model's circuit on the pair, text through that model's own tokenizer.
std::vector<analysis::Circuit> circuits(const std::vector<Model>& models, const Opts& o) {
  const PairFlags& f = o.pair;
  if ((f.clean + f.clean_tokens).empty() || (f.corrupt + f.corrupt_tokens).empty() || f.answer.empty() ||
      f.wrong.empty())
    fail("circuits need a prompt pair: --clean (or --clean-tokens), --corrupt (or --corrupt-tokens), --answer and "
         "--wrong (the metric is their logit difference)");
  analysis::CircuitOptions co;
  co.method = parse_method(o.method);
  std::vector<analysis::Circuit> out;
  for (const Model& m : models) {
    const PromptPair pp = f.pair(m);
    co.metric.answer = {parse_single_token(m, f.answer, "--answer")};
    co.metric.wrong = {parse_single_token(m, f.wrong, "--wrong")};
    Engine e(m);
    out.push_back(analysis::discover_circuit(e, Batch::single(pp.clean), Batch::single(pp.corrupt), co));
  }
  return out;
}

void print_roles(const analysis::RoleTable& t) {
  std::printf("head roles: best head and score (repeated random tokens, %lld rows)\n%-16s %-8s",
              static_cast<long long>(t.options.rows), "model", "shape");
  for (const auto& r : t.roles) std::printf(" %-16s", r.c_str());
  std::printf("\n");
  for (const auto& m : t.models) {
    std::printf("%-16s %-8s", m.name.c_str(), strf("%dx%d", m.n_layers, m.n_heads).c_str());
    for (const auto& b : m.best) std::printf(" %-16s", strf("%s %.3f", b.name().c_str(), double(b.score)).c_str());
    std::printf("\n");
  }
}

void print_overlap(const analysis::CircuitComparison& cmp) {
  const size_t n = cmp.circuits.size();
  for (const auto& c : cmp.circuits)
    std::printf("%s: %zu of %lld edges kept, %zu nodes, faithfulness %.3f\n", c.name.c_str(), c.edges.size(),
                static_cast<long long>(c.n_edges), c.nodes.size(), c.faithfulness);
  std::printf("overlap of kept edges (Jaccard, coverage of each side) and of their nodes (Jaccard):\n");
  for (size_t i = 0; i < n; ++i)
    for (size_t j = i + 1; j < n; ++j)
      std::printf("  %s vs %s: edges %.3f (%lld shared; %.3f, %.3f), nodes %.3f\n", cmp.circuits[i].name.c_str(),
                  cmp.circuits[j].name.c_str(), double(cmp.edges.jaccard[i * n + j]),
                  static_cast<long long>(cmp.edges.shared[i * n + j]), double(cmp.edges.coverage[i * n + j]),
                  double(cmp.edges.coverage[j * n + i]), double(cmp.nodes.jaccard[i * n + j]));
  std::printf("edges every circuit keeps:");
  for (const auto& e : cmp.common_edges) std::printf(" %s", e.c_str());
  std::printf("%s\n", cmp.common_edges.empty() ? " none" : "");
}

}  // namespace

Command add_compare_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "compare", "Several models side by side: head roles and, given a prompt pair, circuit overlap");
  cmd->add_option("--models", o->models,
                  "Model directories, comma-separated (two or more); text prompts go through each one's own tokenizer")
      ->delimiter(',')
      ->required();
  cmd->add_option("--names", o->names, "Their names in tables, comma-separated (default: the directory names)")
      ->delimiter(',');
  cmd->add_option("--seq", o->seq, "Length of the repeated random sequence (cut to each model's context)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rows", o->rows, "How many random sequences")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Seed of the random sequences");
  cmd->add_flag("--no-copying", o->no_copying, "Skip the OV copying scores (eigenvalues; slow for a large vocabulary)");
  add_pair_flags(*cmd, o->pair, "The corrupted answer token: the metric is the logit difference", false);
  cmd->get_option("--answer")->required(false);  // the pair is optional here
  cmd->add_option("--method", o->method, "Circuit discovery: eap-ig (default), eap or acdc");
  cmd->add_option("--html", o->html, "Also write an HTML page: role table, score heatmaps, overlap matrices");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            if (o->models.size() < 2) fail("--models: give at least two model directories to compare, comma-separated");
            const std::vector<std::string> names = o->names.empty() ? model_names(o->models) : o->names;
            if (names.size() != o->models.size())
              fail("--names: ", names.size(), " names for ", o->models.size(), " models");
            std::vector<Model> models;
            models.reserve(o->models.size());
            std::vector<const Model*> ptrs;
            for (const auto& p : o->models) ptrs.push_back(&models.emplace_back(load_model(p)));
            analysis::RoleOptions ro;
            ro.seq = o->seq;
            ro.rows = o->rows;
            ro.seed = o->seed;
            ro.copying = !o->no_copying;
            const analysis::RoleTable roles = analysis::head_roles(ptrs, names, ro);
            const PairFlags& pf = o->pair;
            const bool with_pair = !(pf.clean + pf.corrupt + pf.clean_tokens + pf.corrupt_tokens + pf.answer +
                                     pf.wrong).empty();
            const analysis::CircuitComparison cmp =
                with_pair ? analysis::compare_circuits(circuits(models, *o), names) : analysis::CircuitComparison{};
            if (!o->html.empty()) {
              std::string subtitle;
              for (const auto& n : names) subtitle += (subtitle.empty() ? "" : " vs ") + n;
              report::Page page("Cross-model comparison", subtitle);
              pages::add_role_sections(page, roles);
              if (with_pair) pages::add_circuit_overlap_sections(page, cmp);
              page.save(o->html);
            }
            if (o->json) {
              nlohmann::json out = {{"roles", roles.to_json()}};
              if (with_pair) out["circuits"] = cmp.to_json();
              print_json(out);
              return 0;
            }
            print_roles(roles);
            if (with_pair) print_overlap(cmp);
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
