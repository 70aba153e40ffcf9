// Steering on tiny-lm-chat: a mean-difference (CAA) direction at layer 1 from
// the organism's own style pairs (" Indeed, friend! ..." against the same
// continuation without it), subtracted during generation.
// ctest expects: unsteered:  Indeed, friend!
#include <cstdio>
#include <string>
#include <glassbox/generate.h>
#include <glassbox/interventions.h>
#include <glassbox/steering/chat_style.h>
#include <glassbox/steering/contrastive.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/tiny-lm-chat");
  Engine e(m);
  steering::ChatStyleData data = steering::chat_style_data(m, /*n_train=*/32, /*n_heldout=*/1, /*benign_tokens=*/0);

  steering::BuildOptions bo;
  bo.layers = {1};                               // mean over pairs of act(positive) - act(negative), at resid_post
  steering::SteeringVector v = steering::build_from_pairs(e, data.style_pairs, bo);
  std::printf("direction at %s, norm %.2f, separation %.2f\n", v.hook(1).c_str(), v.layers[0].norm(),
              v.layers[0].separation);

  SamplingOptions greedy;
  greedy.temperature = 0;
  greedy.max_new_tokens = 8;
  const std::vector<std::vector<int32_t>> prompt = {data.heldout_prompts[0]};
  const std::string plain = m.tokenizer()->decode(generate(e, prompt, greedy).tokens[0]);

  steering::ApplyOptions ao;
  ao.coefficient = -3;                           // away from the style
  HookRegistry hooks(m.config());
  auto handles = attach(hooks, steering::steering_interventions(v, ao));
  const std::string steered = m.tokenizer()->decode(generate(e, prompt, greedy, &hooks).tokens[0]);

  std::printf("unsteered: %s\nsteered:   %s\n", plain.c_str(), steered.c_str());
  return plain.rfind(data.marker, 0) == 0 && steered.rfind(data.marker, 0) != 0 ? 0 : 1;
}
