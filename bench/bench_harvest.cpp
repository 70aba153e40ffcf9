// Harvesting vs the plain forward pass over the same tokens, side by side in
// one process (issue 11: harvesting may cost at most 10% more):
//   bench_harvest --model DIR [--tokens 4096] [--context 128] [--batch 8]
//                 [--hooks 'blocks.6.hook_resid_post'] [--dtype f32|bf16] [--repeat 3]
//                 [--threads 2] [--bos-id 50256] [--out DIR]
// Per repeat, in turn, each phase from Model::load on (as a process runs):
//   forward      Engine::forward with logits, batch by batch (what `glassbox run` does)
//   forward_to   the same batches, stopped after the deepest hooked layer, the
//                hooked sites kept, no logits (the compute harvesting needs)
//   harvest      features::harvest() into a fresh directory: forward_to plus
//                copying rows, dtype conversion, atomic shard writes (fsync),
//                sha256 of every shard, the manifest; `harvest_loop` is its
//                wall time from the first forward on
//   setup        harvest() again on the finished directory: the one-off part
//                (model load, sha256 of the weights and corpus, shard checks)
// Prints one JSON line with the medians, wall and CPU seconds, and the ratios
// (cpu_net = harvest minus setup, per-token cost).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "bench_util.h"
#include "glassbox/error.h"
#include "glassbox/features/harvest.h"
#include "glassbox/threads.h"

