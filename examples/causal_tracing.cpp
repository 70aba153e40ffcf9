// Causal tracing on facts-lm: noise the subject's embeddings, restore one
// state (residual, MLP or attention output at one layer and position) to its
// clean value, and see how much of p(answer) comes back. Mina Selia's home
// city is stored at her last subject token (restoring the residual there
// after layer 1 or 2 brings back a quarter) and read by the last token's
// layer-3 attention.
// ctest expects: last token, resid after layer 3: 0\.[5-9][0-9]*
#include <cstdio>
#include <glassbox/analysis/causal_trace.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/facts-lm");
  Engine e(m);
  analysis::TracePrompt p = analysis::trace_prompt(m, "Mina Selia lives in", "Mina Selia");  // answer: the top token

  analysis::TraceOptions o;
  o.samples = 3;                                 // noise seeds (the paper uses 10)
  analysis::CausalTrace t = analysis::causal_trace(e, {p}, o);

  const analysis::PromptTrace& r = t.prompts[0];
  std::printf("p(answer) clean %.3f, subject noised %.3f\n", r.p_clean, r.p_corrupt);
  const analysis::TraceGrid& resid = r.grids[0];  // sites in the order asked: resid, mlp, attn
  const int64_t last_subject = r.prompt.subject_end - 1, last = resid.T - 1;
  for (int64_t l = 0; l < resid.n_layers; ++l)
    std::printf("layer %lld: restore last subject token %+.3f, last token %+.3f\n", (long long)l,
                resid.at(l, last_subject), resid.at(l, last));
  std::printf("last token, resid after layer 3: %.3f\n", resid.at(3, last));
  // After layer 3 the subject's states are read by nothing: all of it is at the last token.
  return resid.at(2, last_subject) > 0.1 && resid.at(3, last) > resid.at(3, last_subject) ? 0 : 1;
}
