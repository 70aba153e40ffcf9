// Circuit discovery (EAP-IG) on the ioi organism: score every edge of the
// head-level graph, keep the fewest edges that restore 90% of the logit
// difference, and write the interactive graph with its faithfulness curve.
// ctest expects: kept [0-9]+ of 479 edges, faithfulness 0\.9[0-9]+
#include <cstdio>
#include <glassbox/analysis/circuit.h>
#include <glassbox/pages/circuit.h>
#include <glassbox/report.h>
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

  analysis::CircuitOptions o;
  o.method = analysis::CircuitMethod::EAPIG;     // or EAP, ACDC
  o.ablation = analysis::AblationKind::Resample; // an edge ablated = its value from the corrupted run
  o.metric.answer = {tok.encode(" Mary", false).at(0)};
  o.metric.wrong = {tok.encode(" John", false).at(0)};
  analysis::Circuit c = analysis::discover_circuit(e, clean, corrupt, o);

  std::printf("kept %lld of %zu edges, faithfulness %.3f\n", (long long)c.n_kept(), c.edges.size(),
              c.circuit_faithfulness);
  for (const analysis::CircuitEdge& edge : c.edges)
    if (edge.kept && (edge.score > 0.2 || edge.score < -0.2))
      std::printf("  %-20s %+.3f\n", c.edge_name(edge).c_str(), edge.score);
  pages::circuit_page(c).save("circuit.html");
  return c.circuit_faithfulness >= 0.9 ? 0 : 1;
}
