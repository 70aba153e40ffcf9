// Patching benchmark with the same command line and JSON output as
// bench/reference_patching.py, so the two can be timed side by side:
//   bench_patching --model DIR [--tokens 64] [--mode act|act_noreuse|attr|acdc|acdc_noreuse] [--corrupt 1]
//                  [--threads 2] [--repeat 1] [--dump FILE] [--batch-overhead ROWS] [--batch-mb MB] [--no-skip]
// act:         activation patching of blocks.*.hook_resid_pre by layer x
//              position (TransformerLens' get_act_patch_resid_pre), Denoise:
//              the corrupted prompt with one clean residual slice patched in,
//              normalised logit difference at the last position. Patched runs
//              start at the patched layer and position (reuse_prefix,
//              reuse_positions: the library's defaults), the cells of a layer
//              batched (grouped by start position: --batch-overhead, rows per
//              batch capped at --batch-mb of activations, 0: one cell per
//              pass); cells whose patch changes nothing are not run (--no-skip: run them).
// act_noreuse: the same with every cell a full forward of the corrupted
//              prompt, as TransformerLens runs it; act_noreuse / act is the
//              speed-up the prefix reuse gives.
// attr:        attribution patching of hook_resid_pre, hook_attn_out and
//              hook_mlp_out by layer x position: one cached clean forward,
//              one corrupted forward + backward (activation gradients only).
// acdc:        ACDC circuit discovery on the pair (glassbox only; see below);
// acdc_noreuse: the same with every edge-ablated run a full forward.
//              Both batch the runs that can share a pass (ACDC's next edges,
//              the curve) within --batch-mb; --batch-mb 0: one run per pass.
// `seconds` is the median over --repeat timed runs of the whole analysis
// (clean run, corrupted run, cells), after one untimed plain forward that
// pages the weights in. `checksum` is the sum of every grid value, so the two
// implementations (same weights, same tokens) must agree to ~1e-3 relative.
// Prompts: clean[t] = (7919 t + 13) mod V; the corrupted prompt replaces the
// tokens at --corrupt positions (k+1) T / (K+1) by (clean + 7777) mod V;
// answer / wrong tokens are the clean / corrupted tokens at the first
// corrupted position (an IOI-like "copy the name" logit difference).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/analysis/attribution_patching.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "bench_util.h"
#include "glassbox/threads.h"

using namespace glassbox;
using namespace glassbox::analysis;
using namespace bench;

