// SAE training benchmark: glassbox's train_dictionaries on the activations and
// initial SAE that bench/sae_torch.py wrote, one JSON line with the same keys
// as the PyTorch reference (tokens/s after --warmup steps, median seconds per
// step, every step's loss). bench/compare_sae.sh runs both side by side.
//   bench_sae --dir DIR --arch topk|relu [--init NAME] [--steps 50] [--batch 1024] [--lr 4e-4]
//             [--l1 5] [--warmup 3] [--threads 2]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench_util.h"
#include "glassbox/features/dictionary_train.h"
#include "glassbox/features/memory_stream.h"
#include "glassbox/features/saelens.h"
#include "glassbox/threads.h"

using namespace glassbox;
using namespace glassbox::features;

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);
  std::string dir, arch = "topk", init_name;
  int64_t steps = 50, batch = 1024, warmup = 3;
  float lr = 4e-4f, l1 = 5.f;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--dir") dir = v;
    else if (k == "--arch") arch = v;
    else if (k == "--init") init_name = v;
    else if (k == "--steps") steps = std::atoll(v.c_str());
    else if (k == "--batch") batch = std::atoll(v.c_str());
    else if (k == "--lr") lr = std::strtof(v.c_str(), nullptr);
    else if (k == "--l1") l1 = std::strtof(v.c_str(), nullptr);
    else if (k == "--warmup") warmup = std::atoll(v.c_str());
    else if (k == "--threads") threads = std::atoi(v.c_str());
    else { std::fprintf(stderr, "bench_sae: unknown flag %s\n", k.c_str()); return 2; }
  }
  if (dir.empty()) { std::fprintf(stderr, "bench_sae: --dir DIR (from bench/sae_torch.py make)\n"); return 2; }
  set_num_threads(threads);
  try {
    MemoryStream stream = load_activation_file(dir + "/acts.safetensors");
    if (init_name.empty()) init_name = arch;
    const Sae init = load_saelens(dir + "/init-" + init_name);
    DictionarySpec s;
    s.sae = init.cfg;
    s.init_from = dir + "/init-" + init_name;
    s.loss.l1_coefficient = l1;
    s.optimizer = {"adamw", lr, 0.9f, 0.999f, 1e-8f, 0.f};  // = Adam: no weight decay
    s.schedule = {0, 1.f, Decay::Constant};
    s.dead_after_tokens = int64_t(1) << 60;  // the reference has no dead-latent handling
    TrainDictionariesOptions o;
    o.batch_rows = batch;
    o.total_tokens = batch * steps;
    o.progress = false;
    o.log_every = 1;
    std::vector<double> losses, l0s, times;
    auto t0 = bench::Clock::now();
    train_dictionaries(stream, {s}, o, [&](const DictionaryLogEntry& e, size_t) {
      losses.push_back(e.loss);
      l0s.push_back(e.l0);
      times.push_back(bench::seconds_since(t0));
      t0 = bench::Clock::now();
    });
    const std::vector<double> timed(times.begin() + std::min<int64_t>(warmup, int64_t(times.size())), times.end());
    double total = 0;
    for (double t : timed) total += t;
    nlohmann::json j = {{"impl", "glassbox"}, {"arch", arch}, {"init", init_name}, {"batch", batch}, {"steps", steps},
                        {"threads", threads}, {"tokens_per_s", double(batch) * double(timed.size()) / total},
                        {"seconds", bench::median(timed)}, {"peak_rss_mb", bench::peak_rss_mb()},
                        {"losses", losses}, {"l0", l0s}};
    std::printf("%s\n", j.dump().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_sae: %s\n", e.what());
    return 1;
  }
  return 0;
}
