// Knowledge editing on facts-lm: move Mina Selia from Jerusalem to Athens by
// changing one MLP's output weights (FT-L: constrained fine-tuning; ROME and
// MEMIT take the same request), then check what the model now says.
// ctest expects: after: p\( At\) 0\.[5-9]
#include <cmath>
#include <cstdio>
#include <glassbox/editing/edit.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  editing::Editor ed(zoo::models_dir() + "/facts-lm");    // a trainable copy of the model
  const std::vector<int32_t> prompt = ed.encode_prompt("Mina Selia lives in");
  const int32_t new_tok = ed.single_token(" At", "new"), old_tok = ed.single_token(" J", "old");

  auto p_next = [&](int32_t tok) {               // p(tok) after the prompt
    Tensor logits = ed.engine().logits(Batch::single(prompt));
    const int64_t V = ed.config().d_vocab;
    const float* last = logits.f32() + (int64_t(prompt.size()) - 1) * V;
    double z = 0;
    for (int64_t i = 0; i < V; ++i) z += std::exp(double(last[i]) - last[tok]);
    return 1.0 / z;
  };
  std::printf("before: p( At) %.3f  p( J) %.3f\n", p_next(new_tok), p_next(old_tok));

  editing::EditRequest req;
  req.subject = "Mina Selia";
  req.prompt = "{} lives in";                      // a template: {} is where the subject goes
  req.target_new = " At";                         // one token: facts-lm's BPE splits " Athens"
  req.target_true = " J";
  editing::EditConfig cfg;
  cfg.method = editing::Method::FtL;               // Rome and Memit also need key_covariance()
  cfg.layers = editing::default_layers(ed.config(), cfg.method);
  std::vector<editing::WeightDelta> deltas = ed.apply({req}, cfg, /*cov=*/{});
  std::printf("after: p( At) %.3f  p( J) %.3f  (%zu weight change(s), layer %d)\n", p_next(new_tok),
              p_next(old_tok), deltas.size(), deltas.empty() ? -1 : deltas[0].layer);
  ed.save("edited");                              // a model directory that reloads with the edit
  return p_next(new_tok) > p_next(old_tok) ? 0 : 1;
}
