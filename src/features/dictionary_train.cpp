#include "glassbox/features/dictionary_train.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "features/dictionary_state.h"
#include "glassbox/dist.h"
#include "glassbox/error.h"
#include "glassbox/features/saelens.h"
#include "glassbox/mmap_file.h"
#include "glassbox/progress.h"

namespace fs = std::filesystem;

namespace glassbox::features {

namespace {
constexpr enum_table::Names<BDecInit, 3> kBDecNames = {
    {BDecInit::GeometricMedian, "geometric_median"}, {BDecInit::Mean, "mean"}, {BDecInit::Zeros, "zeros"}};
}  // namespace

const char* to_string(BDecInit b) { return enum_table::name(b, kBDecNames); }

std::vector<float> geometric_median(const float* x, int64_t rows, int64_t dims, int iters) {
  std::vector<double> y(static_cast<size_t>(dims), 0.0);
  for (int64_t n = 0; n < rows; ++n)
    for (int64_t i = 0; i < dims; ++i) y[size_t(i)] += x[n * dims + i];
  for (double& v : y) v /= double(std::max<int64_t>(rows, 1));
  std::vector<double> w(static_cast<size_t>(rows));
  for (int it = 0; it < iters; ++it) {  // Weiszfeld: y <- sum(x_n / |x_n - y|) / sum(1 / |x_n - y|)
#pragma omp parallel for schedule(static) if (rows * dims >= (1 << 15))
    for (int64_t n = 0; n < rows; ++n) {
      double ss = 0;
      for (int64_t i = 0; i < dims; ++i) ss += (x[n * dims + i] - y[size_t(i)]) * (x[n * dims + i] - y[size_t(i)]);
      w[size_t(n)] = 1.0 / std::max(std::sqrt(ss), 1e-12);
    }
    std::vector<double> num(static_cast<size_t>(dims), 0.0);
    double den = 0;
    for (int64_t n = 0; n < rows; ++n) {
      den += w[size_t(n)];
      for (int64_t i = 0; i < dims; ++i) num[size_t(i)] += w[size_t(n)] * x[n * dims + i];
    }
    double moved = 0;
    for (int64_t i = 0; i < dims; ++i) {
      const double v = num[size_t(i)] / den;
      moved += (v - y[size_t(i)]) * (v - y[size_t(i)]);
      y[size_t(i)] = v;
    }
    if (moved < 1e-14) break;
  }
  return {y.begin(), y.end()};
}

namespace {

using detail::DictState;
using detail::RunCounters;

// A full batch: a finite stream that runs out is rewound (another epoch).
void draw(ActivationStream& stream, ActivationBatch& b, int64_t rows) {
  if (stream.next(b, rows) == rows) return;
  stream.rewind();
  if (stream.next(b, rows) != rows)
    fail("train_dictionaries: the activation stream holds fewer rows than one batch (", rows, ")");
}

Param wrap(const std::string& name, std::vector<float>& value, std::vector<float>& grad, Shape shape) {
  auto view = [&](std::vector<float>& v) {
    Tensor t;
    t.shape = shape;
    t.data = v.data();
    t.storage = std::shared_ptr<void>(v.data(), [](void*) {});
    return t;
  };
  return Param{name, view(value), view(grad)};
}

// Expected-average normalisation (SAELens): inputs scaled so E||x|| = sqrt(d_in).
double norm_scaling_factor(const std::vector<float>& x, int64_t rows, int64_t width, int64_t d_in) {
  double total = 0;
  for (int64_t n = 0; n < rows; ++n) {
    double ss = 0;
    for (int64_t i = 0; i < width; ++i) ss += double(x[size_t(n * width + i)]) * x[size_t(n * width + i)];
    total += std::sqrt(ss);
  }
  const double mean = total / double(rows);
  return mean > 0 ? std::sqrt(double(d_in)) / mean : 1.0;
}

void init_from_sample(DictState& d, ActivationStream& stream, const ActivationBatch& b) {
  const SaeConfig& c = d.sae.cfg;
  if (d.spec.normalize_activations) {
    detail::gather_rows(d.x, b, d.sites.in, stream.dims(), 1.f);
    d.norm_scale = norm_scaling_factor(d.x, b.rows, c.in_width(), c.in_width());
  }
  if (!d.spec.init_from.empty() || d.spec.b_dec_init == BDecInit::Zeros) return;
  detail::gather_rows(d.y, b, d.sites.out, stream.dims(), float(d.norm_scale));
  const int64_t out = c.out_width();
  if (d.spec.b_dec_init == BDecInit::GeometricMedian) {
    d.sae.b_dec = geometric_median(d.y.data(), b.rows, out);
  } else {
    d.sae.b_dec.assign(size_t(out), 0.f);
    for (int64_t n = 0; n < b.rows; ++n)
      for (int64_t i = 0; i < out; ++i) d.sae.b_dec[size_t(i)] += d.y[size_t(n * out + i)] / float(b.rows);
  }
}

DictState make_state(const DictionarySpec& spec, const ActivationStream& stream, size_t i) {
  DictState d;
  d.spec = spec;
  const std::string what = "dictionary '" + (spec.name.empty() ? std::to_string(i) : spec.name) + "'";
  spec.sae.validate(what);
  d.sites = detail::resolve_sites(stream, spec.sae, what);
  if (!spec.init_from.empty()) {
    d.sae = load_saelens(spec.init_from);
    if (d.sae.W_enc.size() != size_t(spec.sae.in_width() * spec.sae.d_sae) ||
        d.sae.W_dec.size() != size_t(spec.sae.d_sae * spec.sae.out_width()) || d.sae.cfg.arch != spec.sae.arch)
      fail(what, ": init_from ", spec.init_from, " has another shape or architecture");
    d.sae.cfg = spec.sae;
    if (d.sae.threshold.empty() && spec.sae.arch == SaeArch::BatchTopK) d.sae.threshold.assign(size_t(spec.sae.d_sae), 0.f);
  } else {
    d.sae = Sae::init(spec.sae, spec.seed);
  }
  d.sae.cfg.normalize_activations = ActNorm::None;  // training sees scaled inputs; folded on save
  d.unit_norm = spec.unit_norm_decoder < 0 ? spec.sae.arch != SaeArch::Relu : spec.unit_norm_decoder == 1;
  if (spec.sae.arch == SaeArch::JumpRelu && spec.init_from.empty())
    d.sae.threshold.assign(size_t(spec.sae.d_sae), spec.jumprelu_init_threshold);
  if (spec.sae.arch == SaeArch::JumpRelu) {
    d.log_threshold.resize(d.sae.threshold.size());
    for (size_t j = 0; j < d.log_threshold.size(); ++j) d.log_threshold[j] = std::log(std::max(d.sae.threshold[j], 1e-8f));
  }
  d.since_fired.assign(size_t(spec.sae.d_sae), 0);
  return d;
}

void renormalize_rows(std::vector<float>& W, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 15))
  for (int64_t j = 0; j < rows; ++j) {
    float* w = W.data() + j * cols;
    double ss = 0;
    for (int64_t i = 0; i < cols; ++i) ss += double(w[i]) * w[i];
    const float inv = float(1.0 / std::max(std::sqrt(ss), 1e-12));
    for (int64_t i = 0; i < cols; ++i) w[i] *= inv;
  }
}

