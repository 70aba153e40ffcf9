// A model diff as report sections: the KL profile over the response, the
// component shares as [layer, component] heatmaps (both patching directions),
// relative weight-difference norms as bars, and the lens of the difference
// as a table of promoted / suppressed tokens per layer.
#include "glassbox/pages/model_diff.h"

#include <algorithm>
#include <cmath>

#include "glassbox/error.h"
#include "glassbox/pages/charts.h"
#include "glassbox/tokenizer.h"

namespace glassbox::pages {

using namespace analysis;

namespace {

std::string num(double v, const char* f = "%.3f") { return report::format_number(v, f); }

std::string token_text(const Model& m, int32_t id) {
  return m.tokenizer() ? report::display_token(m.tokenizer()->token_to_bytes(id)) : glassbox::detail::cat("#", id);
}

std::string token_list(const Model& m, const std::vector<int32_t>& ids, const std::vector<float>& delta) {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i)
    out += (out.empty() ? "" : "  ") + token_text(m, ids[i]) + " (" + num(delta[i], "%+.2f") + ")";
  return out;
}

void add_lens_table(report::Page& page, const Model& m, const std::vector<LensDiffLayer>& ls) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& l : ls)
    rows.push_back({l.hook, num(l.relative_norm), token_list(m, l.promoted, l.promoted_delta),
                    token_list(m, l.suppressed, l.suppressed_delta)});
  page.add_table({"layer", "|diff| / |resid|", "promoted (mean change of log p)", "suppressed"}, rows);
}

}  // namespace

std::string model_diff_summary(const ModelDiff& d) {
  const int64_t s = d.start_positions;
  const std::string ratio = std::isfinite(d.start_over_rest) ? num(d.start_over_rest, "%.1f") + "x" : "no KL after it";
  const bool at_start = d.start_over_rest >= 2.0;
  return glassbox::detail::cat(at_start ? "The difference concentrates at the response start: " :
                                          "The difference is not concentrated at the response start: ",
                               "mean KL(tuned || base) ", num(d.kl_start), " nats over response positions 0-", s - 1,
                               " against ", num(d.kl_rest), " after them (", ratio, "); largest at position ",
                               d.peak_position, " (", num(d.kl_by_position.empty() ? 0.0 : d.kl_by_position[size_t(d.peak_position)]),
                               " nats). ", d.n_prompts, " prompts.");
}

void add_model_diff_sections(report::Page& page, const Model& tuned, const ModelDiff& d) {
  page.add_heading("Where the models diverge");
  page.add_text(model_diff_summary(d));
  std::vector<float> kl(d.kl_by_position.begin(), d.kl_by_position.end());
  page.add_chart(report::line_chart("KL(tuned || base) by response position", {{"mean KL", kl}},
                                    "response position", "nats"));

  if (!d.components.empty()) {
    page.add_heading("Which components carry the difference");
    page.add_text("Each component's output (every position) patched from one model into the other. Base into "
                  "tuned: the share of the KL that disappears without the component's change; tuned into base: the "
                  "share it brings alone. Shares need not add up to 1.");
    std::vector<std::string> sites;
    int layers = 0;
    for (const auto& c : d.components) {
      if (std::find(sites.begin(), sites.end(), to_string(c.site)) == sites.end()) sites.push_back(to_string(c.site));
      layers = std::max(layers, c.layer + 1);
    }
    for (int dir = 0; dir < 4; ++dir) {
      std::vector<float> v(size_t(layers) * sites.size(), NAN);
      for (const auto& c : d.components) {
        const size_t col = size_t(std::find(sites.begin(), sites.end(), to_string(c.site)) - sites.begin());
        const double x = dir == 0 ? c.base_into_tuned : dir == 1 ? c.tuned_into_base
                       : dir == 2 ? c.base_into_tuned_start : c.tuned_into_base_start;
        v[size_t(c.layer) * sites.size() + col] = float(x);
      }
      const char* titles[] = {"base into tuned: KL removed (all positions)", "tuned into base: KL brought (all positions)",
                              "base into tuned: KL removed (response start)",
                              "tuned into base: KL brought (response start)"};
      page.add_chart(report::heatmap(titles[dir], layer_labels(layers), sites, v, "share", true, "layer", "component"));
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : d.components)
      rows.push_back({c.hook, num(c.base_into_tuned), num(c.tuned_into_base), num(c.base_into_tuned_start),
                      num(c.tuned_into_base_start)});
    page.add_table({"component", "base into tuned", "tuned into base", "base into tuned (start)",
                    "tuned into base (start)"},
                   rows);
  }

  page.add_heading("Weight differences");
  page.add_text("||W_tuned - W_base||_F / ||W_base||_F per matrix.");
  std::vector<std::string> names;
  std::vector<float> rel;
  for (const auto& w : d.weights) {
    names.push_back(w.name);
    rel.push_back(std::isfinite(w.relative) ? float(w.relative) : NAN);
  }
  page.add_chart(report::bar_chart("relative Frobenius norm of the weight difference", names, rel, "matrix",
                                   "relative norm"));

  page.add_heading("What the difference promotes");
  page.add_text("The logit lens of both models at each layer's resid_post; the tokens whose log-probability the "
                "tuned model raises (lowers) most, on average, at the response start and after it.");
  page.add_heading("Response start", 3);
  add_lens_table(page, tuned, d.lens_start);
  page.add_heading("After the start", 3);
  add_lens_table(page, tuned, d.lens_rest);
}

