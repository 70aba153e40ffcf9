#include "glassbox/train.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/json_integer.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "glassbox/progress.h"
#include "glassbox/safetensors.h"
#include "kernels/kernels.h"
#include "train/optimizer.h"

namespace fs = std::filesystem;

namespace glassbox {

using detail::OptimizerState;

namespace {
constexpr enum_table::Names<Decay, 3> kDecayNames = {
    {Decay::Cosine, "cosine"}, {Decay::Linear, "linear"}, {Decay::Constant, "constant"}};
}  // namespace

const char* to_string(Decay d) { return enum_table::name(d, kDecayNames); }
template <>
Decay from_string<Decay>(std::string_view s) { return enum_table::value(s, kDecayNames, "decay"); }

float lr_at(const OptimizerConfig& o, const ScheduleConfig& s, int step, int total) {
  if (s.warmup_steps > 0 && step < s.warmup_steps) return o.lr * float(step + 1) / float(s.warmup_steps);
  if (s.decay == Decay::Constant || total <= s.warmup_steps) return o.lr;
  const double t = std::min(1.0, double(step - s.warmup_steps) / double(std::max(1, total - s.warmup_steps - 1)));
  const double c = s.decay == Decay::Linear ? 1 - t : 0.5 * (1 + std::cos(M_PI * t));
  return float(o.lr * (s.min_lr_ratio + (1 - s.min_lr_ratio) * c));
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
  TrainConfig c;
  try {
    auto get = [&](const nlohmann::json& obj, const char* key, auto& field) {
      using T = std::decay_t<decltype(field)>;
      if (!obj.contains(key)) return;
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)  // 1e300 steps: an Error, not UB
        if (!detail::json_integer_fits<T>(obj[key])) fail("train config: \"", key, "\" must be an integer in range");
      field = obj[key].get<T>();
    };
    if (j.contains("optimizer")) {
      const auto& o = j["optimizer"];
      get(o, "kind", c.optimizer.kind);
      get(o, "lr", c.optimizer.lr);
      get(o, "beta1", c.optimizer.beta1);
      get(o, "beta2", c.optimizer.beta2);
      get(o, "eps", c.optimizer.eps);
      get(o, "weight_decay", c.optimizer.weight_decay);
      get(o, "momentum", c.optimizer.momentum);
      get(o, "nesterov", c.optimizer.nesterov);
    }
    if (j.contains("schedule")) {
      const auto& s = j["schedule"];
      get(s, "warmup_steps", c.schedule.warmup_steps);
      get(s, "min_lr_ratio", c.schedule.min_lr_ratio);
      std::string decay = "cosine";
      if (s.contains("cosine")) decay = s["cosine"].get<bool>() ? "cosine" : "constant";  // before "decay" existed
      get(s, "decay", decay);
      try {
        c.schedule.decay = from_string<Decay>(decay);
      } catch (const Error& e) {
        fail("train config: schedule.", e.what());
      }
    }
    get(j, "steps", c.steps);
    get(j, "stop_at", c.stop_at);
    get(j, "grad_clip", c.grad_clip);
    get(j, "seed", c.seed);
    get(j, "eval_every", c.eval_every);
    get(j, "eval_batches", c.eval_batches);
    get(j, "log_every", c.log_every);
    get(j, "checkpoint_every", c.checkpoint_every);
    get(j, "out_dir", c.out_dir);
    get(j, "resume", c.resume);
    get(j, "progress", c.progress);
  } catch (const nlohmann::json::exception& e) {
    fail("train config: a field has the wrong type (", e.what(), ")");
  }
  if (c.optimizer.kind != "adamw" && c.optimizer.kind != "sgd")
    fail("train config: optimizer.kind must be \"adamw\" or \"sgd\", got \"", c.optimizer.kind, "\"");
  if (c.steps <= 0) fail("train config: steps must be positive, got ", c.steps);
  if (!(c.optimizer.lr > 0)) fail("train config: optimizer.lr must be positive");
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"optimizer",
           {{"kind", optimizer.kind}, {"lr", optimizer.lr}, {"beta1", optimizer.beta1}, {"beta2", optimizer.beta2},
            {"eps", optimizer.eps}, {"weight_decay", optimizer.weight_decay}, {"momentum", optimizer.momentum},
            {"nesterov", optimizer.nesterov}}},
          {"schedule",
           {{"warmup_steps", schedule.warmup_steps}, {"min_lr_ratio", schedule.min_lr_ratio}, {"decay", to_string(schedule.decay)}}},
          {"steps", steps}, {"stop_at", stop_at}, {"grad_clip", grad_clip}, {"seed", seed}, {"eval_every", eval_every},
          {"eval_batches", eval_batches}, {"log_every", log_every}, {"checkpoint_every", checkpoint_every},
          {"out_dir", out_dir}, {"resume", resume}, {"progress", progress}};
}