// Removes from each decoder row's gradient its component along the (unit) row:
// the step then moves along the sphere the renormalisation keeps it on.
void project_out_parallel(std::vector<float>& g, const std::vector<float>& W, int64_t rows, int64_t cols) {
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 15))
  for (int64_t j = 0; j < rows; ++j) {
    const float* w = W.data() + j * cols;
    float* gj = g.data() + j * cols;
    double dot = 0;
    for (int64_t i = 0; i < cols; ++i) dot += double(w[i]) * gj[i];
    for (int64_t i = 0; i < cols; ++i) gj[i] -= float(dot) * w[i];
  }
}

// Data-parallel step: this rank's rows [lo, hi) of the batch; every
// gradient, the loss parts and the latents that fired are summed over the
// ranks before the (identical) optimiser step, each rank's weighted by its
// share of the rows: the batch mean of one process, up to float rounding.
void step_dictionary(DictState& d, const ActivationStream& stream, const ActivationBatch& b, int64_t step,
                     int64_t total_steps, const dist::Comm& comm) {
  Sae& s = d.sae;
  const SaeConfig& c = s.cfg;
  const int64_t S = c.d_sae;
  const auto [lo, hi] = dist::share(b.rows, comm.rank(), comm.size());
  detail::gather_rows(d.x, b, d.sites.in, stream.dims(), float(d.norm_scale));
  if (d.sites.out == d.sites.in) d.y = d.x;
  else detail::gather_rows(d.y, b, d.sites.out, stream.dims(), float(d.norm_scale));
  const float* x = d.x.data() + lo * c.in_width();
  const float* y = d.y.data() + lo * c.out_width();
  d.dead.resize(size_t(S));
  for (int64_t j = 0; j < S; ++j) d.dead[size_t(j)] = d.since_fired[size_t(j)] >= d.spec.dead_after_tokens;
  SaeLossOptions lo_opt = d.spec.loss;
  lo_opt.dead = d.dead.data();
  lo_opt.train_batchtopk = true;
  SaeLossParts L = sae_loss_forward(d.fw, s, lo_opt, x, y, hi - lo);
  d.g.zero_like(s);
  sae_loss_backward(d.g, d.fw, s, lo_opt, x, y);
  if (comm.size() > 1) {
    const float w = float(hi - lo) / float(b.rows);
    double parts[4] = {L.mse * w, L.sparsity * w, L.aux * w, L.l0 * w};
    comm.allreduce_sum(parts, 4);
    L = {parts[0], parts[1], parts[2], parts[3]};
    for (std::vector<float>* g : {&d.g.W_enc, &d.g.b_enc, &d.g.W_dec, &d.g.b_dec, &d.g.threshold}) {
      for (float& v : *g) v *= w;
      comm.allreduce_sum(g->data(), g->size());
    }
  }
  if (!std::isfinite(L.total()))
    fail("train_dictionaries: dictionary '", d.spec.name, "' loss became ", L.total(), " at step ", step,
         "; lower the learning rate");

  // Dead-latent statistics from the whole batch: a latent fired if it fired on any rank.
  std::vector<int64_t> fired(size_t(S), 0);
  for (int32_t j : d.fw.f.idx) fired[size_t(j)] = 1;
  comm.allreduce_max(fired.data(), fired.size());
  for (int64_t j = 0; j < S; ++j) d.since_fired[size_t(j)] = fired[size_t(j)] ? 0 : d.since_fired[size_t(j)] + b.rows;
  if (c.arch == SaeArch::BatchTopK && d.fw.f.nnz() > 0)  // Bussmann et al.: a running estimate of the cut
    d.batchtopk_ema = d.batchtopk_ema == 0 ? d.fw.batch_threshold : 0.99f * d.batchtopk_ema + 0.01f * d.fw.batch_threshold;

  if (d.unit_norm) project_out_parallel(d.g.W_dec, s.W_dec, S, c.out_width());
  std::vector<Param> params = {wrap("W_enc", s.W_enc, d.g.W_enc, {c.in_width(), S}),
                               wrap("b_enc", s.b_enc, d.g.b_enc, {S}),
                               wrap("W_dec", s.W_dec, d.g.W_dec, {S, c.out_width()}),
                               wrap("b_dec", s.b_dec, d.g.b_dec, {c.out_width()})};
  std::vector<float> glog;
  if (c.arch == SaeArch::JumpRelu) {  // d loss / d log t = d loss / d t * t
    glog.resize(size_t(S));
    for (int64_t j = 0; j < S; ++j) glog[size_t(j)] = d.g.threshold[size_t(j)] * s.threshold[size_t(j)];
    params.push_back(wrap("log_threshold", d.log_threshold, glog, {S}));
  }
  const float lr = lr_at(d.spec.optimizer, d.spec.schedule, int(step), int(total_steps));
  glassbox::detail::adamw_step(params, d.opt, d.spec.optimizer, lr);
  if (d.unit_norm) renormalize_rows(s.W_dec, S, c.out_width());
  if (c.arch == SaeArch::JumpRelu)
    for (int64_t j = 0; j < S; ++j) s.threshold[size_t(j)] = std::exp(d.log_threshold[size_t(j)]);
  if (c.arch == SaeArch::BatchTopK) s.threshold.assign(size_t(S), d.batchtopk_ema);

  d.acc_loss += L.total(), d.acc_mse += L.mse, d.acc_sp += L.sparsity, d.acc_aux += L.aux, d.acc_l0 += L.l0;
  ++d.acc_n;
}

