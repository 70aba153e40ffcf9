#include "tour_features.h"

#include <algorithm>
#include <numeric>

#include "common.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/collect.h"
#include "glassbox/features/dictionary_eval.h"
#include "glassbox/features/labels.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/splice.h"
#include "glassbox/features/superposition.h"
#include "glassbox/pages/dashboard.h"
#include "glassbox/pages/probe.h"
#include "glassbox/tokenizer.h"
#include "glassbox/zoo.h"
#include "glassbox/zoo_superposition.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace glassbox::cli {

namespace {

bool shipped(const fs::path& models_dir, const char* name) {
  return fs::exists(models_dir / name / "model.safetensors") || fs::exists(models_dir / name / "config.json");
}

// Which name is the indirect object, probed layer by layer at the final token:
// the depth where it becomes decodable is where activation patching starts to
// restore the answer (test ProbeSweep.IoiIndirectObjectIsDecodableWherePatchingFindsIt).
void ioi_probe_section(report::Page& page, const fs::path& models_dir) {
  const Model m = Model::load((models_dir / "ioi").string());
  features::LabelSetOptions lo;
  lo.limit = 1024;
  const features::LabelSet labels = features::load_label_set("ioi-io", m, lo);
  features::ProbeSweepOptions so;
  so.sites = {Site::resid_pre, Site::resid_post};
  Engine e(m);
  const features::ProbeSweep s = features::probe_sweep(e, labels, so);
  page.add_heading("Probes: where ioi's indirect object becomes readable");
  page.add_text("A logistic probe per layer reads which of four held-out names is the indirect object from the "
                "residual stream at the final token (glassbox probe --model models/ioi --task ioi-io). The control "
                "task gives every name a random label (Hewitt & Liang): selectivity is accuracy above it. The name "
                "becomes decodable at the depth where patching the residual stream starts to restore the answer.");
  pages::add_probe_sections(page, s);
}

// The toy model of superposition: 64 planted features in 16 dimensions. The
// shipped SAE's decoder rows against the true directions, and the built-in
// explanations of its latents against the planted features' names.
void superposition_section(report::Page& page, const fs::path& dir) {
  const zoo::SuperpositionModel toy = zoo::SuperpositionModel::load(dir.string());
  const features::Sae sae = features::load_saelens((dir / "saes" / "hook_hidden").string());
  const int64_t n = toy.n_features, m = toy.d_hidden;
  const std::vector<features::BestMatch> best = features::best_matches(toy.directions(), sae.W_dec, m);
  const double recovered = features::recovered_fraction(toy.directions(), sae.W_dec, m, 0.9);
  const auto examples = features::superposition_examples(toy, sae);
  const features::AutointerpReport r =
      features::autointerp(examples, features::BuiltinExplainer(), features::BuiltinSimulator());
  // The latent closest to each true feature, and whether its explanation names it.
  std::vector<std::vector<std::string>> rows;
  int named = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t bestj = best[size_t(i)].index;
    const double bc = best[size_t(i)].cosine;
    if (bestj < 0) continue;  // no latent points its way at all
    const std::string& text = r.explanations[size_t(bestj)].text;
    const bool names_it = text.find("\"" + toy.names[size_t(i)] + "\"") != std::string::npos;
    named += names_it;
    if (i < 12)
      rows.push_back({toy.names[size_t(i)], strf("%.3f", toy.importance[size_t(i)]), strf("#%lld", (long long)bestj),
                      strf("%.3f", bc), text, names_it ? "yes" : "no"});
  }
  const auto summary = r.summary();
  page.add_heading("Superposition: an SAE recovers the planted features");
  page.add_text(strf("The superposition organism stores %lld sparse features in %lld dimensions (Elhage et al. "
                     "2022); their true directions ship with it. A %s SAE with %lld latents, trained on its hidden "
                     "activations (glassbox sae train), has a latent within cosine 0.9 of %.0f%% of them. The "
                     "built-in explainer names the planted feature of the closest latent for %d of %lld features.",
                     (long long)n, (long long)m, features::to_string(sae.cfg.arch), (long long)sae.cfg.d_sae,
                     100 * recovered, named, (long long)n));
  page.add_card({"recovery", {{"features", std::to_string(n)}, {"dimensions", std::to_string(m)},
                              {"recovered (cos >= 0.9)", strf("%.0f%%", 100 * recovered)},
                              {"explanations naming it", strf("%d / %lld", named, (long long)n)}}});
  auto median = [&](const char* score, const char* which) { return summary[score][which]["median"].get<double>(); };
  page.add_card({"autointerp (median over latents)",
                 {{"simulation", strf("%.3f (shuffled %.3f)", median("simulation", "explained"), median("simulation", "control"))},
                  {"detection AUROC", strf("%.3f (shuffled %.3f)", median("detection_auroc", "explained"),
                                           median("detection_auroc", "control"))},
                  {"fuzzing AUROC", strf("%.3f (shuffled %.3f)", median("fuzzing_auroc", "explained"),
                                         median("fuzzing_auroc", "control"))}}});
  std::vector<std::string> labels;
  std::vector<float> values;
  for (int64_t i = 0; i < n; ++i) labels.push_back(toy.names[size_t(i)]), values.push_back(float(best[size_t(i)].cosine));
  page.add_chart(report::bar_chart("best cosine of a decoder row with each true feature (most important first)",
                                   labels, values, "planted feature", "cosine"));
  page.add_table({"planted feature", "importance", "closest latent", "cosine", "built-in explanation", "names it"},
                 rows);
}