namespace {

void check_batch(const TrainBatch& tb) {
  if (int64_t(tb.targets.size()) != tb.batch.B * tb.batch.T)
    fail("train: a batch has ", tb.targets.size(), " targets for ", tb.batch.B, "x", tb.batch.T, " tokens");
}

int64_t count_targets(const TrainBatch& tb) {
  int64_t n = 0;
  for (int32_t t : tb.targets) n += t >= 0;
  return n;
}

// Mean cross-entropy over the batch's targets; fills dlogits with its gradient
// when given, as a part of a mean over n_mean targets (default: this batch's).
double batch_loss(const Tensor& logits, const TrainBatch& tb, Tensor* dlogits, int64_t n_mean = -1) {
  const int64_t N = tb.batch.B * tb.batch.T, V = logits.shape.back();
  const double loss = kernels::cross_entropy_forward(nullptr, logits.f32(), tb.targets.data(), N, V);
  if (dlogits) {
    *dlogits = Tensor::zeros(logits.shape);
    const int64_t n = n_mean >= 0 ? n_mean : count_targets(tb);
    if (n) {
      std::vector<float> scale(static_cast<size_t>(N), 1.0f / float(n));
      kernels::cross_entropy_backward(dlogits->f32(), logits.f32(), tb.targets.data(), scale.data(), N, V);
    }
  }
  return loss;
}

// Sequences [first, last) of a batch, with their targets: one rank's share.
TrainBatch sequences(const TrainBatch& tb, int64_t first, int64_t last) {
  const int64_t T = tb.batch.T;
  TrainBatch s;
  s.batch.B = last - first;
  s.batch.T = T;
  s.batch.tokens.assign(tb.batch.tokens.begin() + first * T, tb.batch.tokens.begin() + last * T);
  if (!tb.batch.mask.empty()) s.batch.mask.assign(tb.batch.mask.begin() + first * T, tb.batch.mask.begin() + last * T);
  s.targets.assign(tb.targets.begin() + first * T, tb.targets.begin() + last * T);
  return s;
}

nlohmann::json log_json(const std::vector<LogEntry>& log) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& e : log)
    a.push_back({{"step", e.step}, {"loss", e.loss}, {"lr", e.lr}, {"grad_norm", e.grad_norm},
                 {"tokens_per_s", e.tokens_per_s}, {"eval_loss", e.eval_loss}});
  return a;
}

std::vector<LogEntry> log_from_json(const nlohmann::json& a) {
  std::vector<LogEntry> log;
  for (const auto& e : a)
    log.push_back({e["step"], e["loss"], e["lr"], e["grad_norm"], e["tokens_per_s"], e["eval_loss"]});
  return log;
}

// Writes the checkpoint into a fresh directory, then swaps it in, so an
// interrupted write never leaves a half-written checkpoint behind.
void save_checkpoint(const std::string& out_dir, const Trainable& tr, const OptimizerState& st, int step,
                     const std::mt19937_64& rng, const std::vector<LogEntry>& log) {
  const fs::path dir = fs::path(out_dir) / "checkpoint", tmp = fs::path(out_dir) / "checkpoint.tmp",
                 old = fs::path(out_dir) / "checkpoint.old";
  fs::remove_all(tmp);
  tr.save(tmp.string());
  std::vector<TensorToWrite> ts;
  for (const auto& [name, m] : st.m) ts.push_back({"m." + name, DType::F32, {int64_t(m.size())}, m.data(), m.size() * 4});
  for (const auto& [name, v] : st.v) ts.push_back({"v." + name, DType::F32, {int64_t(v.size())}, v.data(), v.size() * 4});
  save_safetensors((tmp / "optimizer.safetensors").string(), ts);
  std::ostringstream rs;
  rs << rng;
  const std::string state =
      nlohmann::json{{"step", step}, {"optimizer_step", st.step}, {"rng", rs.str()}, {"log", log_json(log)}}.dump();
  write_file_atomic((tmp / "state.json").string(), state.data(), state.size());
  fs::remove_all(old);
  if (fs::exists(dir)) fs::rename(dir, old);
  fs::rename(tmp, dir);
  fs::remove_all(old);
}

