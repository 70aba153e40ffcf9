// Direct logit attribution on the ioi organism: how much each layer's
// attention and MLP output, and each head, writes along W_U[Mary] - W_U[John]
// at the last position.
// ctest expects: logit difference 14\.[0-9]+ = sum of parts 14\.[0-9]+
#include <cmath>
#include <cstdio>
#include <glassbox/analysis/dla.h>
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

  analysis::DlaOptions o;
  o.answer = {tok.encode(" Mary", /*add_special=*/false).at(0)};
  o.wrong = {tok.encode(" John", /*add_special=*/false).at(0)};
  analysis::DlaResult r = analysis::direct_logit_attribution(e, b, o);

  for (const analysis::DlaComponent& c : r.by_layer) std::printf("%-24s %+8.3f\n", c.name.c_str(), c.value);
  int best_l = 0, best_h = 0;                    // the head writing most towards " Mary"
  for (int l = 0; l < r.n_layers; ++l)
    for (int h = 0; h < r.n_heads; ++h)
      if (r.head(l, h) > r.head(best_l, best_h)) best_l = l, best_h = h;
  std::printf("top head L%dH%d %+.3f\n", best_l, best_h, r.head(best_l, best_h));
  std::printf("logit difference %.3f = sum of parts %.3f\n", r.logit, r.sum());
  return std::fabs(r.logit - r.sum()) < 1e-3 * std::fabs(r.logit) ? 0 : 1;  // the parts add up
}
