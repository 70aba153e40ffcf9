// Does the model know this? On the facts organism: its trained subjects
// against new pairings of its own names, in the same prompts. The best
// internal signal separates them on held-out subjects (AUROC >= 0.95), and
// the label set really holds unseen subjects.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <set>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/knowledge.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::features;
namespace fs = std::filesystem;

namespace {

bool have_facts() { return fs::exists(fs::path(zoo::models_dir()) / "facts" / "model.safetensors"); }

// A TopK SAE trained (unsupervised) on the residual at every token of the
// label set's prompts, known and unseen alike.
Sae train_sae_on(Engine& e, const LabelSet& s, const std::string& hook) {
  ProbeActivations every(e, s, {parse_hook_name(hook, e.model().config())}, ProbePosition{"every"});
  std::vector<std::vector<float>> rows(1);
  ActivationBatch b;
  while (every.next(b, 4096) > 0) rows[0].insert(rows[0].end(), b.sites[0].begin(), b.sites[0].end());
  MemoryStream stream(every.site_names(), every.dims(), std::move(rows));
  DictionarySpec spec;
  spec.sae.arch = SaeArch::TopK;
  spec.sae.d_in = e.model().config().d_model;
  spec.sae.d_sae = 512;
  spec.sae.k = 16;
  spec.sae.hook_name = hook;
  spec.optimizer.lr = 1e-3f;
  TrainDictionariesOptions o;
  o.batch_rows = 512;
  o.total_tokens = 512 * 100;
  o.progress = false;
  return train_dictionaries(stream, {spec}, o).dictionaries.at(0).sae;
}

}  // namespace

TEST(Knowledge, FactsKnownLabelsPairKnownSubjectsWithUnseenOnes) {
  if (!have_facts()) GTEST_SKIP() << "facts is not shipped";
  const Model m = Model::load((fs::path(zoo::models_dir()) / "facts").string());
  const LabelSet s = facts_known_labels(m);
  ASSERT_EQ(s.classes, (std::vector<std::string>{"unknown", "known"}));
  std::set<std::string> known, unknown;
  for (const auto& ex : s.examples) {
    (ex.label == 1 ? known : unknown).insert(ex.group);
    const int64_t at = ex.positions.at("subject");
    ASSERT_GE(at, 2);
    EXPECT_EQ(ex.positions.at("end"), int64_t(ex.tokens.size()) - 1);
  }
  EXPECT_EQ(known.size(), 120u);
  EXPECT_EQ(unknown.size(), 120u);
  for (const auto& u : unknown) EXPECT_EQ(known.count(u), 0u) << u;
  EXPECT_EQ(s.examples.size(), 960u);  // four relations each
}

TEST(Knowledge, TheBestSignalTellsKnownFromUnseenSubjects) {
  if (!have_facts()) GTEST_SKIP() << "facts is not shipped";
  const Model m = Model::load((fs::path(zoo::models_dir()) / "facts").string());
  const LabelSet s = facts_known_labels(m);
  Engine e(m);
  const std::string sae_hook = "blocks.3.hook_resid_post";
  const Sae sae = train_sae_on(e, s, sae_hook);
  KnowledgeOptions ko;
  ko.sae = &sae;
  const KnowledgeReport r = knowledge_signals(e, s, ko);
  for (const auto& sig : r.signals) std::printf("  %-44s AUROC %.3f\n", sig.name.c_str(), sig.auroc);
  std::printf("entropy known %.3f unseen %.3f; settle %.2f vs %.2f\n", r.entropy_known, r.entropy_unknown,
              r.settle_known, r.settle_unknown);
  // Measured: the subject's mean answer entropy 1.000; one prompt's entropy /
  // top probability 0.94; the residual probes only 0.47-0.62 (whether a
  // pairing of familiar names is a known person is not linear in the stream).
  // The SAE's code is no better (measured 0.42-0.56 at layers 1 and 3): unlike
  // Ferrando et al.'s entity latents in Gemma, no latent here marks a known
  // person, and a probe on the code sees no more than one on the stream.
  EXPECT_GE(r.signals[r.best].auroc, 0.95) << r.signals[r.best].name;
  EXPECT_EQ(r.signals[r.best].kind, "output");
  int n_sae = 0;
  for (const auto& sig : r.signals)
    if (sig.kind == "sae") {
      ++n_sae;
      EXPECT_GT(sig.auroc, 0.3) << sig.name;
      EXPECT_LT(sig.auroc, 0.75) << sig.name;
    }
  EXPECT_EQ(n_sae, 4);  // the best latent and a probe on the code, at the subject and the end
  EXPECT_EQ(r.sae_hook, sae_hook);
  EXPECT_GE(r.sae_latent, 0);
  EXPECT_LT(r.sae_latent, 512);
  EXPECT_EQ(r.to_json()["sae"]["hook"], sae_hook);
  for (const auto& sig : r.signals) {
    if (sig.name == "top_prob" || sig.name == "entropy") {
      EXPECT_GE(sig.auroc, 0.9) << sig.name;
    }
  }
  EXPECT_GT(r.entropy_unknown, 10 * r.entropy_known);
  EXPECT_FALSE(r.best_probe_hook.empty());
  EXPECT_GT(r.n_test, 0);
  const nlohmann::json p = r.probe_json();
  EXPECT_EQ(p["format"], "glassbox-probe");
  EXPECT_EQ(p["probe"]["d_in"], m.config().d_model);
}

TEST(Knowledge, ALabelSetWithoutBothClassesIsAnError) {
  if (!have_facts()) GTEST_SKIP() << "facts is not shipped";
  const Model m = Model::load((fs::path(zoo::models_dir()) / "facts").string());
  LabelSet s = facts_known_labels(m);
  std::erase_if(s.examples, [](const ProbeExample& ex) { return ex.label == 0; });
  Engine e(m);
  EXPECT_THROW(knowledge_signals(e, s), Error);
}