bool load_checkpoint(const std::string& out_dir, Trainable& tr, OptimizerState& st, int& step, std::mt19937_64& rng,
                     std::vector<LogEntry>& log) {
  const fs::path dir = fs::path(out_dir) / "checkpoint";
  if (!fs::exists(dir / "state.json")) return false;
  const Trainable saved = Trainable::load(dir.string());
  for (Param& p : tr.params()) {
    const Param* q = nullptr;
    for (const Param& s : saved.params())
      if (s.name == p.name) q = &s;
    if (!q || q->value.shape != p.value.shape)
      fail((dir / "model.safetensors").string(), ": checkpoint does not match the model (tensor '", p.name, "')");
    std::copy(q->value.f32(), q->value.f32() + p.value.numel(), p.value.f32());
  }
  const SafetensorsFile opt = SafetensorsFile::open((dir / "optimizer.safetensors").string());
  for (const RawTensor& r : opt.tensors()) {
    const float* x = static_cast<const float*>(r.data);
    auto& dst = r.name[0] == 'm' ? st.m[r.name.substr(2)] : st.v[r.name.substr(2)];
    dst.assign(x, x + r.numel());
  }
  const std::string state = (dir / "state.json").string();
  const nlohmann::json j = read_json_file(state);
  try {
    step = j.at("step");
    st.step = j.at("optimizer_step");
    std::istringstream rs(j.at("rng").get<std::string>());
    rs >> rng;
    log = log_from_json(j.at("log"));
  } catch (const nlohmann::json::exception& e) {
    fail(state, ": ", e.what());
  }
  return true;
}

// What follows the bar: the logged loss, learning rate and throughput.
std::string progress_text(const LogEntry& e) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "loss %.4f lr %.2e %.0f tok/s", e.loss, e.lr, e.tokens_per_s);
  std::string s = buf;
  if (e.eval_loss >= 0) s += " eval ", s += std::to_string(e.eval_loss);
  return s;
}

}  // namespace

double eval_loss(const Model& m, const TrainBatch& tb) {
  check_batch(tb);
  Engine e(m);
  return batch_loss(e.logits(tb.batch), tb, nullptr);
}