DictionaryLogEntry flush_log(DictState& d, int64_t step, float lr) {
  int64_t dead = 0;
  for (int64_t t : d.since_fired) dead += t >= d.spec.dead_after_tokens;
  const double n = std::max(d.acc_n, 1);
  DictionaryLogEntry e{step, d.acc_loss / n, d.acc_mse / n, d.acc_sp / n, d.acc_aux / n, d.acc_l0 / n, lr,
                       double(dead) / double(d.since_fired.size())};
  d.acc_loss = d.acc_mse = d.acc_sp = d.acc_aux = d.acc_l0 = 0;
  d.acc_n = 0;
  d.log.push_back(e);
  return e;
}

// What follows the bar: the first dictionary's logged losses and the throughput.
std::string progress_text(const DictionaryLogEntry& e, double tok_s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "mse %.4g l0 %.1f dead %.1f%% %.0f tok/s", e.mse, e.l0, 100 * e.dead_fraction, tok_s);
  return buf;
}

// What the SAELens directory holds: the expected-average scaling folded in
// (SAELens' fold_activation_norm_scaling_factor, plus b_dec, which it must
// scale too for the folded SAE to equal the scaled one), then "none".
Sae folded(const DictState& d) {
  Sae s = d.sae;
  s.cfg.normalize_activations = ActNorm::None;
  const float k = float(d.norm_scale);
  if (k == 1.f) return s;
  for (float& w : s.W_enc) w *= k;
  for (float& w : s.W_dec) w /= k;
  for (float& w : s.b_dec) w /= k;
  return s;
}

}  // namespace

