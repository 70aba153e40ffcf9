// Per-request profiles: what one request wants changed and watched while the
// model generates for it, as one JSON document:
//
//   {"name": "...", "description": "...",
//    "interventions": [... interventions.h's JSON: add_vector, project_out, ...],
//    "monitors":      [... monitor.h's JSON: probe, projection, entropy, logit_lens ...]}
//
// Every field is optional. A profile is plain data, round-trips through JSON
// (to_json / from_json), and is checked against the model before anything
// runs, with errors naming the field ("interventions[1].vector: 64 values,
// but 'blocks.1.hook_resid_post' has width 128", "monitors[0].type: ...").
//
// generate_with_profile() gives each request an Engine and hook registry of
// its own over the shared, read-only Model: requests with different profiles
// can run concurrently from several threads (weights are never copied), and
// each gets exactly the output it would get alone. This is what an HTTP
// server exposes per request.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "glassbox/codec.h"
#include "glassbox/generate.h"
#include "glassbox/interventions.h"
#include "glassbox/model.h"
#include "glassbox/steering/monitor.h"

namespace glassbox::steering {

struct Profile {
  std::string name, description;  // for people (a constitution names its profile)
  std::vector<Intervention> interventions;
  std::vector<Monitor> monitors;

  nlohmann::json to_json() const;
  // Files the document names (patch sources, probes, dictionaries) are read
  // relative to base_dir; `what` names the document in errors (a path).
  static Profile from_json(const nlohmann::json& j, const std::string& base_dir = "",
                           const std::string& what = "profile", const CodecLoader& load_codec = {});
  // Error naming the field when it cannot act on a model of config c: an
  // unknown hook or a layer out of range, a vector of the wrong width, a
  // monitor that does not fit (Monitor::check_fits).
  void check_fits(const Config& c, const std::string& what = "profile") const;
};

Profile load_profile(const std::string& path, const CodecLoader& load_codec = {});
void save_profile(const Profile& p, const std::string& path);  // atomic

// Checks the profile against the model, then generates with its
// interventions attached and its monitors on, in an Engine of its own.
// `observe` as generate_monitored() takes it (after the monitors, every step).
MonitoredGeneration generate_with_profile(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                          const SamplingOptions& o, const Profile& p,
                                          const GenerateObserver& observe = {});

// Mean next-token cross-entropy (nats) of texts under a profile, teacher-
// forced, and the number of tokens scored: the side effect of a profile on
// benign text. Its interventions act as in generation; a steer monitor acts
// as if each token had been generated: from the first position where it
// fires (probe / projection: read at every position; entropy: from that
// position's logits, so from the next token on), found causally by
// repeating the pass until the firing positions no longer change. Flag and
// stop monitors change no distribution (a stopped row is not scored less).
// Error for a logit_lens steer monitor (not computed teacher-forced).
std::pair<double, int64_t> profile_cross_entropy(Engine& e, const std::vector<std::vector<int32_t>>& rows,
                                                 const Profile& p);

}  // namespace glassbox::steering