std::string crosscoder_diff_summary(const features::CrosscoderDiff& d) {
  const bool specific = d.exclusivity_start > 1.2 * d.exclusivity_rest;
  return glassbox::detail::cat(
      "Of ", d.d_sae, " crosscoder latents at ", d.tuned_hook, ", ", d.tuned_only.latents,
      " are exclusive to the tuned model, ", d.base_only.latents, " to the base and ", d.shared.latents,
      " shared. ", specific ? "What fires at the response start is more model-specific than what fires after it"
                            : "What fires at the response start is not more model-specific than what fires after it",
      ": activation-weighted exclusivity ", num(d.exclusivity_start), " against ", num(d.exclusivity_rest),
      ", decoder cosine ", num(d.cosine_start), " against ", num(d.cosine_rest), ".");
}

void add_crosscoder_diff_sections(report::Page& page, const Model& tuned, const features::CrosscoderDiff& d) {
  page.add_heading("Crosscoder latents");
  page.add_text(crosscoder_diff_summary(d) +
                " Relative decoder norm r = ||d_tuned|| / (||d_base|| + ||d_tuned||): 0 base only, 0.5 shared, 1 tuned "
                "only; exclusivity 2|r - 0.5|.");
  std::vector<std::string> bins;
  std::vector<float> counts;
  const size_t n = d.relative_norm_histogram.size();
  for (size_t i = 0; i < n; ++i) {
    bins.push_back(num(double(i) / double(n), "%.2f"));
    counts.push_back(float(d.relative_norm_histogram[i]));
  }
  page.add_chart(report::bar_chart("latents by relative decoder norm", bins, counts, "relative norm (bin start)",
                                   "latents"));
  const char* titles[] = {"Latents firing most at the response start", "Tuned-only latents", "Base-only latents"};
  const std::vector<features::CrosscoderLatent>* lists[] = {&d.top_start, &d.top_tuned_only, &d.top_base_only};
  for (int side = 0; side < 3; ++side) {
    if (side > 0 && lists[side]->empty()) continue;
    page.add_heading(titles[side], 3);
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : *lists[side])
      rows.push_back({glassbox::detail::cat(l.latent), num(l.relative_norm), num(l.decoder_cosine), num(l.freq_start),
                      num(l.freq_rest), num(l.mean_start), num(l.mean_rest),
                      l.max_token >= 0 ? token_text(tuned, l.max_token) : "", num(l.max_activation)});
    page.add_table({"latent", "relative norm", "decoder cosine", "fires at start", "fires after", "mean at start",
                    "mean after", "token at max", "max"},
                   rows);
  }
}

}  // namespace glassbox::pages
