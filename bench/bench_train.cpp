// Training benchmark with the same command line and JSON output as
// bench/reference_train.py, so the two can be timed side by side:
//   bench_train --mode train [--layers 4] [--d-model 128] [--heads 4] [--n-ctx 128] [--vocab 2048]
//               [--batch 16] [--tokens 128] [--repeat 20] [--warmup 3] [--threads 2] [--seed 0]
//   bench_train --mode fwd|fwdbwd --model DIR [--batch 1] [--tokens 1024] [--repeat 3] [--warmup 1] [--threads 2]
// train:  a fresh GPT-2 (Trainable::init) trained through the library's
//         train() (AdamW lr 1e-3, wd 0.01, betas 0.9/0.95, clip 1.0, constant
//         lr); `seconds` is the median step, tokens_per_s counts the --repeat
//         timed steps after --warmup untimed ones.
// fwd:    one forward as analysis runs it (no activations kept for backward),
//         all logits + mean cross-entropy.
// fwdbwd: forward(for_backward) + loss + dlogits + zero_grad + backward with
//         weight gradients: a training step without the optimiser.
// Tokens come from the same pseudo-random stream as the reference's, so on
// one model the fwd / fwdbwd losses of the two must agree (to ~1e-4).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "glassbox/error.h"
#include "glassbox/threads.h"
#include "glassbox/train.h"
#include "glassbox/trainable.h"
#include "bench_util.h"
#include "kernels/kernels.h"

using namespace glassbox;
using namespace bench;

