// Ground truth for sparse dictionaries on real text: the shipped tiny-lm SAE
// (the best of bench/sae_frontier.sh with L0 <= 32) keeps most of the model's
// next-token loss when its reconstruction replaces blocks.2.hook_resid_post,
// on fortunes no SAE was trained on (the `wisdom` file).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "glassbox/features/dictionary_eval.h"
#include "glassbox/features/model_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/features/splice.h"
#include "glassbox/zoo.h"

namespace fs = std::filesystem;

namespace glassbox::features {
namespace {

TEST(SaeFrontier, ShippedTinyLmSaeRecoversNinetyPercentOfTheLossAtL0AtMost32) {
  const fs::path model = fs::path(zoo::models_dir()) / "tiny-lm";
  const fs::path dir = model / "saes" / "blocks.2.hook_resid_post";
  const fs::path heldout = fs::path(GLASSBOX_SOURCE_DIR) / "data" / "zoo-src" / "fortunes" / "wisdom";
  if (!fs::exists(dir / "cfg.json") || !fs::exists(heldout)) GTEST_SKIP() << "no shipped tiny-lm SAE or fortunes";
  const Sae sae = load_saelens(dir.string());
  ASSERT_EQ(sae.cfg.hook_name, "blocks.2.hook_resid_post");
  ModelStreamOptions mo;
  mo.max_tokens = 2048;  // 16 sequences of 128
  ModelActivationStream stream(model.string(), {sae.cfg.hook_name}, heldout.string(), mo);
  const DictionaryMetrics m = evaluate_dictionary(sae, stream, {});
  std::vector<std::vector<int32_t>> seqs;
  for (int64_t s = 0; s < stream.sequences(); ++s) seqs.push_back(stream.sequence(s));
  Engine e(*stream.models().front());
  const SpliceMetrics sp = evaluate_splice(e, load_sae_codec(dir.string()), sae.cfg.hook_name, seqs);
  std::printf("L0 %.2f  explained variance %.3f  CE loss recovered %.4f  KL %.4f (clean %.3f spliced %.3f ablated %.3f)\n",
              m.l0, m.explained_variance, sp.ce_loss_recovered, sp.kl_spliced, sp.ce_clean, sp.ce_spliced,
              sp.ce_ablated);
  EXPECT_EQ(m.rows, 2048);
  EXPECT_LE(m.l0, 32.0);
  EXPECT_GE(sp.ce_loss_recovered, 0.9);
  EXPECT_NEAR(sp.ce_spliced_with_error, sp.ce_clean, 1e-4);
}

}  // namespace
}  // namespace glassbox::features
