// Feature dashboards and automated interpretability on tiny-lm: collect
// top-activating contexts, densities and logit effects of layer 1's MLP
// neurons in one streaming pass, explain each neuron with the built-in
// explainer, score the explanation by simulation, and write the HTML.
// ctest expects: explained [0-9]+ neurons, median simulation score 0\.[0-9]+
#include <algorithm>
#include <cstdio>
#include <glassbox/features/collect.h>
#include <glassbox/features/explain.h>
#include <glassbox/features/neuron_map.h>
#include <glassbox/features/simulate.h>
#include <glassbox/pages/dashboard.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/tiny-lm");
  Engine e(m);
  const Tokenizer& tok = *m.tokenizer();
  std::vector<int32_t> corpus;                   // any token stream; here a few sentences, repeated
  for (int i = 0; i < 8; ++i)
    for (const char* s : {"The best way to learn is to teach someone else what you think you know.\n",
                          "A journey of a thousand miles begins with a single wrong turn.\n",
                          "The river does not argue with the stone; it simply goes around.\n"})
      for (int32_t t : tok.encode(s)) corpus.push_back(t);

  features::NeuronMap neurons(m, /*layer=*/1);   // or any FeatureMap: an SAE's latents
  features::CollectOptions o;
  o.top_k = 5;
  o.seq_len = 64;
  features::Dashboards d = features::collect_dashboards(e, neurons, corpus, o);

  std::vector<double> scores;
  for (size_t i = 0; i < d.examples.size(); ++i) {
    if (d.data.features[i].active_tokens < 4) continue;         // too rare to explain here
    features::Explanation x = features::explain(d.examples[i]);   // built-in: token patterns
    features::Scores s = features::score(x, d.examples[i]);       // simulation on held-out contexts
    d.data.features[i].explanation = x.text;
    d.data.features[i].score = s.simulation;
    d.data.features[i].score_method = "simulation correlation";
    scores.push_back(s.simulation);
  }
  std::sort(scores.begin(), scores.end());
  const double median = scores.empty() ? 0 : scores[scores.size() / 2];
  std::printf("explained %zu neurons, median simulation score %.3f\n", scores.size(), median);
  std::printf("wrote %s\n", pages::save_dashboard("dash", d.examples, d.data).c_str());
  return scores.size() > 10 && median > 0 ? 0 : 1;
}
