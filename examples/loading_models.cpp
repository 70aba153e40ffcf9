// Loading models: a Hugging Face-style directory (config.json + safetensors +
// tokenizer.json) and the same model written as a llama.cpp GGUF file load
// through one call, and give the same logits (here up to f16 rounding).
// ctest expects: max \|logit difference\| [0-9.e-]+ between safetensors and GGUF
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <glassbox/gguf_export.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model hf = Model::load(zoo::models_dir() + "/tiny-lm");       // a directory, a .safetensors or a .gguf
  const Config& c = hf.config();
  std::printf("%s: %s, %d layers, d_model %d, vocab %d\n", hf.source().c_str(), c.family.c_str(), c.n_layers,
              c.d_model, c.d_vocab);

  GgufExportOptions o;
  o.dtype = DType::F16;
  save_gguf(hf, "tiny-lm.gguf", o);             // what `glassbox convert` does
  Model gguf = Model::load("tiny-lm.gguf");       // F16 weights converted to F32 at load; quantised ones stay quantised

  const Batch b = Batch::single(hf.tokenizer()->encode("The best way to learn is"));
  Engine e1(hf), e2(gguf);
  const Tensor a = e1.logits(b), z = e2.logits(b);
  float worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) worst = std::max(worst, std::fabs(a.f32()[i] - z.f32()[i]));
  std::printf("max |logit difference| %.2e between safetensors and GGUF\n", worst);
  return worst < 0.05f ? 0 : 1;
}
