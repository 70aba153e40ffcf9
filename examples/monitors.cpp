// Monitors on tiny-lm: an entropy monitor watches generation token by token
// (read from the same forward pass, no extra cost) and stops a row as soon
// as the model becomes unsure of its next token.
// ctest expects: stopped at token [0-9]+ \(entropy [0-9.]+ nats\)
#include <cstdio>
#include <glassbox/steering/profile.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/tiny-lm");
  // A profile is what `--profile FILE` reads: interventions + monitors, checked against the model.
  steering::Profile p = steering::Profile::from_json(nlohmann::json::parse(R"({
    "monitors": [{"name": "unsure", "type": "entropy", "threshold": 5.5, "when": "above", "action": "stop"}]
  })"));
  p.check_fits(m.config());

  SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 16;
  steering::MonitoredGeneration g =
      steering::generate_with_profile(m, {m.tokenizer()->encode("The best way to learn is")}, greedy, p);

  std::printf("text: %s\n", m.tokenizer()->decode(g.tokens[0]).c_str());
  for (float v : g.values[0][0]) std::printf("%.2f ", v);   // monitor 0, row 0: entropy per token
  std::printf("\n");
  if (g.events.empty()) return 1;
  std::printf("stopped at token %d (entropy %.2f nats)\n", g.events[0].token, g.events[0].value);
  return g.tokens[0].size() < 16 ? 0 : 1;
}
