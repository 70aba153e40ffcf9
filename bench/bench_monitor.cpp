// Overhead of monitors per generated token: plain generate() against the same
// generation with three monitors on (a probe, a projection, entropy), and
// with the logit-lens monitor (one unembedding per layer per token), on a
// shipped organism. Each configuration runs `reps` times, interleaved so a
// busy machine slows all alike; the minimum time per generation step is
// reported, as process CPU time (one thread: robust to other processes on a
// shared machine) and as wall time.
//
//   build-dev/bench/bench_monitor [model_dir] [batch] [new_tokens] [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <ctime>

#include "glassbox/engine.h"
#include "glassbox/generate.h"
#include "glassbox/model.h"
#include "glassbox/steering/monitor.h"
#include "glassbox/threads.h"
#include "glassbox/zoo.h"

using namespace glassbox;
using namespace glassbox::steering;

namespace {

std::vector<float> random_vector(int64_t d, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g;
  std::vector<float> v(static_cast<size_t>(d));
  for (float& x : v) x = g(rng);
  return v;
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

}  // namespace

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);
  const std::string dir = argc > 1 ? argv[1] : zoo::models_dir() + "/toxic";
  const int B = argc > 2 ? std::atoi(argv[2]) : 1;
  const int n = argc > 3 ? std::atoi(argv[3]) : 64;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 7;
  set_num_threads(1);
  const Model m = Model::load(dir);
  const Config& c = m.config();
  Engine e(m);
  std::vector<std::vector<int32_t>> prompts;
  for (int b = 0; b < B; ++b) prompts.push_back({0, int32_t(10 + b), int32_t(20 + b), int32_t(30 + b)});
  SamplingOptions so;
  so.max_new_tokens = std::min(n, c.n_ctx - 4);
  so.temperature = 0;  // same tokens in every configuration

  Monitor probe;
  probe.kind = MonitorKind::Probe;
  probe.hook = "blocks." + std::to_string(c.n_layers / 2) + ".hook_resid_post";
  probe.direction = random_vector(c.d_model, 1);
  probe.logistic = true;
  probe.threshold = 0.5;
  Monitor proj = probe;
  proj.kind = MonitorKind::Projection;
  proj.hook = "blocks." + std::to_string(c.n_layers - 1) + ".hook_resid_post";
  proj.logistic = false;
  proj.threshold = 0;
  Monitor ent;
  ent.kind = MonitorKind::Entropy;
  ent.threshold = 2;
  Monitor lens;
  lens.kind = MonitorKind::LogitLens;
  lens.threshold = 1;

  const std::vector<std::pair<std::string, std::vector<Monitor>>> configs = {
      {"none", {}},          {"probe+projection+entropy", {probe, proj, ent}},
      {"probe", {probe}},    {"projection", {proj}},
      {"entropy", {ent}},    {"logit_lens", {lens}}};
  std::vector<double> best(configs.size(), 1e30), best_cpu(configs.size(), 1e30);
  for (int r = 0; r < reps; ++r)
    for (size_t k = 0; k < configs.size(); ++k) {
      const auto t0 = std::chrono::steady_clock::now();
      const double c0 = cpu_seconds();
      size_t tokens = 0;
      if (configs[k].second.empty()) {
        for (const auto& row : generate(e, prompts, so).tokens) tokens += row.size();
      } else {
        for (const auto& row : generate_monitored(e, prompts, so, configs[k].second).tokens) tokens += row.size();
      }
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double steps = double(tokens) / B;
      best[k] = std::min(best[k], s / steps);
      best_cpu[k] = std::min(best_cpu[k], (cpu_seconds() - c0) / steps);
    }
  std::printf("{\"model\": \"%s\", \"batch\": %d, \"new_tokens\": %d, \"reps\": %d, \"threads\": 1, \"configs\": [", dir.c_str(),
              B, so.max_new_tokens, reps);
  for (size_t k = 0; k < configs.size(); ++k)
    std::printf("%s\n  {\"monitors\": \"%s\", \"cpu_us_per_step\": %.1f, \"cpu_overhead\": %.4f, "
                "\"wall_us_per_step\": %.1f, \"wall_overhead\": %.4f}",
                k ? "," : "", configs[k].first.c_str(), best_cpu[k] * 1e6, best_cpu[k] / best_cpu[0] - 1,
                best[k] * 1e6, best[k] / best[0] - 1);
  std::printf("]}\n");
  return 0;
}
