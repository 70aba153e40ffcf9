// Model diffing: what did fine-tuning tiny-lm into tiny-lm-chat change?
// KL(tuned || base) by response position on chat prompts, and which layer's
// MLP / attention output carries the difference.
// ctest expects: KL at the response start [0-9.]+ vs after it [0-9.]+
#include <cstdio>
#include <glassbox/analysis/model_diff.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model base = Model::load(zoo::models_dir() + "/tiny-lm");
  Model tuned = Model::load(zoo::models_dir() + "/tiny-lm-chat");
  const Tokenizer& tok = *tuned.tokenizer();

  std::vector<analysis::DiffPrompt> prompts;     // prompt + response; KL is scored from response_from on
  for (const char* q : {"What should I do today?", "Tell me about the sea.", "Any advice for me?"}) {
    analysis::DiffPrompt p;
    p.tokens = tok.encode(std::string("<|endoftext|>User: ") + q + "\nAssistant:");
    p.response_from = int64_t(p.tokens.size());
    for (int32_t t : tok.encode(" Indeed, friend! Life is what you make of it.", false)) p.tokens.push_back(t);
    prompts.push_back(p);
  }
  analysis::ModelDiffOptions o;
  o.start_positions = 8;                         // " Indeed, friend!" (7 tokens) and the next: the start
  analysis::ModelDiff d = analysis::model_diff(base, tuned, prompts, o);

  for (size_t i = 0; i < d.kl_by_position.size(); ++i) std::printf("%.2f ", d.kl_by_position[i]);
  std::printf("\nKL at the response start %.2f vs after it %.2f\n", d.kl_start, d.kl_rest);
  const analysis::ComponentShare* best = &d.components[0];
  for (const analysis::ComponentShare& c : d.components)
    if (c.base_into_tuned > best->base_into_tuned) best = &c;
  std::printf("base's %s patched into the tuned model removes %.2f of the KL\n", best->hook.c_str(),
              best->base_into_tuned);
  return d.kl_start > d.kl_rest ? 0 : 1;
}
