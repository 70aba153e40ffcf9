// Training the tuned lens. The loss's gradient w.r.t. the translated residual
// comes from the engine's own backward pass through the final norm and the
// unembedding (a pass from start_at_layer = n_layers), so no second
// implementation of either.

#include <cstring>
#include <random>

#include "analysis/detail.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/metrics.h"
#include "train/optimizer.h"

namespace glassbox::analysis {

namespace {

// KL(final || softmax(head(x))) over b's valid positions, where head is
// ln_final + the unembedding (the engine from start_at_layer = n_layers) and
// x [B*T, d_model]; dx (optional) receives d KL / dx.
double head_kl(Engine& e, const Batch& b, const float* x, const Tensor& final_logits, float* dx) {
  ForwardOptions fo;
  fo.start_at_layer = e.model().config().n_layers;
  fo.start_resid = x;
  fo.for_backward = dx != nullptr;
  const ForwardResult r = e.forward(b, nullptr, nullptr, fo);
  Tensor dlogits;
  const double loss = kl_divergence(r.logits, final_logits, b, dx ? &dlogits : nullptr);
  if (dx) e.backward(b, r, dlogits.f32(), nullptr, nullptr, dx);
  return loss;
}

// One translator's loss on residual rows h [B*T, d]; gradients accumulated when asked.
double layer_loss(Engine& e, TunedLens& lens, const Batch& b, const float* h, const Tensor& final_logits,
                  int layer, bool grad) {
  const int64_t N = b.B * b.T, d = lens.d_model;
  std::vector<float> x(size_t(N * d)), dx(grad ? size_t(N * d) : 0);
  lens.translate(x.data(), h, N, layer);
  const double loss = head_kl(e, b, x.data(), final_logits, grad ? dx.data() : nullptr);
  if (grad) {
    // x = h + h W^T + b:  dW += dx^T h,  db += sum over rows of dx.
    detail::matmul_dW(MutMatRef{lens.weight(layer).grad.f32(), d, d, 1, d}, h, d, dx.data(), N);
    if (Param* bp = lens.bias_param(layer))
      for (int64_t n = 0; n < N; ++n)
        for (int64_t j = 0; j < d; ++j) bp->grad.f32()[j] += dx[size_t(n * d + j)];
  }
  return loss;
}

}  // namespace

double tuned_lens_loss(Engine& e, TunedLens& lens, const Batch& batch, int layer, bool accumulate_grad) {
  lens.check_fits(e.model().config(), "tuned_lens_loss");
  if (layer < 0 || layer >= lens.n_layers)
    fail("tuned_lens_loss: layer ", layer, " is out of range for ", lens.n_layers, " translators");
  const HookPoint site{Site::resid_pre, layer};
  CacheOptions co;
  co.names = {site.name()};
  const ActivationCache cache = run_with_cache(e, batch, co);
  const std::vector<float> h = detail::cached_f32(cache, site);
  return layer_loss(e, lens, batch, h.data(), cache.logits, layer, accumulate_grad);
}

std::vector<double> train_tuned_lens(Engine& e, TunedLens& lens, const std::vector<int32_t>& tokens,
                                     const TunedLensTrainOptions& opt) {
  const Config& c = e.model().config();
  lens.check_fits(c, "train_tuned_lens");
  if (opt.seq_len <= 0 || opt.seq_len > c.n_ctx)
    fail("train_tuned_lens: seq_len ", opt.seq_len, " must be in [1, ", c.n_ctx, "] (the model's context)");
  if (int64_t(tokens.size()) < opt.seq_len)
    fail("train_tuned_lens: ", tokens.size(), " tokens are fewer than one window of seq_len ", opt.seq_len);
  if (opt.rows <= 0) fail("train_tuned_lens: rows must be positive, got ", opt.rows);
  if (opt.optimizer.kind != "sgd" && opt.optimizer.kind != "adamw")
    fail("train_tuned_lens: optimizer.kind must be \"sgd\" or \"adamw\", got \"", opt.optimizer.kind, "\"");

  glassbox::detail::OptimizerState st;
  std::mt19937_64 rng(opt.seed);
  CacheOptions co;
  co.names = {"blocks.*.hook_resid_pre"};
  const uint64_t n_starts = uint64_t(tokens.size()) - uint64_t(opt.seq_len) + 1;
  std::vector<double> losses;
  for (int step = 0; step < opt.steps; ++step) {
    std::vector<std::vector<int32_t>> rows;
    for (int64_t r = 0; r < opt.rows; ++r) {
      const auto start = tokens.begin() + std::ptrdiff_t(rng() % n_starts);
      rows.emplace_back(start, start + opt.seq_len);
    }
    const Batch b = Batch::from_rows(rows);
    const ActivationCache cache = run_with_cache(e, b, co);
    lens.zero_grad();
    double total = 0;
    for (int l = 0; l < lens.n_layers; ++l) {
      const std::vector<float> h = detail::cached_f32(cache, {Site::resid_pre, l});
      total += layer_loss(e, lens, b, h.data(), cache.logits, l, true);
    }
    if (opt.grad_clip > 0) glassbox::detail::clip_grad_norm(lens.params, opt.grad_clip);
    const float lr = lr_at(opt.optimizer, opt.schedule, step, opt.steps);
    if (opt.optimizer.kind == "sgd") glassbox::detail::sgd_step(lens.params, st, opt.optimizer, lr);
    else glassbox::detail::adamw_step(lens.params, st, opt.optimizer, lr);
    losses.push_back(total / double(lens.n_layers));
  }
  return losses;
}

}  // namespace glassbox::analysis