// tiny-lm's shipped residual-stream SAE on held-out fortunes: reconstruction,
// the loss it keeps when spliced in, and a dashboard per latent.
void tiny_lm_sae_section(report::Page& page, const fs::path& models_dir, const fs::path& out) {
  const fs::path sae_dir = models_dir / "tiny-lm" / "saes" / "blocks.2.hook_resid_post";
  auto model = std::make_shared<const Model>(Model::load((models_dir / "tiny-lm").string()));
  auto sae = std::make_shared<const features::Sae>(features::load_saelens(sae_dir.string()));
  const zoo::Recipe recipe = zoo::find_organism("tiny-lm").recipe(zoo::data_dir());
  std::string text;
  for (const std::string& doc : recipe.heldout_items) text += doc + "\n";
  const Tokenizer& tok = require_tokenizer(*model, "the tour");
  std::vector<int32_t> ids = tok.encode(text);
  constexpr int64_t kTokens = 32768, kCtx = 128;
  if (int64_t(ids.size()) > kTokens) ids.resize(size_t(kTokens));
  Engine e(*model);
  std::vector<std::vector<int32_t>> seqs;
  for (size_t i = 0; i + kCtx <= ids.size() && seqs.size() < 64; i += kCtx)
    seqs.push_back({ids.begin() + int64_t(i), ids.begin() + int64_t(i + kCtx)});
  const features::SpliceMetrics splice = features::evaluate_splice(e, sae, sae->cfg.hook_name, seqs);
  features::ModelStreamOptions so;
  so.context = int(kCtx);
  features::ModelActivationStream stream({model}, {"tiny-lm"}, {sae->cfg.hook_name}, ids, so);
  const features::DictionaryMetrics dm = features::evaluate_dictionary(*sae, stream);

  features::CollectOptions co;
  co.seq_len = int(kCtx);
  features::Dashboards d = features::collect_dashboards(e, *sae, ids, co);
  d.data.corpus = "tiny-lm's held-out fortunes";
  const features::AutointerpReport r = features::explain_dashboards(d.examples, d.data);
  const std::string dash = pages::save_dashboard((out / "dashboards").string(), d.examples, d.data);

  page.add_heading("A sparse dictionary of tiny-lm's residual stream");
  page.add_text(strf("The shipped %s SAE (%lld latents, 16x the residual width) reads %s. On %lld held-out tokens "
                     "it keeps %.1f%% of the next-token loss when its reconstruction replaces the activation "
                     "(CE loss recovered against zero ablation), with %.1f active latents per token.",
                     features::to_string(sae->cfg.arch), (long long)sae->cfg.d_sae, sae->cfg.hook_name.c_str(),
                     (long long)splice.tokens, 100 * splice.ce_loss_recovered, dm.l0));
  page.add_card({"reconstruction", {{"L0", strf("%.1f", dm.l0)},
                                    {"explained variance", strf("%.3f", dm.explained_variance)},
                                    {"dead latents", strf("%.1f%%", 100 * dm.dead_fraction)},
                                    {"dense latents", strf("%.1f%%", 100 * dm.dense_fraction)}}});
  page.add_card({"spliced in", {{"CE clean", strf("%.3f", splice.ce_clean)},
                                {"CE with SAE", strf("%.3f", splice.ce_spliced)},
                                {"CE zero-ablated", strf("%.3f", splice.ce_ablated)},
                                {"CE loss recovered", strf("%.1f%%", 100 * splice.ce_loss_recovered)},
                                {"KL with SAE", strf("%.4f", splice.kl_spliced)}}});
  if (!r.features.empty()) {
    const auto sum = r.summary()["simulation"];
    page.add_text(strf("Every active latent has a dashboard (top contexts, lower quantiles, logit effects, "
                       "co-occurring latents) and a built-in explanation scored by simulation on held-out "
                       "contexts: median correlation %.3f, against %.3f for explanations shuffled across latents.",
                       sum["explained"]["median"].get<double>(), sum["control"]["median"].get<double>()));
  }
  page.add_card({"dashboards", {{"latents", std::to_string(d.data.n_features)}, {"tokens", std::to_string(d.data.tokens)}},
                 "searchable index, one panel per latent", fs::relative(dash, out).string()});
}

}  // namespace

void features_page(report::Site& site, const json& manifest, const fs::path& models_dir, const fs::path& out) {
  (void)manifest;
  auto& page = site.add_page("features", "Features", "probes, sparse dictionaries, dashboards, explanations");
  page.add_text("The other half of interpretability: directions and sparse features in the activations. "
                "Everything here is computed from shipped weights and dictionaries in a few seconds.");
  if (fs::exists(models_dir / "superposition" / "saes" / "hook_hidden" / "cfg.json"))
    superposition_section(page, models_dir / "superposition");
  if (fs::exists(models_dir / "tiny-lm" / "saes" / "blocks.2.hook_resid_post" / "cfg.json") &&
      fs::exists(fs::path(zoo::data_dir()) / "fortunes"))
    tiny_lm_sae_section(page, models_dir, out);
  if (shipped(models_dir, "ioi")) ioi_probe_section(page, models_dir);
}

}  // namespace glassbox::cli
