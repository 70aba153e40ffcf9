// Harvesting tiny-lm: stream the residual stream after every layer over a
// small corpus into sharded safetensors with a manifest (resumable: rerun
// with the same options and finished shards are kept).
// ctest expects: harvested [0-9]+ rows of 4 sites into acts/
#include <cstdio>
#include <fstream>
#include <glassbox/features/harvest.h>
#include <glassbox/threads.h>
#include <glassbox/zoo.h>

using namespace glassbox;

int main(int, char** argv) {
  ensure_passive_openmp(argv);
  std::ofstream("corpus.txt") << "The best way to learn is to teach someone else what you think you know.\n"
                                 "A journey of a thousand miles begins with a single wrong turn.\n"
                                 "The river does not argue with the stone; it simply goes around.\n";
  features::HarvestOptions o;
  o.models = {zoo::models_dir() + "/tiny-lm"};   // several models: a crosscoder's sites MODEL/hook
  o.hooks = {"blocks.*.hook_resid_post"};
  o.corpus = "corpus.txt";
  o.stream.context = 32;                         // tokens per sequence, BOS first
  o.dtype = DType::BF16;
  o.out_dir = "acts";
  features::HarvestResult r = features::harvest(o);
  std::printf("harvested %lld rows of %zu sites into acts/ (%d shard(s))\n", (long long)r.rows,
              r.manifest["hooks"].size(), r.shards_total);
  return r.rows > 0 ? 0 : 1;
}
