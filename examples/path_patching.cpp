// Path patching on the ioi organism: for every sender head, run the clean
// prompt with that head's output taken from the corrupted run, reaching only
// the logits (every other head frozen at its clean value).
// ctest expects: L1H0 -> logits 0\.1[0-9]+
#include <cstdio>
#include <glassbox/analysis/path_patching.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/ioi");
  Engine e(m);
  const Tokenizer& tok = *m.tokenizer();
  Batch clean = Batch::single(tok.encode("When Mary and John went to the store, John gave a drink to"));
  Batch corrupt = Batch::single(tok.encode("When Mary and John went to the store, Mary gave a drink to"));

  analysis::PathPatchingOptions o;               // noise: clean run, corrupted senders; 1 = path unused
  o.metric.answer = {tok.encode(" Mary", false).at(0)};
  o.metric.wrong = {tok.encode(" John", false).at(0)};
  analysis::PatchGrid g = analysis::path_patching(e, clean, corrupt, {analysis::PathReceiver::resid_final()}, o);

  int64_t bl = 0, bh = 0;                        // the head whose direct path matters most
  for (int64_t l = 0; l < g.n_layers; ++l)
    for (int64_t h = 0; h < g.n_cols; ++h)
      if (g.at(l, h) < g.at(bl, bh)) bl = l, bh = h;
  std::printf("L%lldH%lld -> logits %.3f\n", (long long)bl, (long long)bh, g.at(bl, bh));

  // One path by hand: that head -> the final residual stream.
  double v = analysis::path_patch(e, clean, corrupt, {{int(bl), int(bh)}}, {analysis::PathReceiver::resid_final()}, o);
  std::printf("path_patch(L%lldH%lld -> logits) = %.3f\n", (long long)bl, (long long)bh, v);
  return v < 0.5 ? 0 : 1;
}
