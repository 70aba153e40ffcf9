// Sparse autoencoders on tiny-lm: load the shipped TopK SAE (SAELens layout)
// on blocks.2.hook_resid_post, encode one prompt's activations, and splice
// the reconstruction into the forward pass: how much of the loss survives?
// ctest expects: CE loss recovered 0\.9[0-9]+
#include <cstdio>
#include <glassbox/features/saelens.h>
#include <glassbox/features/splice.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/tiny-lm");
  Engine e(m);
  const std::string dir = zoo::models_dir() + "/tiny-lm/saes/blocks.2.hook_resid_post";
  features::Sae sae = features::load_saelens(dir);   // W_enc [d_in, d_sae], W_dec [d_sae, d_in], b_enc, b_dec
  std::printf("%s: d_in %lld, d_sae %lld, hook %s\n", dir.c_str(), (long long)sae.cfg.d_in, (long long)sae.cfg.d_sae,
              sae.cfg.hook_name.c_str());

  const Tokenizer& tok = *m.tokenizer();
  std::vector<std::vector<int32_t>> text = {
      tok.encode("The best way to learn is to teach someone else what you think you know."),
      tok.encode("A journey of a thousand miles begins with a single wrong turn."),
      tok.encode("Never put off until tomorrow what you can put off until the day after tomorrow.")};
  features::SpliceMetrics s = features::evaluate_splice(e, features::load_sae_codec(dir), sae.cfg.hook_name, text);
  std::printf("CE clean %.3f, spliced %.3f, zero-ablated %.3f nats\n", s.ce_clean, s.ce_spliced, s.ce_ablated);
  std::printf("CE loss recovered %.3f\n", s.ce_loss_recovered);
  return s.ce_loss_recovered > 0.8 ? 0 : 1;
}
