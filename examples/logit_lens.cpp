// The logit lens on the ioi organism: what each layer's residual stream
// predicts at the last position of an IOI prompt, and the rank of " Mary".
// ctest expects: blocks.3.hook_resid_post +top +Mary
#include <cstdio>
#include <glassbox/analysis/logit_lens.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/ioi");
  Engine e(m);
  const Tokenizer& tok = *m.tokenizer();
  Batch b = Batch::single(tok.encode("When Mary and John went to the store, John gave a drink to"));

  analysis::LogitLensOptions o;
  o.positions = {-1};                            // the last position only
  o.targets = {tok.encode(" Mary", /*add_special=*/false).at(0)};  // track its rank
  analysis::LogitLensResult r = analysis::logit_lens(e, b, o);

  for (size_t l = 0; l < r.layers.size(); ++l) {
    const analysis::LensCell& c = r.at(l, 0);
    std::printf("%-26s top %-8s p=%.2f   ' Mary' rank %lld\n", r.layers[l].c_str(),
                tok.token_to_bytes(c.top_tokens[0]).c_str(), c.top_probs[0], (long long)c.target_rank);
  }
  return r.at(r.layers.size() - 1, 0).target_rank == 0 ? 0 : 1;  // the model answers " Mary"
}
