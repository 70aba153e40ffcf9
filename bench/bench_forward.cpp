// Forward-pass benchmark with the same command line and JSON output as
// bench/reference_hooked_gpt2.py, so the two can be timed side by side:
//   bench_forward --model DIR --tokens 1024 --mode plain|cache|cache_result|load [--threads 2] [--repeat 3]
//                 [--dtype f32|bf16|f16]   (the cache's storage dtype)
//                 [--batch B]              (B rows of --tokens tokens each)
//                 [--logits all|last]      (plain mode: unembed every position, or only each
//                                           row's last one as llama.cpp's benches do)
// --model may be a .gguf file (bench/compare_llama.sh runs llama.cpp on the same one).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "bench_util.h"
#include "glassbox/threads.h"

using namespace glassbox;
using namespace bench;

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);  // as the glassbox CLI runs
  std::string model, mode = "plain", dtype = "f32", logits = "all";
  int tokens = 1024, threads = 2, repeat = 3, batch = 1;
  bool keep_quantized = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_forward: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model") model = next();
    else if (a == "--mode") mode = next();
    else if (a == "--tokens") tokens = std::stoi(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--repeat") repeat = std::stoi(next());
    else if (a == "--batch") batch = std::stoi(next());
    else if (a == "--dtype") dtype = next();
    else if (a == "--logits") logits = next();
    else if (a == "--dequantize") keep_quantized = false;  // quantised GGUF weights to F32 at load
    else {
      std::fprintf(stderr, "usage: bench_forward --model DIR [--tokens N] [--mode plain|cache|cache_result|load] "
                           "[--threads N] [--repeat N] [--batch B] [--dtype f32|bf16|f16] [--logits all|last] [--dequantize]\n");
      return 2;
    }
  }
  if (dtype != "f32" && dtype != "bf16" && dtype != "f16") {
    std::fprintf(stderr, "bench_forward: unknown --dtype '%s' (expected f32, bf16 or f16)\n", dtype.c_str());
    return 2;
  }
  if (logits != "all" && logits != "last") {
    std::fprintf(stderr, "bench_forward: unknown --logits '%s' (expected all or last)\n", logits.c_str());
    return 2;
  }
  try {
    set_num_threads(threads);
    const auto t0 = Clock::now();
    const Model m = Model::load(model, {.keep_quantized = keep_quantized});
    // Touch every weight page once so load time includes paging the file in, as the reference does.
    volatile float sink = 0;
    for (const auto& lw : m.weights().layers) sink = sink + (lw.W_O.q ? float(lw.W_O.q->base[0]) : lw.W_O.data[0]);
    const double load_s = seconds_since(t0);
    std::vector<double> times;
    size_t n_cached = 0, cached_bytes = 0;
    if (mode != "load") {
      Engine e(m);
      std::vector<std::vector<int32_t>> rows(static_cast<size_t>(batch), std::vector<int32_t>(static_cast<size_t>(tokens)));
      for (int b = 0; b < batch; ++b)
        for (int t = 0; t < tokens; ++t) rows[size_t(b)][size_t(t)] = (t * 7919 + b * 31) % m.config().d_vocab;
      const Batch bt = Batch::from_rows(rows);
      for (int r = 0; r <= repeat; ++r) {  // run 0 is an untimed warm-up
        const auto t1 = Clock::now();
        if (mode == "plain") {
          ForwardOptions fo;
          fo.logits = logits == "last" ? LogitsMode::Last : LogitsMode::All;
          const Tensor lg = e.forward(bt, nullptr, nullptr, fo).logits;
          cached_bytes = lg.nbytes();
        } else if (mode == "cache" || mode == "cache_result") {
          CacheOptions o;
          o.with_result = mode == "cache_result";
          o.dtype = dtype == "bf16" ? DType::BF16 : dtype == "f16" ? DType::F16 : DType::F32;
          const ActivationCache c = run_with_cache(e, bt, o);
          n_cached = c.entries.size();
          cached_bytes = c.nbytes();
        } else {
          fail("unknown --mode '", mode, "' (expected plain, cache, cache_result or load)");
        }
        if (r > 0) times.push_back(seconds_since(t1));
      }
    }
    std::sort(times.begin(), times.end());
    const double med = times.empty() ? load_s : times[times.size() / 2];
    std::printf("{\"impl\": \"glassbox\", \"mode\": \"%s\", \"tokens\": %d, \"batch\": %d, \"threads\": %d, "
                "\"seconds\": %.4f, \"load_seconds\": %.4f, \"peak_rss_mb\": %.1f, \"n_cached_tensors\": %zu, "
                "\"cached_bytes\": %zu, \"dtype\": \"%s\", \"logits\": \"%s\"}\n",
                mode.c_str(), tokens, batch, threads, med, load_s, peak_rss_mb(), n_cached, cached_bytes, dtype.c_str(), logits.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_forward: error: %s\n", e.what());
    return 1;
  }
}