namespace {

double round4(double x) { return std::round(x * 1e4) / 1e4; }

}  // namespace

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);  // as the glassbox CLI runs
  std::string model, mode = "act", dump;
  int tokens = 64, threads = 2, repeat = 1, n_corrupt = 1;
  int64_t batch_overhead = PatchingOptions{}.batch_overhead_rows, batch_mb = int64_t(PatchingOptions{}.batch_bytes >> 20);
  bool skip = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_patching: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model = next();
    else if (a == "--mode") mode = next();
    else if (a == "--tokens") tokens = std::stoi(next());
    else if (a == "--corrupt") n_corrupt = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--dump") dump = next();
    else if (a == "--batch-overhead") batch_overhead = std::stoll(next());
    else if (a == "--batch-mb") batch_mb = std::stoll(next());
    else if (a == "--no-skip") skip = false;
    else {
      std::fprintf(stderr, "usage: bench_patching --model DIR [--tokens 64] [--mode act|act_noreuse|attr] "
                           "[--corrupt 1] [--threads 2] [--repeat 1] [--dump FILE] [--batch-overhead ROWS] "
                           "[--batch-mb MB] [--no-skip]\n");
      return 2;
    }
  }
  if (model.empty() || tokens < 2 || repeat < 1 || n_corrupt < 1 || n_corrupt >= tokens) {
    std::fprintf(stderr, "bench_patching: needs --model, --tokens >= 2, --repeat >= 1, 1 <= --corrupt < --tokens\n");
    return 2;
  }
  if (mode != "act" && mode != "act_noreuse" && mode != "attr" && mode != "acdc" && mode != "acdc_noreuse") {
    std::fprintf(stderr, "bench_patching: unknown --mode '%s' (expected act, act_noreuse, attr, acdc or acdc_noreuse)\n",
                 mode.c_str());
    return 2;
  }
  try {
    set_num_threads(threads);
    const auto t0 = Clock::now();
    const Model m = Model::load(model);
    const double load_s = seconds_since(t0);
    const int V = int(m.config().d_vocab);
    if (tokens > m.config().n_ctx) fail("--tokens ", tokens, " exceeds n_ctx ", m.config().n_ctx);

    std::vector<int32_t> clean(static_cast<size_t>(tokens)), corrupt;
    for (int t = 0; t < tokens; ++t) clean[size_t(t)] = int32_t((int64_t(t) * 7919 + 13) % V);
    corrupt = clean;
    std::vector<int> cpos;
    for (int k = 0; k < n_corrupt; ++k) {
      const int p = (k + 1) * tokens / (n_corrupt + 1);
      cpos.push_back(p);
      corrupt[size_t(p)] = int32_t((int64_t(clean[size_t(p)]) + 7777) % V);
    }
    const Batch bc = Batch::single(clean), bx = Batch::single(corrupt);

    if (mode == "acdc" || mode == "acdc_noreuse") {
      // ACDC (task-metric criterion, tau 0.02, resample ablation) on the same
      // pair; acdc_noreuse / acdc is the speed-up of starting each edge-ablated
      // run at its receiver's layer. No reference: TransformerLens has no ACDC.
      CircuitOptions co;
      co.method = CircuitMethod::ACDC;
      co.criterion = CircuitCriterion::Metric;
      co.threshold = 0.02;
      co.metric.answer = {clean[size_t(cpos[0])]};
      co.metric.wrong = {corrupt[size_t(cpos[0])]};
      co.reuse_prefix = mode == "acdc";
      co.batch_bytes = size_t(batch_mb) << 20;  // 0: one edge-ablated run per pass
      Engine e(m);
      (void)e.logits(bc);
      std::vector<double> times;
      Circuit c;
      for (int r = 0; r < repeat; ++r) {
        const auto t1 = Clock::now();
        c = discover_circuit(e, bc, bx, co);
        times.push_back(seconds_since(t1));
      }
      const nlohmann::json out = {{"impl", "glassbox"}, {"mode", mode}, {"tokens", tokens}, {"threads", threads},
                                  {"seconds", round4(median(times))}, {"n_edges", c.edges.size()},
                                  {"n_kept", c.n_kept()}, {"forward_runs", c.forward_runs},
                                  {"circuit_metric", c.circuit_metric}, {"peak_rss_mb", std::round(peak_rss_mb() * 10) / 10}};
      std::printf("%s\n", out.dump().c_str());
      return 0;
    }

    PatchingOptions opt;
    opt.metric.kind = MetricKind::LogitDiff;
    opt.metric.pos = -1;
    opt.metric.answer = {clean[size_t(cpos[0])]};
    opt.metric.wrong = {corrupt[size_t(cpos[0])]};
    opt.reuse_prefix = opt.reuse_positions = mode != "act_noreuse";
    opt.batch_overhead_rows = batch_overhead;
    opt.batch_bytes = size_t(batch_mb) << 20;
    opt.skip_unchanged = skip;
    const std::vector<Site> sites =
        mode == "attr" ? std::vector<Site>{Site::resid_pre, Site::attn_out, Site::mlp_out} : std::vector<Site>{Site::resid_pre};

    Engine e(m);
    (void)e.logits(bc);  // untimed warm-up: pages the weights in
    std::vector<double> times, cpu_times;
    std::vector<PatchGrid> grids;
    for (int r = 0; r < repeat; ++r) {
      grids.clear();
      const auto t1 = Clock::now();
      const double c1 = cpu_now();
      grids = mode == "attr" ? attribution_patching(e, bc, bx, sites, opt) : activation_patching(e, bc, bx, sites, opt);
      times.push_back(seconds_since(t1));
      cpu_times.push_back(cpu_now() - c1);
    }

    double checksum = 0, abs_sum = 0;
    int64_t cells = 0, patch_runs = 0;
    nlohmann::json per_site = nlohmann::json::object();
    for (const PatchGrid& g : grids) {
      double s = 0;
      for (float v : g.values) s += v, abs_sum += std::fabs(v);
      per_site[g.hook] = s;
      checksum += s;
      cells += int64_t(g.values.size());
      patch_runs += g.forward_runs;
    }
    if (!dump.empty()) {
      nlohmann::json d = {{"impl", "glassbox"}, {"mode", mode}, {"grids", nlohmann::json::array()}};
      for (const PatchGrid& g : grids) d["grids"].push_back(g.to_json());
      std::ofstream(dump) << d.dump() << "\n";
    }
    // Forward passes (full or partial): the clean run, the corrupted run, one per computed cell.
    const int64_t forward_runs = 2 + patch_runs;
    nlohmann::json out = {
        {"impl", "glassbox"}, {"mode", mode}, {"tokens", tokens}, {"corrupt_positions", cpos},
        {"threads", threads}, {"repeat", repeat}, {"seconds", round4(median(times))},
        {"cpu_seconds", round4(median(cpu_times))}, {"load_seconds", round4(load_s)},
        {"peak_rss_mb", std::round(peak_rss_mb() * 10) / 10}, {"forward_runs", forward_runs},
        {"backward_runs", mode == "attr" ? 1 : 0}, {"cells", cells}, {"clean", grids.front().clean},
        {"corrupt", grids.front().corrupt}, {"checksum", checksum}, {"abs_sum", abs_sum},
        {"checksums", per_site}, {"loadavg_1min", loadavg_1min()}};
    std::vector<double> all;
    for (double t : times) all.push_back(round4(t));
    out["all_seconds"] = all;
    std::printf("%s\n", out.dump().c_str());
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "bench_patching: error: %s\n", ex.what());
    return 1;
  }
}
