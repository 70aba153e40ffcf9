// Linear probes on the ioi organism: at the final position, in which layer's
// residual stream can a logistic probe read which of four held-out names is
// the indirect object? Each probe sits next to a control task (selectivity).
// ctest expects: blocks\.2\.hook_resid_pre +accuracy 1\.000
#include <cstdio>
#include <glassbox/features/labels.h>
#include <glassbox/features/probe_sweep.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/ioi");
  Engine e(m);
  features::LabelSetOptions lo;
  lo.limit = 256;                                // class-balanced subset: fast
  features::LabelSet labels = features::load_label_set("ioi-io", m, lo);

  features::ProbeSweepOptions o;
  o.sites = {Site::resid_pre};
  o.position.spec = "end";                       // a position the label set names (IO, S1, S2, end)
  o.probe.kind = features::ProbeKind::Logistic;  // or Ridge, MassMean
  features::ProbeSweep s = features::probe_sweep(e, labels, o);

  for (const features::ProbeCell& c : s.cells)
    std::printf("%-26s accuracy %.3f  AUROC %.3f  control %.3f  selectivity %+.3f\n", c.hook.c_str(), c.accuracy,
                c.auroc, c.control, c.selectivity);
  std::printf("chance %.3f; first layer at 0.95: %d\n", s.majority, s.first_layer_reaching(Site::resid_pre, 0.95));
  return s.first_layer_reaching(Site::resid_pre, 0.95) == 2 ? 0 : 1;
}
