// Known vs unseen subjects on the facts organism: which internal signal
// tells a trained person from a new pairing of familiar names? Each signal
// (probes per layer, answer entropy, top probability, lens settling layer)
// is scored by AUROC on held-out subjects.
// ctest expects: best: entropy \(subject mean\) AUROC 1\.000
#include <cstdio>
#include <glassbox/features/knowledge.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/facts");
  Engine e(m);
  features::LabelSet labels = features::facts_known_labels(m);   // 120 trained subjects vs 120 unseen pairings
  features::KnowledgeReport r = features::knowledge_signals(e, labels);

  for (const features::KnowledgeSignal& s : r.signals)
    if (s.kind == "output") std::printf("%-28s AUROC %.3f\n", s.name.c_str(), s.auroc);
  std::printf("best probe %s at %s: AUROC %.3f\n", r.best_probe_hook.c_str(), r.best_probe_position.c_str(),
              r.best_probe_auroc);
  std::printf("answer entropy known %.3f vs unseen %.3f nats\n", r.entropy_known, r.entropy_unknown);
  std::printf("best: %s AUROC %.3f\n", r.signals[r.best].name.c_str(), r.signals[r.best].auroc);
  return r.signals[r.best].auroc > 0.9 ? 0 : 1;
}
