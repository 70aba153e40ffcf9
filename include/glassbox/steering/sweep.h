// Steering sweeps: a coefficient x layer grid, and for each cell the effect
// on the behaviour (on held-out prompts) against the side effect (next-token
// cross-entropy on benign held-out text, relative to the unsteered model).
//
// The behaviour is measured one of two ways:
//   marker-rate   greedy generation from each prompt; the fraction of
//                 continuations that open with (or contain) a marker string
//   target-logprob  mean log-probability of each prompt's target token at its
//                 last position (a target-logit shift without generating)
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/engine.h"
#include "glassbox/enum_string.h"
#include "glassbox/steering/direction.h"

namespace glassbox::steering {

enum class EffectKind : uint8_t { MarkerRate, TargetLogprob };
const char* to_string(EffectKind k);  // "marker-rate", "target-logprob"

struct Behaviour {
  EffectKind kind = EffectKind::MarkerRate;
  std::vector<std::vector<int32_t>> prompts;  // held-out: never the prompts the direction was built from
  // marker-rate
  std::string marker;
  bool marker_anywhere = false;  // false: the continuation must open with it
  int max_new_tokens = 8;
  // target-logprob: one target token per prompt
  std::vector<int32_t> targets;
};

// The behaviour's value for one configuration of hooks (null: unsteered).
// marker-rate needs the model's tokenizer. Error on sizes that do not match.
double measure_behaviour(Engine& e, const Behaviour& b, const HookRegistry* hooks = nullptr);

struct SweepOptions {
  std::vector<int> layers;          // each alone; empty: every layer the direction has
  std::vector<float> coefficients;  // e.g. -8 -4 0 4 8; must not be empty
  bool all_layers = false;          // also a row with every layer at once (layer -1)
  std::vector<int64_t> positions;   // where to add (empty: every position)
  Behaviour behaviour;
  std::vector<int32_t> benign;      // held-out plain text for the side effect (>= 2 tokens; empty: skipped)
  std::function<void(int64_t done, int64_t total)> progress;  // over cells
};

struct SweepCell {
  int layer = 0;  // -1: every layer of the direction at once
  float coefficient = 0;
  double effect = NAN;
  double ce = NAN;        // benign next-token cross-entropy, nats
  double ce_ratio = NAN;  // ce / unsteered ce - 1 (0.02: 2% worse)
};

struct Sweep {
  std::string direction;  // its name
  Method method = Method::MeanDiff;
  EffectKind effect_kind = EffectKind::MarkerRate;
  std::string marker;
  int64_t prompts = 0, benign_tokens = 0;
  double baseline_effect = NAN, baseline_ce = NAN;
  std::vector<SweepCell> cells;  // layer-major, coefficients in the order given

  // The cell with the highest (want_increase) or lowest effect whose
  // ce_ratio is at most max_ce_ratio (NaN ratios count as 0) and whose effect
  // moved past the unsteered one the wanted way; ties: the smaller
  // |coefficient|, then the smaller ce. Null when none qualifies: no cell
  // reached the goal.
  const SweepCell* best(bool want_increase, double max_ce_ratio = INFINITY) const;
  nlohmann::json to_json() const;
};

// Error for a layer the direction lacks, no coefficients, an empty behaviour.
Sweep steering_sweep(Engine& e, const SteeringVector& v, const SweepOptions& opt);

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::EffectKind from_string<steering::EffectKind>(std::string_view s);
}  // namespace glassbox
