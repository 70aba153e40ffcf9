// A constitution: principles written as data (a name, a description, example
// texts, the action wanted) compiled in one step into what acts on a model —
// per principle a probe with a threshold run as a monitor, a direction, and
// its steering or ablation — saved as ONE profile (steering/profile.h), so
// `glassbox generate --profile`, the Python binding and the HTTP server use
// it as they use any profile.
//
// JSON (`glassbox constitution build FILE --model M`):
//
//   {"name": "organisms", "description": "...",
//    "principles": [{
//      "name": "no abusive words", "description": "...",
//      "models": ["toxic"],                  // optional: the model (directory) names it is for
//      "probe": {"positive": [texts where the behaviour is coming],
//                "negative": [texts where it is not],
//                "groups": [...],            // optional, one per text: a group never straddles the split
//                "site": "resid_post", "layer": "auto", "threshold": 0.5},
//      "direction": {"pairs": [{"prompt", "positive", "negative"}, ...], "read_at": "last"
//                    or "positive": [...], "negative": [...]   (labelled sets: difference of means at the last token)
//                    "method": "mean-diff", "site": "resid_post", "layer": "auto"},   // optional: the probe's sets
//      "action": "steer",                    // flag | steer | stop | ablate
//      "gate": true,                         // steer: only once the probe fires (else at every position)
//      "coefficient": 2.0,                   // steer: -coefficient x the direction
//      "heldout": {"behaviour": [{"prompt": "...", "expect": " truth", "avoid": [" lie"]}, ...],
//                  "benign":    [{"prompt": "...", "expect": " truth"}, ...],
//                  "text":      ["held-out benign text for the cross-entropy side effect", ...],
//                  "generate":  {"max_new_tokens": 1, "temperature": 0, "samples": 1, "seed": 2024}}}]}
//
// The pieces per action:
//   flag    the probe as a flag monitor at its hook
//   stop    the probe as a stop monitor (the flagged token is not emitted)
//   steer   gated: the probe as a steer monitor adding -coefficient x the
//           direction at the direction's hook from the token it flags on
//           (monitor.h); ungated: a flag monitor and an add_vector
//           intervention at every position
//   ablate  a flag monitor and the direction projected out of every residual
//           site (Arditi et al.; steering/orthogonalize.h)
// "auto" layers: the probe's, the best held-out AUROC of a per-layer sweep
// (ties: the earliest); the direction's, the layer whose vector orders the
// most building pairs (ties: the earliest).
//
// Every number the build reports is measured on data the pieces were not
// fitted on: the probe's AUROC on a held-out part of its own examples; the
// behaviour, benign accuracy and cross-entropy on the principle's "heldout"
// section, with the profile (all principles together) and without it.
#pragma once
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/enum_string.h"
#include "glassbox/model.h"
#include "glassbox/steering/contrastive.h"
#include "glassbox/steering/profile.h"

namespace glassbox::steering {

enum class PrincipleAction : uint8_t { Flag, Steer, Stop, Ablate };
const char* to_string(PrincipleAction a);  // "flag", "steer", "stop", "ablate"

// A contrastive pair as written (tokenised as read_pairs_jsonl does).
struct TextPair {
  std::string prompt, positive, negative;
};

// A held-out prompt and what the principle wants of its continuation.
struct PrincipleCase {
  std::string prompt;
  std::string expect;              // non-empty: the continuation must open with it
  std::vector<std::string> avoid;  // the continuation must contain none (letters compared lower-cased)
};

struct HeldoutSpec {
  std::vector<PrincipleCase> behaviour;  // prompts that elicit the behaviour
  std::vector<PrincipleCase> benign;     // prompts whose good answers must survive
  std::vector<std::string> text;         // benign text: cross-entropy side effect
  int max_new_tokens = 8;
  float temperature = 0;  // 0: greedy
  int samples = 1;        // continuations per prompt (seed, seed + 1, ...)
  uint64_t seed = 2024;
};

struct Principle {
  std::string name, description;
  std::vector<std::string> models;  // empty: any model
  // The probe's labelled sets (read at the last token) and where it reads.
  std::vector<std::string> probe_positive, probe_negative, probe_groups;
  Site probe_site = Site::resid_post;
  int probe_layer = -1;  // -1: auto
  double threshold = 0.5;
  // The direction: pairs, or two labelled sets (empty: the probe's).
  std::vector<TextPair> pairs;
  std::vector<std::string> direction_positive, direction_negative;
  ReadAt read_at = ReadAt::Last;
  Method method = Method::MeanDiff;
  Site site = Site::resid_post;
  int layer = -1;  // -1: auto
  PrincipleAction action = PrincipleAction::Flag;
  bool gate = true;
  float coefficient = 1;
  HeldoutSpec heldout;

  bool applies_to(const std::string& model_name) const;
};

struct Constitution {
  std::string name, description, source;
  std::vector<Principle> principles;
};

// Error naming the file, the principle (index and name) and the field.
Constitution constitution_from_json(const nlohmann::json& j, const std::string& what = "constitution");
Constitution load_constitution(const std::string& path);

// Held-out numbers for one principle under one profile (or none).
struct PrincipleRates {
  double behaviour = NAN;  // share of behaviour continuations that break the principle
  double benign = NAN;     // share of benign prompts answered as expected
  double ce = NAN;         // next-token cross-entropy on the benign text, nats
  int64_t n_behaviour = 0, n_benign = 0, ce_tokens = 0;
  nlohmann::json to_json() const;
};

struct PrincipleReport {
  std::string name, action;
  std::string probe_hook;
  double auroc = NAN;                     // held-out AUROC of the probe
  int64_t probe_train = 0, probe_test = 0;
  std::vector<double> auroc_by_layer;     // at probe_site, when the layer was chosen automatically
  std::string direction_hook;
  double separation = NAN;                // share of building pairs the direction orders
  std::vector<double> separation_by_layer;
  PrincipleRates before, after;           // without / with the whole profile
  double ce_change() const { return after.ce / before.ce - 1; }  // 0.02: 2% worse
  nlohmann::json to_json() const;
};

struct ConstitutionBuild {
  std::string constitution, model;
  Profile profile;  // every applicable principle's pieces, in order
  std::vector<PrincipleReport> principles;
  std::vector<std::string> skipped;  // principles for other models
  nlohmann::json to_json() const;   // the reports (the profile is saved on its own)
};

struct ConstitutionOptions {
  std::string model_name;  // what "models" is matched against (empty: the model directory's name)
  bool evaluate = true;    // measure the held-out rates (else only AUROC and separation)
  std::function<void(const std::string& stage, int64_t done, int64_t total)> progress;
};

// Builds every principle that applies to m into one profile, then measures
// each principle with and without it. Error naming the principle and field
// for data that does not fit the model (a text past the context, a layer
// out of range).
ConstitutionBuild build_constitution(const Model& m, const Constitution& c, const ConstitutionOptions& o = {});

// Measures one principle's held-out section under a profile (null: none).
PrincipleRates evaluate_principle(const Model& m, const Principle& p, const Profile* profile);

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::PrincipleAction from_string<steering::PrincipleAction>(std::string_view s);
}  // namespace glassbox
