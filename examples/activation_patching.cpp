// Activation and attribution patching on the ioi organism: patch each layer's
// residual stream (by position) and each head's output (hook_z) from the clean
// prompt into the corrupted one, and compare with the gradient estimate.
// ctest expects: attn\.hook_z: best L1H0 0\.[0-9]+
#include <cstdio>
#include <glassbox/analysis/attribution_patching.h>
#include <glassbox/analysis/patching.h>
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

  analysis::PatchingOptions o;                   // denoise: clean activations into the corrupted run
  o.metric.answer = {tok.encode(" Mary", false).at(0)};
  o.metric.wrong = {tok.encode(" John", false).at(0)};   // logit difference, normalised: 1 = clean, 0 = corrupted
  const std::vector<Site> sites = {Site::resid_pre, Site::z};
  std::vector<analysis::PatchGrid> act = analysis::activation_patching(e, clean, corrupt, sites, o);
  std::vector<analysis::PatchGrid> attr = analysis::attribution_patching(e, clean, corrupt, sites, o);

  bool ok = true;
  for (size_t i = 0; i < act.size(); ++i) {
    const analysis::PatchGrid& g = act[i];
    int64_t bl = 0, bc = 0;
    for (int64_t l = 0; l < g.n_layers; ++l)
      for (int64_t c = 0; c < g.n_cols; ++c)
        if (g.at(l, c) > g.at(bl, bc)) bl = l, bc = c;
    std::printf("%s: best %s%lld%s%lld %.3f (%lld forward runs); correlation with attribution %.3f\n",
                g.hook.c_str(), "L", (long long)bl, g.by_head ? "H" : " pos ", (long long)bc, g.at(bl, bc),
                (long long)g.forward_runs, analysis::correlation(g, attr[i]));
    ok = ok && analysis::correlation(g, attr[i]) > 0.5;
  }
  return ok ? 0 : 1;
}
