// Coefficient x layer sweeps of a steering direction: effect on held-out
// prompts against cross-entropy on benign text.
#include "glassbox/steering/sweep.h"

#include <algorithm>

#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/stream_loss.h"
#include "glassbox/tokenizer.h"

namespace glassbox::steering {

namespace {

constexpr enum_table::Names<EffectKind, 2> kEffectNames = {{EffectKind::MarkerRate, "marker-rate"},
                                                           {EffectKind::TargetLogprob, "target-logprob"}};

double marker_rate(Engine& e, const Behaviour& b, const HookRegistry* hooks) {
  const Tokenizer* tok = e.model().tokenizer();
  if (!tok) fail("steering: a marker rate decodes generated text; the model at ", e.model().source(),
                 " has no tokenizer");
  if (b.marker.empty()) fail("steering: the behaviour's marker is empty");
  SamplingOptions so;
  so.max_new_tokens = b.max_new_tokens;
  so.temperature = 0;
  const Generation g = generate(e, b.prompts, so, hooks);
  int64_t hits = 0;
  for (const auto& t : g.tokens) {
    const std::string text = tok->decode(t);
    hits += b.marker_anywhere ? text.find(b.marker) != std::string::npos : text.rfind(b.marker, 0) == 0;
  }
  return double(hits) / double(b.prompts.size());
}

double target_logprob(Engine& e, const Behaviour& b, const HookRegistry* hooks) {
  if (b.targets.size() != b.prompts.size())
    fail("steering: ", b.targets.size(), " targets for ", b.prompts.size(), " prompts");
  const Batch batch = Batch::from_rows(b.prompts, /*pad_left=*/true);
  ForwardOptions fo;
  fo.logits = LogitsMode::Last;
  const ForwardResult r = e.forward(batch, hooks, nullptr, fo);
  const int64_t V = e.model().config().d_vocab;
  double sum = 0;
  for (int64_t i = 0; i < batch.B; ++i) {
    const float* x = r.logits.f32() + i * V;
    const int32_t t = b.targets[size_t(i)];
    if (t < 0 || t >= V) fail("steering: target token ", t, " is outside the vocabulary (", V, ")");
    const double m = *std::max_element(x, x + V);
    double z = 0;
    for (int64_t k = 0; k < V; ++k) z += std::exp(double(x[k]) - m);
    sum += double(x[t]) - m - std::log(z);
  }
  return sum / double(batch.B);
}

}  // namespace

const char* to_string(EffectKind k) { return enum_table::name(k, kEffectNames); }

double measure_behaviour(Engine& e, const Behaviour& b, const HookRegistry* hooks) {
  if (b.prompts.empty()) fail("steering: the behaviour has no held-out prompts");
  return b.kind == EffectKind::MarkerRate ? marker_rate(e, b, hooks) : target_logprob(e, b, hooks);
}

const SweepCell* Sweep::best(bool want_increase, double max_ce_ratio) const {
  const SweepCell* out = nullptr;
  for (const auto& c : cells) {
    const double ratio = std::isfinite(c.ce_ratio) ? c.ce_ratio : 0.0;
    if (ratio > max_ce_ratio || !std::isfinite(c.effect)) continue;
    // A cell that leaves the effect where it was, or moves it the wrong way, reached nothing.
    if (std::isfinite(baseline_effect) && (want_increase ? c.effect <= baseline_effect : c.effect >= baseline_effect))
      continue;
    if (!out) {
      out = &c;
      continue;
    }
    const double a = want_increase ? c.effect : -c.effect, b = want_increase ? out->effect : -out->effect;
    const bool better = a > b || (a == b && (std::abs(c.coefficient) < std::abs(out->coefficient) ||
                                             (std::abs(c.coefficient) == std::abs(out->coefficient) && c.ce < out->ce)));
    if (better) out = &c;
  }
  return out;
}

nlohmann::json Sweep::to_json() const {
  auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : cells)
    cs.push_back({{"layer", c.layer},
                  {"coefficient", c.coefficient},
                  {"effect", num(c.effect)},
                  {"ce", num(c.ce)},
                  {"ce_ratio", num(c.ce_ratio)}});
  return {{"direction", direction},        {"method", to_string(method)},    {"effect", to_string(effect_kind)},
          {"marker", marker},              {"prompts", prompts},             {"benign_tokens", benign_tokens},
          {"baseline_effect", num(baseline_effect)}, {"baseline_ce", num(baseline_ce)}, {"cells", cs}};
}

Sweep steering_sweep(Engine& e, const SteeringVector& v, const SweepOptions& opt) {
  v.check_fits(e.model().config(), v.name.empty() ? "steering direction" : v.name);
  if (opt.coefficients.empty()) fail("steering: the sweep has no coefficients");
  const std::vector<int> layers = opt.layers.empty() ? v.layer_ids() : opt.layers;
  for (int l : layers)
    if (!v.find(l)) fail("steering: the direction has no vector for layer ", l);
  std::vector<int> rows = layers;
  if (opt.all_layers) rows.push_back(-1);

  Sweep s;
  s.direction = v.name;
  s.method = v.method;
  s.effect_kind = opt.behaviour.kind;
  s.marker = opt.behaviour.marker;
  s.prompts = int64_t(opt.behaviour.prompts.size());
  s.benign_tokens = int64_t(opt.benign.size());
  const int64_t total = int64_t(rows.size() * opt.coefficients.size()) + 1;
  int64_t done = 0;
  auto tick = [&] {
    if (opt.progress) opt.progress(++done, total);
  };
  s.baseline_effect = measure_behaviour(e, opt.behaviour);
  if (!opt.benign.empty()) s.baseline_ce = stream_loss(e, opt.benign).loss;
  tick();
  for (int row : rows)
    for (float coef : opt.coefficients) {
      SweepCell c;
      c.layer = row;
      c.coefficient = coef;
      ApplyOptions ao;
      ao.coefficient = coef;
      ao.positions = opt.positions;
      if (row >= 0) ao.layers = {row};
      else ao.layers = layers;
      HookRegistry reg(e.model().config());
      const auto handles = attach(reg, steering_interventions(v, ao));
      c.effect = measure_behaviour(e, opt.behaviour, &reg);
      if (!opt.benign.empty()) {
        c.ce = stream_loss(e, opt.benign, &reg).loss;
        c.ce_ratio = c.ce / s.baseline_ce - 1.0;
      }
      s.cells.push_back(c);
      tick();
    }
  return s;
}

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::EffectKind from_string<steering::EffectKind>(std::string_view s) {
  return enum_table::value(s, steering::kEffectNames, "effect");
}
}  // namespace glassbox
