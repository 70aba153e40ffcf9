#include "tour_analysis.h"

#include <algorithm>

#include "analysis_cli.h"
#include "common.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/path_patching.h"
#include "glassbox/analysis/patching_compare.h"
#include "glassbox/analysis/strongest_head.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/engine.h"
#include "glassbox/generate.h"
#include "glassbox/pages/circuit.h"
#include "glassbox/pages/charts.h"
#include "glassbox/tokenizer.h"

namespace glassbox::cli {

namespace {

void lens_section(report::Page& page, const Model& m, Engine& e, const PromptPair& pp, int32_t answer) {
  analysis::LogitLensOptions lo;
  lo.targets = {answer};
  const auto r = analysis::logit_lens(e, Batch::single(pp.clean), lo);
  page.add_heading("Logit lens");
  page.add_text("The residual stream before each layer (and after the last), decoded through the final norm and the "
                "unembedding. The table follows the answer token's rank at the last position, layer by layer.");
  page.add_chart(pages::lens_heatmap(m, r), "Colour: probability of each cell's top token; hover for the token.");
  std::vector<std::vector<std::string>> rows;
  for (size_t l = 0; l < r.layers.size(); ++l) {
    const auto& c = r.at(l, r.positions.size() - 1);
    rows.push_back({r.layers[l], token_label(m, c.top_tokens.at(0)), strf("%.3f", double(c.top_probs.at(0))),
                    std::to_string(c.target_rank), strf("%.3f", double(c.target_prob)),
                    strf("%.3f", double(c.kl_to_final))});
  }
  page.add_table({"residual stream", "top token", "p(top)", "answer rank", "p(answer)", "KL to final"}, rows);
}

void dla_section(report::Page& page, Engine& e, const PromptPair& pp, int32_t answer, int32_t wrong) {
  analysis::DlaOptions d;
  d.answer = {answer};
  d.wrong = {wrong};
  d.neurons = false;
  const auto r = analysis::direct_logit_attribution(e, Batch::single(pp.clean), d);
  page.add_heading("Direct logit attribution");
  page.add_text(strf("What each component writes, directly, along answer - wrong at the last position. The parts "
                     "sum to the model's logit difference, %.3f.",
                     r.logit));
  page.add_chart(pages::dla_component_chart(r));
  page.add_chart(pages::dla_head_heatmap(r), "Per head (attn.hook_result); b_O is not in any head.");
}

void patching_section(report::Page& page, const Model& m, Engine& e, const PromptPair& pp, int32_t answer,
                      int32_t wrong) {
  std::vector<Site> sites = {Site::resid_pre, Site::attn_out};
  if (site_exists(Site::mlp_out, m.config())) sites.push_back(Site::mlp_out);
  sites.push_back(Site::z);
  analysis::PatchingOptions po;
  po.metric.answer = {answer};
  po.metric.wrong = {wrong};
  const analysis::PatchRun run =
      analysis::run_patching(e, Batch::single(pp.clean), Batch::single(pp.corrupt), sites, po, true, true);
  page.add_heading("Activation patching");
  page.add_text(strf("The corrupted prompt, with one activation at a time taken from the clean run; 1 = the clean "
                     "logit difference (%.3f) fully restored, 0 = the corrupted one (%.3f). Residual-stream rows "
                     "show where the information lives, layer by layer and position by position.",
                     run.activation.at(0).clean, run.activation.at(0).corrupt));
  const std::vector<std::string> cols = pages::position_labels(m, pp.clean);
  for (const auto& g : run.activation) page.add_chart(pages::patch_heatmap(g, cols));
  page.add_heading("Attribution patching");
  page.add_text("The same grids from one forward and one backward pass (a first-order estimate), and how well they "
                "agree with the real patches above.");
  std::vector<std::vector<std::string>> rows;
  for (const auto& [hook, r] : run.correlation) rows.push_back({hook, strf("%.3f", r)});
  page.add_table({"site", "correlation with activation patching"}, rows);
  for (const auto& g : run.attribution) page.add_chart(pages::patch_heatmap(g, cols));
}

// Path patching as Wang et al. did it on IOI: first every head's direct
// path to the logits, then, for the head with the largest direct effect
// (beyond layer 0), which earlier heads act through its query.
void path_patching_section(report::Page& page, Engine& e, const PromptPair& pp, int32_t answer, int32_t wrong) {
  analysis::PathPatchingOptions po;
  po.metric.answer = {answer};
  po.metric.wrong = {wrong};
  const Batch clean = Batch::single(pp.clean), corrupt = Batch::single(pp.corrupt);
  const analysis::PatchGrid direct =
      analysis::path_patching(e, clean, corrupt, {analysis::PathReceiver::resid_final()}, po);
  page.add_heading("Path patching");
  page.add_text("Each head's output taken from the corrupted prompt, reaching only the chosen receivers while every "
                "other head stays frozen at its clean value; 1 = the path does not matter, 0 = it carries the whole "
                "clean-vs-corrupted difference (Wang et al. 2022). First the receiver is the final residual stream "
                "(each head's direct effect on the logits).");
  page.add_chart(pages::patch_heatmap(direct, {}));
  // Noising: 1 = no effect. Layer 0 has no earlier heads to act through its query.
  const auto best = analysis::strongest_head(direct, 1.f, /*first_layer=*/1);
  if (!best) return;
  const analysis::PatchGrid via_q = analysis::path_patching(
      e, clean, corrupt, {analysis::PathReceiver::head_input(best->layer, best->head, Site::q)}, po);
  page.add_text(strf("Then the receiver is the query of L%dH%d, the head with the largest direct effect (%.3f): which "
                     "earlier heads tell it where to look.",
                     best->layer, best->head, double(best->value)));
  page.add_chart(pages::patch_heatmap(via_q, {}));
}

// EAP-IG with resample ablation, where the graph is supported (sequential
// residual, no grouped-query attention): every shipped organism qualifies.
void circuit_section(report::Page& page, Engine& e, const PromptPair& pp, int32_t answer, int32_t wrong) {
  analysis::CircuitOptions co;
  co.metric.answer = {answer};
  co.metric.wrong = {wrong};
  const analysis::Circuit c = analysis::discover_circuit(e, Batch::single(pp.clean), Batch::single(pp.corrupt), co);
  page.add_heading("Circuit (EAP-IG)");
  page.add_text("Edges between the embeddings, every head, every MLP and the logits, scored by EAP-IG (integrated "
                "gradients of the logit difference, 5 steps); the fewest top edges that keep 90% of the logit "
                "difference, with every other edge resampled from the corrupted prompt, form the circuit.");
  pages::add_circuit_sections(page, c);
}

// For the language models (no probe prompts): a tuned lens fitted on text
// the model samples itself, against the logit lens, layer by layer.
void lens_comparison_section(report::Page& page, Engine& e) {
  const int64_t seq = std::min<int64_t>(64, e.model().config().n_ctx);
  const std::vector<int32_t> text = sample_token_stream(e, 12 * 1024, 1);
  const std::vector<int32_t> train(text.begin(), text.begin() + 10 * 1024), test(text.begin() + 10 * 1024, text.end());
  analysis::TunedLens lens = analysis::TunedLens::identity(e.model());
  analysis::TunedLensTrainOptions to;
  to.steps = 150;
  to.seq_len = seq;
  analysis::train_tuned_lens(e, lens, train, to);
  const auto cmp = analysis::compare_lenses(e, lens, test, seq);
  page.add_heading("Logit lens vs. tuned lens");
  page.add_text(strf("KL divergence from the model's final next-token distribution when each residual stream is "
                     "decoded directly (logit lens) or through a learned affine translator (tuned lens, %d steps "
                     "on %zu tokens the model sampled itself; measured on %lld other positions). glassbox "
                     "tuned-lens train fits and saves one.",
                     to.steps, train.size(), static_cast<long long>(cmp.positions)));
  page.add_chart(pages::lens_comparison_chart(cmp));
}

void heads_section(report::Page& page, const Model& m, Engine& e) {
  const int64_t seq = analysis::repeated_length_that_fits(m, 20);
  if (seq < 4) return;  // no room for a repeated sequence (modadd's 3-token context)
  analysis::HeadDetectorOptions ho;
  ho.matched_rows_only = true;
  const auto scores = analysis::head_detection_scores(
      e, analysis::repeated_random_tokens(m, seq, 8, 11),
      {analysis::HeadPattern::PreviousToken, analysis::HeadPattern::DuplicateToken, analysis::HeadPattern::Induction},
      ho);
  page.add_heading("Head detectors");
  page.add_text(strf("TransformerLens head_detector scores on 8 random sequences of %lld tokens, each repeated once "
                     "(share of attention where the pattern points, over the rows where it points somewhere).",
                     static_cast<long long>(seq)));
  for (const auto& s : scores) page.add_chart(pages::head_score_heatmap(s));
}

}  // namespace

void add_analysis_sections(report::Page& page, const Model& m, const nlohmann::json& entry) {
  Engine e(m);
  const auto probes = entry.value("probes", nlohmann::json::array());
  if (!probes.empty() && m.tokenizer()) {
    const auto& p = probes[0];
    const PromptPair pp = prompt_pair(m, p["clean"], p["corrupt"], "", "");
    const int32_t answer = parse_single_token(m, p["answer"], "probe answer");
    const int32_t wrong = parse_single_token(m, p["wrong"], "probe wrong");
    page.add_heading("Probe prompts");
    page.add_table({"", "prompt", "answer"}, {{"clean", p["clean"], p["answer"]}, {"corrupted", p["corrupt"], p["wrong"]}});
    lens_section(page, m, e, pp, answer);
    dla_section(page, e, pp, answer, wrong);
    patching_section(page, m, e, pp, answer, wrong);
    path_patching_section(page, e, pp, answer, wrong);
    circuit_section(page, e, pp, answer, wrong);
  } else if (m.tokenizer() && m.config().n_ctx >= 32) {
    lens_comparison_section(page, e);
  }
  heads_section(page, m, e);
}

}  // namespace glassbox::cli
