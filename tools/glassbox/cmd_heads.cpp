// glassbox heads: attention-head detectors (previous-token, duplicate-token,
// induction) on repeated random tokens or a prompt, the OV copying score of
// every head, and QK / OV circuit matrices of one head on request.
#include <algorithm>
#include <memory>
#include <set>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/head_circuits.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/engine.h"
#include "glassbox/pages/charts.h"
#include "glassbox/tokenizer.h"
#include "glassbox/error.h"

namespace glassbox::cli {

namespace {

struct Opts {
  std::string model, prompt, tokens, html, circuit;
  int64_t seq = 0, rows = 8;  // seq 0: 20, or what fits the context twice
  uint64_t seed = 1;
  bool json = false, no_copying = false;
};

nlohmann::json circuit_json(const Model& m, const analysis::TokenMatrix& t) {
  nlohmann::json j = t.to_json();
  nlohmann::json text = nlohmann::json::array();
  for (int32_t id : t.tokens) text.push_back(token_text_json(m, id));
  j["token_text"] = text;
  return j;
}

}  // namespace

Command add_heads_command(CLI::App& parent) {
  auto o = std::make_shared<Opts>();
  CLI::App* cmd = parent.add_subcommand(
      "heads", "Head detectors (previous-token, duplicate-token, induction), copying scores, QK/OV circuits");
  add_model_option(*cmd, o->model);
  auto* prompt = cmd->add_option("prompt", o->prompt, "Prompt to score on (default: repeated random tokens)");
  auto* tokens = add_tokens_option(*cmd, o->tokens);
  prompt->excludes(tokens);
  cmd->add_option("--seq", o->seq, "Random mode: length of the sequence that is repeated (default: 20, or what fits)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rows", o->rows, "Random mode: how many sequences")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", o->seed, "Random mode: seed");
  cmd->add_flag("--no-copying", o->no_copying, "Skip the OV copying scores (eigenvalues; slow for a large vocabulary)");
  cmd->add_option("--circuit", o->circuit,
                  "LAYER.HEAD: also print that head's QK and OV circuits over the prompt's distinct tokens");
  cmd->add_option("--html", o->html, "Also write an HTML page with the score heatmaps");
  add_json_flag(*cmd, o->json);
  return {cmd, [o] {
            const Model m = load_model(o->model);
            const Config& c = m.config();
            const auto head = o->circuit.empty() ? std::pair<int, int>{-1, -1} : parse_layer_head(o->circuit, "--circuit", c);
            Engine e(m);
            const bool random = o->prompt.empty() && o->tokens.empty();
            const int64_t seq = o->seq > 0 ? o->seq : analysis::repeated_length_that_fits(m, 20);
            if (random && seq < 1) fail("the model's context of ", c.n_ctx, " tokens has no room for a repeated sequence");
            const Batch b = random ? analysis::repeated_random_tokens(m, seq, o->rows, o->seed)
                                   : Batch::single(input_tokens(m, o->prompt, o->tokens));
            analysis::HeadDetectorOptions ho;
            ho.matched_rows_only = true;  // the classic induction score: only rows where the pattern points somewhere
            std::vector<analysis::HeadScores> scores = analysis::head_detection_scores(
                e, b,
                {analysis::HeadPattern::PreviousToken, analysis::HeadPattern::DuplicateToken,
                 analysis::HeadPattern::Induction},
                ho);
            if (!o->no_copying) scores.push_back(analysis::copying_scores(m));
            nlohmann::json out = {{"input", random ? "repeated_random_tokens" : "prompt"},
                                  {"rows", b.B}, {"seq", b.T}, {"scores", nlohmann::json::array()}};
            for (const auto& s : scores) out["scores"].push_back(s.to_json());
            if (!o->circuit.empty()) {
              const auto [l, h] = head;
              std::set<int32_t> distinct(b.tokens.begin(), b.tokens.end());
              const std::vector<int32_t> toks(distinct.begin(), distinct.end());
              out["circuit"] = {{"layer", l}, {"head", h},
                                {"qk", circuit_json(m, analysis::qk_circuit(m, l, h, toks))},
                                {"ov", circuit_json(m, analysis::ov_circuit(m, l, h, toks))}};
            }
            if (!o->html.empty()) {
              report::Page page("Attention heads", m.source());
              for (const auto& s : scores) page.add_chart(pages::head_score_heatmap(s));
              page.save(o->html);
            }
            if (o->json) {
              print_json(out);
              return 0;
            }
            std::printf("scores on %s (%lld rows x %lld tokens)\n",
                        random ? "repeated random tokens" : "the prompt", static_cast<long long>(b.B),
                        static_cast<long long>(b.T));
            for (const auto& s : scores) {
              print_grid(s.name, pages::layer_labels(s.n_layers), pages::head_labels(s.n_heads), s.scores);
              const auto best = s.ranked().front();
              std::printf("  best: L%dH%d %.3f\n", best.first, best.second, double(s.at(best.first, best.second)));
            }
            if (out.contains("circuit")) std::printf("%s\n", out["circuit"].dump().c_str());
            if (!o->html.empty()) std::printf("wrote %s\n", o->html.c_str());
            return 0;
          }};
}

}  // namespace glassbox::cli
