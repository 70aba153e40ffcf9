// Compiling a constitution into one profile (steering/constitution.h): per
// principle a probe (features::probe_sweep on its labelled texts), a
// direction (contrastive.h), the monitor and interventions its action asks
// for; then each principle's held-out rates with and without the profile.
#include "glassbox/steering/constitution.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include "glassbox/error.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/generate.h"
#include "glassbox/steering/orthogonalize.h"
#include "glassbox/tokenizer.h"

namespace fs = std::filesystem;

namespace glassbox::steering {

namespace {

const Tokenizer& tokenizer_of(const Model& m) {
  if (!m.tokenizer()) fail(m.source(), ": the model has no tokenizer to read a constitution's texts with");
  return *m.tokenizer();
}

std::vector<int32_t> prompt_tokens(const Model& m, const std::string& text, const std::string& what) {
  std::vector<int32_t> ids = tokenizer_of(m).encode(text, /*add_special=*/true, /*parse_special=*/true);
  if (ids.empty()) fail(what, ": the text '", text, "' has no tokens");
  if (int64_t(ids.size()) >= m.config().n_ctx)
    fail(what, ": the text '", text.substr(0, 40), "...' is ", ids.size(), " tokens; the model's context is ",
         m.config().n_ctx);
  return ids;
}

features::LabelSet label_set(const Model& m, const std::vector<std::string>& pos, const std::vector<std::string>& neg,
                             const std::vector<std::string>& groups, const std::string& what) {
  features::LabelSet ls;
  ls.name = what;
  ls.classes = {"negative", "positive"};
  for (int side = 0; side < 2; ++side) {
    const auto& texts = side ? pos : neg;
    for (size_t i = 0; i < texts.size(); ++i) {
      features::ProbeExample ex;
      ex.text = texts[i];
      ex.tokens = prompt_tokens(m, texts[i], what);
      ex.label = side;
      const size_t gi = side ? i : pos.size() + i;  // groups list the positive texts first
      if (!groups.empty()) ex.group = groups[gi];
      ls.examples.push_back(std::move(ex));
    }
  }
  return ls;
}

std::string lower(const std::string& s) {
  std::string out = s;
  for (char& ch : out) ch = char(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

// Whether a continuation keeps the case: opens with `expect`, holds no `avoid`.
bool keeps(const PrincipleCase& c, const std::string& continuation) {
  if (!c.expect.empty() && continuation.rfind(c.expect, 0) != 0) return false;
  const std::string low = lower(continuation);
  for (const std::string& a : c.avoid)
    if (low.find(lower(a)) != std::string::npos) return false;
  return true;
}

// Share of the cases whose continuations (every sample) keep them, generated
// under the profile; prompts of one length go together (no padding: the
// positions are the ones each prompt has alone).
std::pair<double, int64_t> kept_share(const Model& m, const std::vector<PrincipleCase>& cases, const HeldoutSpec& h,
                                      const Profile& profile, const std::string& what) {
  if (cases.empty()) return {NAN, 0};
  const Tokenizer& tok = tokenizer_of(m);
  std::map<size_t, std::vector<size_t>> by_length;
  std::vector<std::vector<int32_t>> prompts;
  for (size_t i = 0; i < cases.size(); ++i) {
    prompts.push_back(prompt_tokens(m, cases[i].prompt, what));
    by_length[prompts.back().size()].push_back(i);
  }
  SamplingOptions so;
  so.max_new_tokens = h.max_new_tokens;
  so.temperature = h.temperature;
  if (const auto eot = tok.token_id("<|endoftext|>")) so.stop_tokens = {*eot};
  double kept = 0;
  int64_t n = 0;
  for (int k = 0; k < h.samples; ++k) {
    so.seed = h.seed + uint64_t(k);
    for (const auto& [len, idx] : by_length) {
      std::vector<std::vector<int32_t>> rows;
      for (size_t i : idx) rows.push_back(prompts[i]);
      const MonitoredGeneration g = generate_with_profile(m, rows, so, profile);
      for (size_t r = 0; r < idx.size(); ++r) {
        kept += keeps(cases[idx[r]], tok.decode(g.tokens[r], /*skip_special=*/true));
        ++n;
      }
    }
  }
  return {kept / double(n), n};
}

Monitor probe_monitor(const Principle& p, const features::ProbeCell& cell, MonitorAction action,
                      const std::string& what) {
  return Monitor::from_json({{"name", p.name},
                             {"type", "probe"},
                             {"hook", cell.hook},
                             {"probe", cell.probe.to_json()},
                             {"threshold", p.threshold},
                             {"action", to_string(action)}},
                            what);
}

struct BuiltPrinciple {
  PrincipleReport report;
  std::vector<Intervention> interventions;
  Monitor monitor;
};

BuiltPrinciple build_principle(Engine& e, const Principle& p, const std::string& what) {
  const Model& m = e.model();
  const Config& c = m.config();
  BuiltPrinciple out;
  PrincipleReport& r = out.report;
  r.name = p.name;
  r.action = to_string(p.action);
  for (int l : {p.probe_layer, p.layer})
    if (l >= c.n_layers) fail(what, ": layer ", l, " is out of range (the model has ", c.n_layers, " layers)");

  // The probe: a held-out sweep over layers at its site (one layer when given).
  const features::LabelSet probe_set = label_set(m, p.probe_positive, p.probe_negative, p.probe_groups, what + ".probe");
  features::ProbeSweepOptions so;
  so.sites = {p.probe_site};
  so.position.spec = "last";
  so.test_fraction = 0.3;
  so.control = false;
  const features::ProbeSweep sweep = features::probe_sweep(e, probe_set, so);
  const features::ProbeCell* cell = nullptr;
  for (const features::ProbeCell& pc : sweep.cells) {
    if (p.probe_layer < 0) r.auroc_by_layer.push_back(pc.auroc);
    if (p.probe_layer >= 0 ? pc.layer == p.probe_layer : (!cell || pc.auroc > cell->auroc)) cell = &pc;
  }
  if (!cell) fail(what, ".probe: no probe at ", to_string(p.probe_site), " layer ", p.probe_layer);
  r.probe_hook = cell->hook;
  r.auroc = cell->auroc;
  r.probe_train = sweep.n_train;
  r.probe_test = sweep.n_test;

  // The direction, at its layer (the one ordering the most building pairs when auto).
  BuildOptions bo;
  bo.method = p.method;
  bo.site = p.site;
  bo.read_at = p.read_at;
  bo.name = p.name;
  if (p.layer >= 0) bo.layers = {p.layer};
  SteeringVector v;
  if (!p.pairs.empty()) {
    std::vector<ContrastivePair> pairs;
    const Tokenizer& tok = tokenizer_of(m);
    for (const TextPair& tp : p.pairs)
      pairs.push_back({tok.encode(tp.prompt, true, true), tok.encode(tp.positive, false, false),
                       tok.encode(tp.negative, false, false), tp.prompt});
    v = build_from_pairs(e, pairs, bo);
  } else if (!p.direction_positive.empty()) {
    v = build_from_labels(e, label_set(m, p.direction_positive, p.direction_negative, {}, what + ".direction"), bo,
                          "last", "positive");
  } else {
    v = build_from_labels(e, probe_set, bo, "last", "positive");
  }
  const LayerDirection* ld = nullptr;
  for (const LayerDirection& l : v.layers) {
    if (p.layer < 0) r.separation_by_layer.push_back(l.separation);
    if (!ld || (std::isfinite(l.separation) && !(l.separation <= ld->separation))) ld = &l;
  }
  if (p.layer < 0 && v.find(cell->layer) && !std::isfinite(ld->separation)) ld = v.find(cell->layer);
  r.direction_hook = v.hook(ld->layer);
  r.separation = ld->separation;

  const bool gated_steer = p.action == PrincipleAction::Steer && p.gate;
  MonitorAction ma = p.action == PrincipleAction::Stop ? MonitorAction::Stop
                     : gated_steer                      ? MonitorAction::Steer
                                                        : MonitorAction::Flag;
  out.monitor = probe_monitor(p, *cell, ma, what);
  if (gated_steer) {
    out.monitor.steer_hook = r.direction_hook;
    out.monitor.steer_direction = ld->vector;
    out.monitor.alpha = double(p.coefficient) * ld->norm();  // -coefficient x the direction
  } else if (p.action == PrincipleAction::Steer) {
    ApplyOptions ao;
    ao.coefficient = -p.coefficient;
    ao.layers = {ld->layer};
    out.interventions = steering_interventions(v, ao);
  } else if (p.action == PrincipleAction::Ablate) {
    out.interventions = ablation_interventions(ablation_direction(v, ld->layer, what), c, what);
  }
  return out;
}

}  // namespace

nlohmann::json PrincipleRates::to_json() const {
  const auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  return {{"behaviour", num(behaviour)}, {"benign", num(benign)},       {"ce", num(ce)},
          {"n_behaviour", n_behaviour},  {"n_benign", n_benign},         {"ce_tokens", ce_tokens}};
}

nlohmann::json PrincipleReport::to_json() const {
  const auto num = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); };
  nlohmann::json by_layer = nlohmann::json::array(), sep = nlohmann::json::array();
  for (double a : auroc_by_layer) by_layer.push_back(num(a));
  for (double s : separation_by_layer) sep.push_back(num(s));
  return {{"name", name},
          {"action", action},
          {"probe", {{"hook", probe_hook}, {"auroc", num(auroc)}, {"n_train", probe_train}, {"n_test", probe_test},
                     {"auroc_by_layer", by_layer}}},
          {"direction", {{"hook", direction_hook}, {"separation", num(separation)}, {"separation_by_layer", sep}}},
          {"before", before.to_json()},
          {"after", after.to_json()},
          {"ce_change", num(ce_change())}};
}

nlohmann::json ConstitutionBuild::to_json() const {
  nlohmann::json ps = nlohmann::json::array();
  for (const PrincipleReport& r : principles) ps.push_back(r.to_json());
  return {{"constitution", constitution}, {"model", model}, {"principles", ps}, {"skipped", skipped},
          {"profile", {{"name", profile.name}, {"interventions", profile.interventions.size()},
                       {"monitors", profile.monitors.size()}}}};
}

PrincipleRates evaluate_principle(const Model& m, const Principle& p, const Profile* profile) {
  const Profile none;
  const Profile& pr = profile ? *profile : none;
  const std::string what = "principle '" + p.name + "'.heldout";
  PrincipleRates r;
  double kept;
  std::tie(kept, r.n_behaviour) = kept_share(m, p.heldout.behaviour, p.heldout, pr, what + ".behaviour");
  r.behaviour = 1 - kept;
  std::tie(r.benign, r.n_benign) = kept_share(m, p.heldout.benign, p.heldout, pr, what + ".benign");
  if (!p.heldout.text.empty()) {
    std::vector<std::vector<int32_t>> rows;
    for (const std::string& t : p.heldout.text) rows.push_back(prompt_tokens(m, t, what + ".text"));
    Engine e(m);
    std::tie(r.ce, r.ce_tokens) = profile_cross_entropy(e, rows, pr);
  }
  return r;
}

ConstitutionBuild build_constitution(const Model& m, const Constitution& c, const ConstitutionOptions& o) {
  ConstitutionBuild out;
  out.constitution = c.name.empty() ? c.source : c.name;
  const std::string model_name =
      o.model_name.empty() ? fs::path(m.source()).lexically_normal().filename().string() : o.model_name;
  out.model = model_name;
  out.profile.name = out.constitution + " (" + model_name + ")";
  out.profile.description = c.description;
  Engine e(m);
  std::vector<const Principle*> built;
  for (size_t i = 0; i < c.principles.size(); ++i) {
    const Principle& p = c.principles[i];
    if (!p.applies_to(model_name)) {
      out.skipped.push_back(p.name);
      continue;
    }
    if (o.progress) o.progress("build", int64_t(i), int64_t(c.principles.size()));
    const std::string what = c.source + ": principles[" + std::to_string(i) + "] (" + p.name + ")";
    BuiltPrinciple bp = build_principle(e, p, what);
    out.principles.push_back(std::move(bp.report));
    out.profile.monitors.push_back(std::move(bp.monitor));
    out.profile.interventions.insert(out.profile.interventions.end(), bp.interventions.begin(), bp.interventions.end());
    built.push_back(&p);
  }
  if (built.empty()) fail(c.source, ": no principle is for the model '", model_name, "' (see each principle's \"models\")");
  out.profile.check_fits(m.config(), out.profile.name);
  if (!o.evaluate) return out;
  for (size_t i = 0; i < built.size(); ++i) {
    if (o.progress) o.progress("measure", int64_t(i), int64_t(built.size()));
    out.principles[i].before = evaluate_principle(m, *built[i], nullptr);
    out.principles[i].after = evaluate_principle(m, *built[i], &out.profile);
  }
  return out;
}

}  // namespace glassbox::steering