TrainResult train(Trainable& tr, const TrainConfig& cfg, const BatchFn& train_batches, const BatchFn& eval_batches,
                  const std::function<void(const LogEntry&)>& on_log) {
  TrainResult res;
  OptimizerState st;
  std::mt19937_64 rng(cfg.seed);
  int step = 0;
  if (!cfg.out_dir.empty() && cfg.resume) res.resumed = load_checkpoint(cfg.out_dir, tr, st, step, rng, res.log);
  Engine e(tr.model());
  // Evaluation batches come from their own generator so evaluation never shifts the training stream.
  auto evaluate = [&]() {
    if (!eval_batches || cfg.eval_batches <= 0) return -1.0;
    std::mt19937_64 erng(cfg.seed ^ 0x9e3779b97f4a7c15ull);
    double total = 0;
    for (int i = 0; i < cfg.eval_batches; ++i) {
      const TrainBatch tb = eval_batches(erng);
      check_batch(tb);
      total += batch_loss(e.logits(tb.batch), tb, nullptr);
    }
    return total / cfg.eval_batches;
  };
  double loss_acc = 0, tok_acc = 0;
  int acc_n = 0;
  auto t0 = std::chrono::steady_clock::now();
  ForwardOptions fo;
  fo.for_backward = true;
  const int end = cfg.stop_at > 0 ? std::min(cfg.stop_at, cfg.steps) : cfg.steps;
  ProgressBar bar("train", "steps", cfg.progress ? ProgressWhen::Always : ProgressWhen::Never);
  bar.set_start(step);
  const dist::Comm& comm = cfg.ranks ? *cfg.ranks : dist::Comm::self();
  for (; step < end; ++step) {
    const TrainBatch full = train_batches(rng);
    check_batch(full);
    double loss = 0;
    Tensor dlogits;
    tr.zero_grad();
    if (comm.size() == 1) {
      const ForwardResult fwd = e.forward(full.batch, nullptr, nullptr, fo);
      loss = batch_loss(fwd.logits, full, &dlogits);
      e.backward(full.batch, fwd, dlogits.f32(), nullptr, &tr.grads());
    } else {
      // This rank's sequences, each target weighted by 1 / (the batch's targets):
      // summed over ranks, the gradient and loss of the whole batch's mean.
      if (full.batch.B < comm.size())
        fail("train: a batch of ", full.batch.B, " sequences cannot be split across ", comm.size(), " ranks");
      const auto [first, last] = dist::share(full.batch.B, comm.rank(), comm.size());
      const TrainBatch tb = sequences(full, first, last);
      const int64_t n_all = count_targets(full), n_mine = count_targets(tb);
      const ForwardResult fwd = e.forward(tb.batch, nullptr, nullptr, fo);
      loss = batch_loss(fwd.logits, tb, &dlogits, n_all) * double(n_mine) / double(std::max<int64_t>(n_all, 1));
      e.backward(tb.batch, fwd, dlogits.f32(), nullptr, &tr.grads());
      comm.allreduce_sum(&loss, 1);
      for (Param& p : tr.params()) comm.allreduce_sum(p.grad.f32(), size_t(p.grad.numel()));
    }
    if (!std::isfinite(loss)) fail("train: loss became ", loss, " at step ", step, "; lower the learning rate");
    const double gnorm = detail::clip_grad_norm(tr.params(), cfg.grad_clip);
    const float lr = lr_at(cfg.optimizer, cfg.schedule, step, cfg.steps);
    if (cfg.optimizer.kind == "sgd") detail::sgd_step(tr.params(), st, cfg.optimizer, lr);
    else detail::adamw_step(tr.params(), st, cfg.optimizer, lr);
    loss_acc += loss;
    tok_acc += double(full.batch.B * full.batch.T);
    ++acc_n;
    const bool last = step + 1 == end;
    const bool do_eval = cfg.eval_every > 0 && ((step + 1) % cfg.eval_every == 0 || last);
    if ((cfg.log_every > 0 && (step + 1) % cfg.log_every == 0) || do_eval || last) {
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      LogEntry le{step + 1, loss_acc / acc_n, lr, gnorm, tok_acc / std::max(dt, 1e-9), -1};
      if (do_eval) le.eval_loss = evaluate();
      res.log.push_back(le);
      if (on_log) on_log(le);
      bar.update(step + 1, cfg.steps, progress_text(le));
      loss_acc = tok_acc = 0;
      acc_n = 0;
      t0 = std::chrono::steady_clock::now();
    }
    // Every rank holds the same weights: rank 0 writes them.
    if (!cfg.out_dir.empty() && cfg.checkpoint_every > 0 && (step + 1) % cfg.checkpoint_every == 0 && !last &&
        comm.root())
      save_checkpoint(cfg.out_dir, tr, st, step + 1, rng, res.log);
  }
  res.steps_done = step;
  res.final_eval_loss = res.log.empty() ? -1 : res.log.back().eval_loss;
  if (!cfg.out_dir.empty() && comm.root()) {
    save_checkpoint(cfg.out_dir, tr, st, step, rng, res.log);
    if (step == cfg.steps) tr.save(cfg.out_dir);
    const std::string log = log_json(res.log).dump(1);
    write_file_atomic((fs::path(cfg.out_dir) / "train_log.json").string(), log.data(), log.size());
  }
  comm.barrier();  // every rank returns with the files on disk
  return res;
}

}  // namespace glassbox
