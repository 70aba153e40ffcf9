// Hooks and caching on the ioi organism: cache every layer's attention
// pattern, save it, and zero-ablate head L1H0 with a replacing hook to see the
// logit difference fall.
// ctest expects: logit difference 14\.[0-9]+ -> [0-9.]+ with L1H0 ablated
#include <cstdio>
#include <glassbox/cache.h>
#include <glassbox/hooks.h>
#include <glassbox/threads.h>
#include <glassbox/tokenizer.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  Model m = Model::load(zoo::models_dir() + "/ioi");
  Engine e(m);
  const Tokenizer& tok = *m.tokenizer();
  Batch b = Batch::single(tok.encode("When Mary and John went to the store, John gave a drink to"));
  const int32_t mary = tok.encode(" Mary", false).at(0), john = tok.encode(" John", false).at(0);

  CacheOptions o;
  o.names = {"blocks.*.attn.hook_pattern"};      // globs work wherever a name does
  ActivationCache cache = run_with_cache(e, b, o);
  const Tensor& p1 = cache["blocks.1.attn.hook_pattern"];   // [batch, head, query, key]
  std::printf("pattern shape [%lld, %lld, %lld, %lld]\n", (long long)p1.shape[0], (long long)p1.shape[1],
              (long long)p1.shape[2], (long long)p1.shape[3]);
  cache.save("patterns.safetensors");             // what `glassbox cache` writes

  auto logit_diff = [&](const Tensor& logits) {   // at the last position
    const float* last = logits.f32() + (b.T - 1) * m.config().d_vocab;
    return last[mary] - last[john];
  };
  const float before = logit_diff(e.logits(b));
  float after = 0;
  {
    HookRegistry hooks(m.config());
    auto h = hooks.add("blocks.1.attn.hook_z", [](TensorView& z, const HookContext&) {
      // z: [batch, pos, head, d_head]; zero head 0 at every position
      const int64_t H = z.shape[2], D = z.shape[3];
      for (int64_t r = 0; r < z.shape[0] * z.shape[1]; ++r)
        for (int64_t d = 0; d < D; ++d) z[r * H * D + d] = 0;
    }, HookMode::Replace);
    after = logit_diff(e.logits(b, &hooks));
  }                                               // the hook is removed here
  std::printf("logit difference %.3f -> %.3f with L1H0 ablated\n", before, after);
  return after < before ? 0 : 1;
}
