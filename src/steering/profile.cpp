// Profiles: a request's interventions and monitors as one JSON document,
// checked against the model, and generation under one.
#include "glassbox/steering/profile.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <tuple>

#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/json_file.h"
#include "glassbox/mmap_file.h"
#include "steering/cross_entropy.h"
#include "steering/json_fields.h"

namespace glassbox::steering {

namespace {

std::string item(const std::string& what, const char* list, size_t i) {
  return what + "." + list + "[" + std::to_string(i) + "]";
}

// The width a vector added at (or projected out of) site s must have: the
// activation's last dimension. Scores and patterns end in the key position
// (no fixed width): 0, not checked here (the hook checks it when it runs).
int64_t vector_width(Site s, const Config& c) {
  const int64_t a = site_shape(s, c, 1, 1, 1).back(), b = site_shape(s, c, 1, 2, 2).back();
  return a == b ? a : 0;
}

}  // namespace

nlohmann::json Profile::to_json() const {
  nlohmann::json ms = nlohmann::json::array();
  for (const Monitor& m : monitors) ms.push_back(m.to_json());
  nlohmann::json j = {{"interventions", interventions_to_json(interventions)}, {"monitors", ms}};
  if (!name.empty()) j["name"] = name;
  if (!description.empty()) j["description"] = description;
  return j;
}

Profile Profile::from_json(const nlohmann::json& j, const std::string& base_dir, const std::string& what,
                           const CodecLoader& load_codec) {
  if (!j.is_object()) fail(what, ": expected an object {\"interventions\": [...], \"monitors\": [...]}");
  for (const auto& [key, _] : j.items())
    if (!json_fields::is_one_of(key, {"interventions", "monitors", "name", "description"}))
      fail(what, ".", key, ": unknown field (a profile has \"interventions\" and \"monitors\")");
  Profile p;
  if (j.contains("name")) p.name = json_fields::string(j, "name", what);
  if (j.contains("description")) p.description = json_fields::string(j, "description", what);
  for (const char* list : {"interventions", "monitors"})
    if (j.contains(list) && !j[list].is_array()) fail(what, ".", list, ": expected an array");
  if (j.contains("interventions")) {
    const nlohmann::json& xs = j["interventions"];
    for (size_t i = 0; i < xs.size(); ++i) {
      try {
        for (Intervention& iv : interventions_from_json(xs[i], base_dir, load_codec))
          p.interventions.push_back(std::move(iv));
      } catch (const Error& e) {
        fail(item(what, "interventions", i), ": ", e.what());
      }
    }
  }
  if (j.contains("monitors")) {
    const nlohmann::json& ms = j["monitors"];
    for (size_t i = 0; i < ms.size(); ++i)
      p.monitors.push_back(Monitor::from_json(ms[i], item(what, "monitors", i), base_dir));
  }
  return p;
}

void Profile::check_fits(const Config& c, const std::string& what) const {
  for (size_t i = 0; i < interventions.size(); ++i) {
    const Intervention& iv = interventions[i];
    const std::string field = item(what, "interventions", i);
    std::vector<HookPoint> points;
    try {
      points = match_hooks(iv.hook, c);
    } catch (const Error& e) {
      fail(field, ".hook: ", e.what());
    }
    if (iv.kind != InterventionKind::AddVector && iv.kind != InterventionKind::ProjectOut) continue;
    for (const HookPoint& hp : points) {
      const int64_t w = vector_width(hp.site, c);
      if (w && int64_t(iv.vector.size()) != w)
        fail(field, ".vector: ", iv.vector.size(), " values, but '", hp.name(), "' has width ", w);
    }
  }
  for (size_t i = 0; i < monitors.size(); ++i) monitors[i].check_fits(c, item(what, "monitors", i));
}

Profile load_profile(const std::string& path, const CodecLoader& load_codec) {
  return Profile::from_json(read_json_file(path), std::filesystem::path(path).parent_path().string(), path,
                            load_codec);
}

void save_profile(const Profile& p, const std::string& path) {
  const std::string text = p.to_json().dump(1) + "\n";
  write_file_atomic(path, text.data(), text.size());
}

MonitoredGeneration generate_with_profile(const Model& m, const std::vector<std::vector<int32_t>>& prompts,
                                          const SamplingOptions& o, const Profile& p,
                                          const GenerateObserver& observe) {
  p.check_fits(m.config());
  Engine e(m);  // this request's scratch; the weights are the Model's, shared
  HookRegistry reg(m.config());
  const std::vector<HookHandle> handles = attach(reg, p.interventions);
  return generate_monitored(e, prompts, o, p.monitors, &reg, observe);
}

namespace {

// Where a hook sits in the forward pass (global embeddings first, the final
// norm last), to know whether a steer site comes after the monitor's read.
std::tuple<int, int> forward_rank(const HookPoint& hp, const Config& c) {
  const int layer = hp.layer >= 0 ? hp.layer : (hp.site < Site::resid_pre ? -1 : c.n_layers);
  return {layer, int(hp.site)};
}

std::vector<float> unit_times(const std::vector<float>& v, double scale) {
  double nn = 0;
  for (float x : v) nn += double(x) * x;
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = nn > 0 ? float(scale * v[i] / std::sqrt(nn)) : 0.f;
  return out;
}

}  // namespace

std::pair<double, int64_t> profile_cross_entropy(Engine& e, const std::vector<std::vector<int32_t>>& rows,
                                                 const Profile& p) {
  const Config& c = e.model().config();
  p.check_fits(c);
  const Batch b = Batch::from_rows(rows);
  const int64_t B = b.B, T = b.T, V = c.d_vocab;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
  std::vector<size_t> steer;  // the steer monitors
  for (size_t i = 0; i < p.monitors.size(); ++i) {
    const Monitor& m = p.monitors[i];
    if (m.action != MonitorAction::Steer) continue;
    if (m.kind == MonitorKind::LogitLens)
      fail("profile monitors[", i, "]: a logit_lens steer monitor has no teacher-forced cross-entropy here");
    steer.push_back(i);
  }
  // first[k][row]: where steer monitor k first fires; delay: 1 when its steer
  // site comes before its read site in the pass (it acts from the next token).
  std::vector<std::vector<int64_t>> first(steer.size(), std::vector<int64_t>(size_t(B), kNever));
  std::vector<std::vector<double>> values(steer.size());
  std::vector<std::vector<float>> add(steer.size());
  std::vector<int64_t> delay(steer.size(), 0);
  for (size_t k = 0; k < steer.size(); ++k) {
    const Monitor& m = p.monitors[steer[k]];
    const std::string steer_hook = m.steer_hook.empty() ? m.hook : m.steer_hook;
    add[k] = unit_times(m.steer_direction.empty() ? m.direction : m.steer_direction, -m.alpha);
    if (m.kind == MonitorKind::Entropy) delay[k] = 1;
    else if (forward_rank(parse_hook_name(steer_hook, c), c) < forward_rank(parse_hook_name(m.hook, c), c)) delay[k] = 1;
  }
  Tensor logits;
  for (size_t pass = 0; pass <= steer.size() + 1; ++pass) {
    HookRegistry reg(c);
    std::vector<HookHandle> handles = attach(reg, p.interventions);
    for (size_t k = 0; k < steer.size(); ++k) {
      const Monitor& m = p.monitors[steer[k]];
      values[k].assign(size_t(B * T), std::numeric_limits<double>::quiet_NaN());
      if (m.kind != MonitorKind::Entropy) {
        // Read every position (after the interventions, as generation does).
        std::vector<float> read = m.kind == MonitorKind::Probe ? m.direction : unit_times(m.direction, 1);
        double offset = m.kind == MonitorKind::Probe ? m.bias : 0;
        for (size_t j = 0; j < m.mean.size() && m.kind == MonitorKind::Probe; ++j)
          offset -= double(m.direction[j]) * m.mean[j];
        handles.push_back(reg.add(
            m.hook,
            [&values, k, read, offset, &m](TensorView& act, const HookContext&) {
              const int64_t d = int64_t(read.size()), n = act.numel() / d;
              for (int64_t r = 0; r < n; ++r) {
                double s = offset;
                for (int64_t j = 0; j < d; ++j) s += double(read[size_t(j)]) * act.data[r * d + j];
                values[k][size_t(r)] = m.logistic ? 1 / (1 + std::exp(-s)) : s;
              }
            },
            HookMode::Replace));
      }
      handles.push_back(reg.add(
          m.steer_hook.empty() ? m.hook : m.steer_hook,
          [&first, &add, &delay, k, T](TensorView& act, const HookContext&) {
            const int64_t d = int64_t(add[k].size()), n = act.numel() / d;
            for (int64_t r = 0; r < n; ++r) {
              const int64_t row = r / T, t = r % T;
              if (first[k][size_t(row)] == kNever || t < first[k][size_t(row)] + delay[k]) continue;
              for (int64_t j = 0; j < d; ++j) act.data[r * d + j] += add[k][size_t(j)];
            }
          },
          HookMode::Replace));
    }
    logits = e.logits(b, &reg);
    bool changed = false;
    for (size_t k = 0; k < steer.size(); ++k) {
      const Monitor& m = p.monitors[steer[k]];
      for (int64_t row = 0; row < B; ++row) {
        int64_t at = kNever;
        for (int64_t t = 0; t < int64_t(rows[size_t(row)].size()) && at == kNever; ++t) {
          double v = values[k][size_t(row * T + t)];
          if (m.kind == MonitorKind::Entropy) v = logits_entropy(logits.f32() + (row * T + t) * V, V);
          if (m.triggered(v)) at = t;
        }
        changed = changed || at != first[k][size_t(row)];
        first[k][size_t(row)] = at;
      }
    }
    if (!changed) break;
  }
  return detail::rows_cross_entropy(logits, b);
}

}  // namespace glassbox::steering