using namespace glassbox;
using namespace bench;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);
  std::string model, hooks = "blocks.6.hook_resid_post", dtype = "f32", out = "out/bench/harvest";
  int tokens = 4096, context = 128, batch = 8, repeat = 3, threads = 2, bos = 50256;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_harvest: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model = next();
    else if (a == "--tokens") tokens = std::stoi(next());
    else if (a == "--context") context = std::stoi(next());
    else if (a == "--batch") batch = std::stoi(next());
    else if (a == "--hooks") hooks = next();
    else if (a == "--dtype") dtype = next();
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--bos-id") bos = std::stoi(next());
    else if (a == "--out") out = next();
    else {
      std::fprintf(stderr, "usage: bench_harvest --model DIR [--tokens N] [--context N] [--batch N] [--hooks GLOB] "
                           "[--dtype f32|bf16] [--repeat N] [--threads N] [--bos-id ID] [--out DIR]\n");
      return 2;
    }
  }
  try {
    set_num_threads(threads);
    fs::create_directories(out);
    // Token ids as bench_forward makes them, as a nanoGPT uint16 .bin.
    const Model probe = Model::load(model);
    const int V = probe.config().d_vocab;
    const std::string corpus = out + "/tokens.bin";
    {
      std::string raw;
      for (int t = 0; t < tokens; ++t) {
        const uint16_t id = uint16_t((int64_t(t) * 7919) % V);
        raw += char(id & 0xff), raw += char(id >> 8);
      }
      std::ofstream(corpus, std::ios::binary) << raw;
    }
    features::HarvestOptions ho;
    ho.models = {model};
    ho.hooks = {hooks};
    ho.corpus = corpus;
    ho.stream.context = context;
    ho.stream.batch = batch;
    ho.stream.bos_id = bos;
    ho.dtype = from_string<DType>(dtype);
    ho.shard_rows = 0;

    auto shared = std::make_shared<const Model>(Model::load(model));
    features::ModelActivationStream s({shared}, {"m"}, {hooks}, features::read_token_file(corpus), ho.stream);
    std::vector<Batch> batches;
    for (int64_t q = 0; q < s.sequences(); q += batch) {
      std::vector<std::vector<int32_t>> rows;
      for (int64_t k = q; k < std::min<int64_t>(q + batch, s.sequences()); ++k) rows.push_back(s.sequence(k));
      batches.push_back(Batch::from_rows(rows));
    }
    ForwardOptions to;
    to.logits = LogitsMode::None;
    int deepest = -1;
    for (const HookPoint& p : match_hooks(hooks, shared->config())) {
      to.keep.insert(p);
      deepest = std::max(deepest, p.layer);
    }
    to.stop_at_layer = deepest + 1;
    {
      Engine warm(*shared);
      warm.forward(batches[0]);  // pages the weights file into the page cache
    }

    // Wall and process-CPU seconds of each phase per repeat: on a shared machine
    // the CPU seconds are the steadier measure of what a phase costs.
    struct Phase {
      std::vector<double> wall, cpu;
      void add(double w, double c) { wall.push_back(w), cpu.push_back(c); }
    } fwd, fto, har, rerun;
    std::vector<double> t_loop;
    int64_t bytes = 0;
    auto timed = [](Phase& p, const auto& f) {
      const auto t0 = Clock::now();
      const double c0 = cpu_now();
      f();
      p.add(seconds_since(t0), cpu_now() - c0);
    };
    for (int r = 0; r < repeat; ++r) {
      // Each phase starts cold, as a process does: a fresh mapping of the
      // weights (page faults on first touch) and a fresh engine (scratch).
      timed(fwd, [&] {
        const Model cold = Model::load(model);
        Engine ce(cold);
        for (const Batch& b : batches) ce.forward(b);
      });
      timed(fto, [&] {
        const Model cold = Model::load(model);
        Engine ce(cold);
        for (const Batch& b : batches) ce.forward(b, nullptr, nullptr, to);
      });
      ho.out_dir = out + "/run" + std::to_string(r);
      fs::remove_all(ho.out_dir);
      double loop = 0;
      features::HarvestResult hr;
      timed(har, [&] { hr = features::harvest(ho, [&](const features::HarvestProgress& p) { loop = p.seconds; }); });
      t_loop.push_back(loop);
      // Rerun on the finished harvest: loads, hashes weights and corpus, checks
      // the shards, writes nothing: the one-off setup inside `harvest`.
      timed(rerun, [&] { features::harvest(ho); });
      bytes = 0;
      for (const auto& sh : hr.manifest["shards"]) bytes += sh["bytes"].get<int64_t>();
      fs::remove_all(ho.out_dir);
    }
    const int64_t n_tok = s.sequences() * context;
    auto m = [](const std::vector<double>& v) { return median(v); };
    const double fw = m(fwd.wall), fc = m(fwd.cpu), tw = m(fto.wall), tc = m(fto.cpu), hw = m(har.wall), hc = m(har.cpu),
                 sw = m(rerun.wall), sc = m(rerun.cpu);
    std::printf("{\"impl\": \"glassbox\", \"hooks\": \"%s\", \"n_sites\": %zu, \"dtype\": \"%s\", \"tokens\": %lld, "
                "\"threads\": %d, \"bytes_written\": %lld, "
                "\"forward_s\": %.3f, \"forward_to_s\": %.3f, \"harvest_s\": %.3f, \"harvest_loop_s\": %.3f, "
                "\"setup_s\": %.3f, \"forward_cpu_s\": %.3f, \"forward_to_cpu_s\": %.3f, \"harvest_cpu_s\": %.3f, "
                "\"setup_cpu_s\": %.3f, \"ratio_wall_total_vs_forward\": %.3f, \"ratio_wall_loop_vs_forward\": %.3f, "
                "\"ratio_wall_loop_vs_forward_to\": %.3f, \"ratio_cpu_total_vs_forward\": %.3f, "
                "\"ratio_cpu_net_vs_forward\": %.3f, \"ratio_cpu_net_vs_forward_to\": %.3f, \"loadavg\": %.2f}\n",
                hooks.c_str(), to.keep.size(), dtype.c_str(), (long long)n_tok, threads, (long long)bytes, fw, tw, hw,
                m(t_loop), sw, fc, tc, hc, sc, hw / fw, m(t_loop) / fw, m(t_loop) / tw, hc / fc, (hc - sc) / fc,
                (hc - sc) / tc, loadavg_1min());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_harvest: error: %s\n", e.what());
    return 1;
  }
}