nlohmann::json TrainDictionariesResult::to_json() const {
  nlohmann::json dicts = nlohmann::json::array();
  for (const auto& d : dictionaries) {
    const DictionaryLogEntry last = d.log.empty() ? DictionaryLogEntry{} : d.log.back();
    dicts.push_back({{"name", d.name},
                     {"architecture", to_string(d.sae.cfg.arch)},
                     {"hook_name", d.sae.cfg.hook_name},
                     {"d_in", d.sae.cfg.d_in},
                     {"d_sae", d.sae.cfg.d_sae},
                     {"norm_scaling_factor", d.norm_scaling_factor},
                     {"final", {{"step", last.step}, {"loss", last.loss}, {"mse", last.mse}, {"l0", last.l0},
                                {"dead_fraction", last.dead_fraction}}}});
  }
  return {{"steps_done", steps_done}, {"resumed", resumed}, {"tokens_per_s", tokens_per_s}, {"dictionaries", dicts}};
}

TrainDictionariesResult train_dictionaries(ActivationStream& stream, const std::vector<DictionarySpec>& specs,
                                           const TrainDictionariesOptions& opt,
                                           const std::function<void(const DictionaryLogEntry&, size_t)>& on_log) {
  if (specs.empty()) fail("train_dictionaries: no dictionaries to train");
  if (opt.batch_rows <= 0) fail("train_dictionaries: batch_rows must be > 0, got ", opt.batch_rows);
  if (opt.steps() <= 0)
    fail("train_dictionaries: total_tokens (", opt.total_tokens, ") is less than one batch (", opt.batch_rows, ")");
  if (specs.size() > 1)
    for (const auto& s : specs)
      if (s.name.empty()) fail("train_dictionaries: with several dictionaries each needs a name (its subdirectory)");
  const dist::Comm& comm = opt.ranks ? *opt.ranks : dist::Comm::self();
  if (opt.batch_rows < comm.size())
    fail("train_dictionaries: batch_rows (", opt.batch_rows, ") is less than the number of ranks (", comm.size(), ")");
  std::vector<DictState> ds;
  for (size_t i = 0; i < specs.size(); ++i) {
    // BatchTopK's cut is a top-k over the whole batch: not split across ranks (yet).
    if (comm.size() > 1 && specs[i].sae.arch == SaeArch::BatchTopK)
      fail("train_dictionaries: dictionary '", specs[i].name, "': batchtopk does not train data-parallel "
           "(its selection spans the whole batch); use topk, relu or jumprelu under mpirun, or one process");
    ds.push_back(make_state(specs[i], stream, i));
  }

  TrainDictionariesResult res;
  RunCounters rc;
  ActivationBatch batch;
  stream.rewind();
  if (!opt.out_dir.empty() && opt.resume && detail::load_checkpoint(opt.out_dir, ds, rc)) {
    res.resumed = true;
    for (int64_t i = 0; i < rc.batches_drawn; ++i) draw(stream, batch, opt.batch_rows);  // back to where it paused
  } else {
    draw(stream, batch, opt.batch_rows);  // a sample for b_dec and the scaling factor
    for (DictState& d : ds) init_from_sample(d, stream, batch);
    stream.rewind();
  }
  const int64_t total = opt.steps();
  const int64_t end = opt.stop_at_step > 0 ? std::min(opt.stop_at_step, total) : total;
  const auto t_start = std::chrono::steady_clock::now();
  auto t0 = t_start;
  int64_t run_tokens = 0, tok_since_log = 0;
  ProgressBar bar("dictionary", "steps", opt.progress ? ProgressWhen::Always : ProgressWhen::Never);
  bar.set_start(rc.step);
  for (; rc.step < end; ++rc.step) {
    draw(stream, batch, opt.batch_rows);
    ++rc.batches_drawn;
    for (DictState& d : ds) step_dictionary(d, stream, batch, rc.step, total, comm);
    run_tokens += batch.rows, tok_since_log += batch.rows;
    const bool last = rc.step + 1 == end;
    // Not at a pause: the partial sums are checkpointed, so a resumed run logs what an uninterrupted one does.
    if ((opt.log_every > 0 && (rc.step + 1) % opt.log_every == 0) || rc.step + 1 == total) {
      const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double tok_s = double(tok_since_log) / std::max(dt, 1e-9);
      for (size_t i = 0; i < ds.size(); ++i) {
        const float lr = lr_at(ds[i].spec.optimizer, ds[i].spec.schedule, int(rc.step), int(total));
        const DictionaryLogEntry e = flush_log(ds[i], rc.step + 1, lr);
        if (on_log) on_log(e, i);
        if (i == 0) bar.update(rc.step + 1, total, progress_text(e, tok_s));
      }
      tok_since_log = 0;
      t0 = std::chrono::steady_clock::now();
    }
    // Every rank holds the same state: rank 0 writes it.
    if (!opt.out_dir.empty() && opt.checkpoint_every > 0 && (rc.step + 1) % opt.checkpoint_every == 0 && !last &&
        comm.root()) {
      ++rc.step;
      detail::save_checkpoint(opt.out_dir, ds, rc);
      --rc.step;
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  res.tokens_per_s = double(run_tokens) / std::max(secs, 1e-9);
  res.steps_done = rc.step;
  if (!opt.out_dir.empty() && comm.root()) {
    detail::save_checkpoint(opt.out_dir, ds, rc);
    if (rc.step == total)
      for (const DictState& d : ds) {
        const std::string dir = d.spec.name.empty() ? opt.out_dir : (fs::path(opt.out_dir) / d.spec.name).string();
        save_saelens(folded(d), dir);
        // Beside the SAELens files (SAELens ignores it): how training went.
        const std::string log =
            nlohmann::json{{"norm_scaling_factor", d.norm_scale}, {"log", detail::log_json(d.log)}}.dump(1);
        write_file_atomic((fs::path(dir) / "glassbox_train_log.json").string(), log.data(), log.size());
      }
  }
  comm.barrier();  // every rank returns with the files on disk
  for (const DictState& d : ds) res.dictionaries.push_back({d.spec.name, folded(d), d.norm_scale, d.log});
  return res;
}

}  // namespace glassbox::features

namespace glassbox {
template <>
features::BDecInit from_string<features::BDecInit>(std::string_view s) {
  return enum_table::value(s, features::kBDecNames, "b_dec init");
}
}  // namespace glassbox
