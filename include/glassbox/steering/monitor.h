// Monitors: signals computed token by token during generation, read through
// hooks on the same forward pass that produces the token (no extra pass), each
// with a threshold and an action.
//
// Signals (one value per row per generated token, read at the row's last position):
//   probe       a linear probe's score at a hook site: direction . (x - mean) + bias,
//               squashed by the logistic function for a logistic probe (a
//               probability; 0.5 is its decision boundary), raw otherwise
//   projection  x . direction / |direction| at a hook site
//   entropy     the next-token distribution's entropy, in nats
//   logit_lens  the first layer whose logit lens (its resid_post through
//               ln_final and W_U) already ranks the final prediction (the
//               argmax of the logits) first; the last layer when no earlier
//               one does. Early = settled, late = decided at the last moment.
//               Costs one unembedding per layer but the last per token, so it
//               is computed only when such a monitor is on.
//
// Actions, when the value is above (or, "when": "below", below) the threshold:
//   flag   record an event (token index, value)
//   steer  add -alpha . unit(direction) at the steer site to that row's
//          positions from then on. A probe / projection monitor steers its own
//          site in the same pass, right after reading it (the token it
//          flagged is already steered); entropy / logit-lens monitors and
//          other sites take effect from the next site the pass reaches
//   stop   end that row: the flagged token is not emitted
// Every crossing is recorded as an event; steering starts at the first.
//
// JSON (one object; a profile holds a list, see profile.h):
//   {"name": "lie", "type": "probe", "hook": "blocks.1.hook_resid_post",
//    "probe": {... as `glassbox probe --json --with-probes` writes a cell's probe ...}
//      or "direction": [...], "bias": -0.3 (and optional "mean": [...], "logistic": true),
//    "threshold": 0.5, "when": "above", "action": "steer", "alpha": 4.0,
//    "steer_hook": "blocks.1.hook_resid_post", "steer_direction": [...]}
//   {"type": "entropy", "threshold": 3.0, "action": "stop"}
//   {"type": "logit_lens", "threshold": 3, "action": "flag"}
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/config.h"
#include "glassbox/engine.h"
#include "glassbox/enum_string.h"
#include "glassbox/generate.h"
#include "glassbox/hooks.h"

namespace glassbox::steering {

enum class MonitorKind : uint8_t { Probe, Projection, Entropy, LogitLens };
const char* to_string(MonitorKind k);  // "probe", "projection", "entropy", "logit_lens"
enum class MonitorAction : uint8_t { Flag, Steer, Stop };
const char* to_string(MonitorAction a);  // "flag", "steer", "stop"

struct Monitor {
  std::string name;  // empty: "<type>" (profile: "<type>.<index>")
  MonitorKind kind = MonitorKind::Entropy;
  std::string hook;  // probe / projection: an exact hook name with [B, T, d] activations
  // probe / projection: the direction (the site's width). probe: score =
  // direction . (x - mean) + bias (mean empty: zero), squashed when logistic.
  std::vector<float> direction, mean;
  double bias = 0;
  bool logistic = false;
  double threshold = 0;
  bool below = false;  // trigger when value < threshold instead of >
  MonitorAction action = MonitorAction::Flag;
  // steer: -alpha . unit(steer_direction) added at steer_hook (empty: the
  // monitor's own hook and direction; entropy / logit_lens must name both).
  double alpha = 1;
  std::string steer_hook;
  std::vector<float> steer_direction;

  bool triggered(double value) const { return below ? value < threshold : value > threshold; }
  nlohmann::json to_json() const;
  // `what` names the monitor in errors ("monitors[2]"); Error naming the
  // field. A "probe" given as a file name is read relative to base_dir.
  static Monitor from_json(const nlohmann::json& j, const std::string& what = "monitor",
                           const std::string& base_dir = "");
  // Error naming `what` and the field when it cannot run on a model of config
  // c: an unknown hook or a layer out of range, a site without [B, T, d]
  // activations, a direction of the wrong width.
  void check_fits(const Config& c, const std::string& what = "monitor") const;
};

struct MonitorEvent {
  int monitor = 0;  // index into the monitor list
  std::string name;
  int64_t row = 0;  // prompt index
  int token = 0;    // generated token index (0: the first token after the prompt)
  double value = 0;
  MonitorAction action = MonitorAction::Flag;
  nlohmann::json to_json() const;
};

struct MonitoredGeneration {
  std::vector<std::vector<int32_t>> tokens;  // new tokens per prompt, as generate() returns them
  std::vector<MonitorEvent> events;          // in (token, monitor, row) order
  // values[m][row][token]: monitor m's signal at each step the row was live
  // (a stopped row's last value is the one that stopped it).
  std::vector<std::vector<std::vector<float>>> values;
  std::vector<std::string> monitor_names;
  nlohmann::json to_json() const;
};

// generate() with monitors on: their hooks are added to `hooks` (null: a
// registry of their own) after whatever it holds (interventions act first,
// monitors read their result) and removed on return. Error when a monitor
// does not fit the model. `observe` (optional) runs every step after the
// monitors acted (st.stop holds the rows they stopped; it may stop more): how
// a server streams tokens and ends a request that ran out of time.
MonitoredGeneration generate_monitored(Engine& e, const std::vector<std::vector<int32_t>>& prompts,
                                       const SamplingOptions& o, const std::vector<Monitor>& monitors,
                                       HookRegistry* hooks = nullptr, const GenerateObserver& observe = {});

// Entropy (nats) of softmax(logits[0..V)), in double.
double logits_entropy(const float* logits, int64_t V);

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::MonitorKind from_string<steering::MonitorKind>(std::string_view s);
template <> steering::MonitorAction from_string<steering::MonitorAction>(std::string_view s);
}  // namespace glassbox