namespace {

std::string json_list(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.4f", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

// Pseudo-random tokens from a 64-bit LCG (Knuth's MMIX constants), the same
// stream as reference_train.py, so both sides see identical batches.
struct TokenStream {
  uint64_t state;
  explicit TokenStream(uint64_t seed) : state(seed * 2654435761ull + 1) {}
  int32_t next(int V) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return int32_t((state >> 33) % uint64_t(V));
  }
};

// B rows of T+1 tokens: inputs are the first T, targets the last T.
TrainBatch next_batch(TokenStream& ts, int64_t B, int64_t T, int V) {
  TrainBatch tb;
  tb.batch.B = B;
  tb.batch.T = T;
  tb.batch.tokens.resize(size_t(B * T));
  tb.targets.resize(size_t(B * T));
  for (int64_t b = 0; b < B; ++b) {
    int32_t prev = ts.next(V);
    for (int64_t t = 0; t < T; ++t) {
      const int32_t next = ts.next(V);
      tb.batch.tokens[size_t(b * T + t)] = prev;
      tb.targets[size_t(b * T + t)] = next;
      prev = next;
    }
  }
  return tb;
}

struct Args {
  std::string mode = "train", model;
  int layers = 4, d_model = 128, heads = 4, n_ctx = 128, vocab = 2048;
  int batch = -1, tokens = -1, repeat = -1, warmup = -1, threads = 2;
  uint64_t seed = 0;
};

int run_train(const Args& a) {
  const nlohmann::json config = {{"model_type", "gpt2"},       {"n_layer", a.layers},   {"n_embd", a.d_model},
                                 {"n_head", a.heads},          {"n_inner", 4 * a.d_model}, {"vocab_size", a.vocab},
                                 {"n_positions", a.n_ctx},     {"activation_function", "gelu_new"},
                                 {"layer_norm_epsilon", 1e-5}, {"initializer_range", 0.02}};
  Trainable tr = Trainable::init(config, a.seed);
  TrainConfig tc;
  tc.optimizer.kind = "adamw";
  tc.optimizer.lr = 1e-3f;
  tc.optimizer.weight_decay = 0.01f;
  tc.optimizer.beta1 = 0.9f;
  tc.optimizer.beta2 = 0.95f;
  tc.optimizer.eps = 1e-8f;
  tc.schedule.decay = Decay::Constant;
  tc.schedule.warmup_steps = 0;
  tc.grad_clip = 1.0f;
  tc.steps = a.warmup + a.repeat;
  tc.seed = a.seed;
  tc.eval_every = 0;
  tc.log_every = 1;  // on_log after every step: its timestamps time the steps
  tc.progress = false;
  const int64_t B = a.batch, T = a.tokens;
  TokenStream ts(a.seed);
  const BatchFn batches = [&](std::mt19937_64&) { return next_batch(ts, B, T, a.vocab); };
  std::vector<double> step_s, step_cpu, losses;
  Clock::time_point last = Clock::now();
  double last_cpu = cpu_now();
  train(tr, tc, batches, nullptr, [&](const LogEntry& e) {
    const Clock::time_point now = Clock::now();
    const double cpu = cpu_now();
    step_s.push_back(std::chrono::duration<double>(now - last).count());
    step_cpu.push_back(cpu - last_cpu);
    losses.push_back(e.loss);
    last = now;
    last_cpu = cpu;
  });
  const std::vector<double> timed(step_s.begin() + a.warmup, step_s.end()),
      timed_cpu(step_cpu.begin() + a.warmup, step_cpu.end());
  double total = 0;
  for (double s : timed) total += s;
  std::printf("{\"impl\": \"glassbox\", \"mode\": \"train\", \"layers\": %d, \"d_model\": %d, \"heads\": %d, "
              "\"n_ctx\": %d, \"vocab\": %d, \"n_params\": %lld, \"batch\": %d, \"tokens\": %d, \"threads\": %d, "
              "\"warmup\": %d, \"repeat\": %d, \"seconds\": %.4f, \"tokens_per_s\": %.1f, \"cpu_seconds\": %.4f, "
              "\"loss_first\": %.4f, \"loss_last\": %.4f, \"peak_rss_mb\": %.1f, \"all_seconds\": %s, "
              "\"loadavg_1min\": %.2f}\n",
              a.layers, a.d_model, a.heads, a.n_ctx, a.vocab, (long long)tr.n_params(), a.batch, a.tokens, a.threads,
              a.warmup, a.repeat, median(timed), double(B * T) * double(timed.size()) / std::max(total, 1e-9),
              median(timed_cpu), losses.front(), losses.back(), peak_rss_mb(), json_list(timed).c_str(),
              loadavg_1min());
  return 0;
}

int run_fwd(const Args& a) {
  if (a.model.empty()) fail("--mode ", a.mode, " needs --model DIR");
  const bool bwd = a.mode == "fwdbwd";
  if (!bwd && a.mode != "fwd") fail("unknown --mode '", a.mode, "' (expected train, fwd or fwdbwd)");
  const auto t0 = Clock::now();
  Trainable tr = Trainable::load(a.model);  // owned weights + gradient buffers, as training has them
  const double load_s = seconds_since(t0);
  const Config& c = tr.model().config();
  Engine e(tr.model());
  TokenStream ts(a.seed);
  const TrainBatch tb = next_batch(ts, a.batch, a.tokens, int(c.d_vocab));
  const int64_t N = tb.batch.B * tb.batch.T;
  const std::vector<float> scale(size_t(N), 1.0f / float(N));  // d(mean loss)/d(loss per token)
  ForwardOptions fo;
  fo.for_backward = bwd;
  std::vector<double> times, fwd_times, bwd_times, cpu_times;
  double loss = 0;
  for (int r = 0; r < a.warmup + a.repeat; ++r) {
    const auto t1 = Clock::now();
    const double c1 = cpu_now();
    const ForwardResult fwd = e.forward(tb.batch, nullptr, nullptr, fo);
    const int64_t V = fwd.logits.shape.back();
    loss = kernels::cross_entropy_forward(nullptr, fwd.logits.f32(), tb.targets.data(), N, V);
    const double f_s = seconds_since(t1);
    if (bwd) {
      Tensor dlogits = Tensor::zeros(fwd.logits.shape);
      kernels::cross_entropy_backward(dlogits.f32(), fwd.logits.f32(), tb.targets.data(), scale.data(), N, V);
      tr.zero_grad();
      e.backward(tb.batch, fwd, dlogits.f32(), nullptr, &tr.grads());
    }
    const double s = seconds_since(t1);
    if (r >= a.warmup) {
      times.push_back(s);
      fwd_times.push_back(f_s);
      bwd_times.push_back(s - f_s);
      cpu_times.push_back(cpu_now() - c1);
    }
  }
  std::printf("{\"impl\": \"glassbox\", \"mode\": \"%s\", \"layers\": %lld, \"d_model\": %lld, \"vocab\": %lld, "
              "\"batch\": %d, \"tokens\": %d, \"threads\": %d, \"warmup\": %d, \"repeat\": %d, \"seconds\": %.4f, "
              "\"forward_seconds\": %.4f, \"backward_seconds\": %.4f, \"cpu_seconds\": %.4f, \"loss\": %.4f, "
              "\"load_seconds\": %.4f, \"peak_rss_mb\": %.1f, \"all_seconds\": %s, \"loadavg_1min\": %.2f}\n",
              a.mode.c_str(), (long long)c.n_layers, (long long)c.d_model, (long long)c.d_vocab, a.batch, a.tokens,
              a.threads, a.warmup, a.repeat, median(times), median(fwd_times), median(bwd_times), median(cpu_times),
              loss, load_s, peak_rss_mb(), json_list(times).c_str(), loadavg_1min());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  ensure_passive_openmp(argv);  // as the glassbox CLI runs
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_train: %s needs a value\n", s.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (s == "--mode") a.mode = next();
    else if (s == "--model") a.model = next();
    else if (s == "--layers") a.layers = std::stoi(next());
    else if (s == "--d-model") a.d_model = std::stoi(next());
    else if (s == "--heads") a.heads = std::stoi(next());
    else if (s == "--n-ctx") a.n_ctx = std::stoi(next());
    else if (s == "--vocab") a.vocab = std::stoi(next());
    else if (s == "--batch") a.batch = std::stoi(next());
    else if (s == "--tokens") a.tokens = std::stoi(next());
    else if (s == "--repeat") a.repeat = std::stoi(next());
    else if (s == "--warmup") a.warmup = std::stoi(next());
    else if (s == "--threads") a.threads = std::stoi(next());
    else if (s == "--seed") a.seed = std::stoull(next());
    else {
      std::fprintf(stderr,
                   "usage: bench_train --mode train [--layers N] [--d-model N] [--heads N] [--n-ctx N] [--vocab N]\n"
                   "                   [--batch 16] [--tokens 128] [--repeat 20] [--warmup 3] [--threads 2] [--seed 0]\n"
                   "       bench_train --mode fwd|fwdbwd --model DIR [--batch 1] [--tokens 1024] [--repeat 3]\n"
                   "                   [--warmup 1] [--threads 2] [--seed 0]\n");
      return 2;
    }
  }
  const bool train_mode = a.mode == "train";
  if (a.batch < 0) a.batch = train_mode ? 16 : 1;
  if (a.tokens < 0) a.tokens = train_mode ? 128 : 1024;
  if (a.repeat < 0) a.repeat = train_mode ? 20 : 3;
  if (a.warmup < 0) a.warmup = train_mode ? 3 : 1;
  if (a.batch < 1 || a.tokens < 1 || a.repeat < 1 || a.warmup < 0) {
    std::fprintf(stderr, "bench_train: --batch, --tokens and --repeat must be positive, --warmup >= 0\n");
    return 2;
  }
  try {
    set_num_threads(a.threads);
    return train_mode ? run_train(a) : run_fwd(a);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: error: %s\n", e.what());
    return 1;
  }
}
