// Monitors during generation. Site monitors (probe, projection) are replace
// hooks that read each row's last position of the pass that produces the
// token; entropy reads that pass's logits; the logit lens keeps every layer's
// last-position resid_post and unembeds them after the pass (ln_final and W_U
// through the engine itself, from start_at_layer = n_layers, so the lens is
// bitwise the model's own unembedding). Actions are taken in generate()'s
// per-step observer, which also records values and events.
#include <algorithm>
#include <cmath>
#include <limits>

#include "glassbox/error.h"
#include "glassbox/steering/monitor.h"

namespace glassbox::steering {

double logits_entropy(const float* logits, int64_t V) {
  const float mx = *std::max_element(logits, logits + V);
  double z = 0, s = 0;  // z = sum e^(l - mx), s = sum e^(l - mx) (l - mx)
  for (int64_t i = 0; i < V; ++i) {
    const double d = double(logits[i]) - mx, e = std::exp(d);
    z += e;
    s += e * d;
  }
  return std::log(z) - s / z;  // H = log Z - E[l - mx]
}

namespace {

std::vector<float> unit(const std::vector<float>& v) {
  double nn = 0;
  for (float x : v) nn += double(x) * x;
  const double inv = nn > 0 ? 1 / std::sqrt(nn) : 0;
  std::vector<float> u(v.size());
  for (size_t i = 0; i < v.size(); ++i) u[i] = float(v[i] * inv);
  return u;
}

// One monitor's state during a generation.
struct Live {
  const Monitor* m = nullptr;
  std::vector<float> read;    // probe: direction; projection: unit(direction)
  double offset = 0;          // probe: bias - direction . mean
  std::vector<float> steer;   // -alpha . unit(steer direction)
  std::vector<double> value;  // [B] this step's value
  std::vector<uint8_t> steering;  // [B] steering has started for the row
};

// The last position of each row of a [B, T, d] activation.
template <class Fn>
void for_last_rows(TensorView& act, Fn fn) {
  const int64_t B = act.shape[0], T = act.shape[1], d = act.shape[2];
  for (int64_t b = 0; b < B; ++b) fn(b, act.data + (b * T + T - 1) * d, d);
}

}  // namespace

MonitoredGeneration generate_monitored(Engine& e, const std::vector<std::vector<int32_t>>& prompts,
                                       const SamplingOptions& o, const std::vector<Monitor>& monitors,
                                       HookRegistry* hooks) {
  const Config& c = e.model().config();
  for (size_t i = 0; i < monitors.size(); ++i) monitors[i].check_fits(c, "monitors[" + std::to_string(i) + "]");
  HookRegistry own(c);
  HookRegistry& reg = hooks ? *hooks : own;
  const int64_t B = int64_t(prompts.size());

  std::vector<Live> live(monitors.size());
  std::vector<HookHandle> handles;
  bool need_lens = false;
  for (size_t i = 0; i < monitors.size(); ++i) {
    const Monitor& m = monitors[i];
    Live& L = live[i];
    L.m = &m;
    L.value.assign(size_t(B), std::numeric_limits<double>::quiet_NaN());
    L.steering.assign(size_t(B), 0);
    need_lens = need_lens || m.kind == MonitorKind::LogitLens;
    if (m.kind == MonitorKind::Probe) {
      L.read = m.direction;
      L.offset = m.bias;
      for (size_t j = 0; j < m.mean.size(); ++j) L.offset -= double(m.direction[j]) * m.mean[j];
    } else if (m.kind == MonitorKind::Projection) {
      L.read = unit(m.direction);
    }
    if (!L.read.empty()) {
      // Replace mode: it runs in registration order with the interventions
      // (after them) and with its own steer hook (before it).
      handles.push_back(reg.add(
          m.hook,
          [&L](TensorView& act, const HookContext&) {
            for_last_rows(act, [&](int64_t b, const float* x, int64_t d) {
              double s = L.offset;
              for (int64_t j = 0; j < d; ++j) s += double(L.read[size_t(j)]) * x[j];
              if (L.m->logistic) s = 1 / (1 + std::exp(-s));
              L.value[size_t(b)] = s;
              if (L.m->action == MonitorAction::Steer && L.m->triggered(s)) L.steering[size_t(b)] = 1;
            });
          },
          HookMode::Replace));
    }
    if (m.action == MonitorAction::Steer) {
      L.steer = unit(m.steer_direction.empty() ? m.direction : m.steer_direction);
      for (float& v : L.steer) v = float(-m.alpha * v);
      handles.push_back(reg.add(
          m.steer_hook.empty() ? m.hook : m.steer_hook,
          [&L](TensorView& act, const HookContext&) {
            for_last_rows(act, [&](int64_t b, float* x, int64_t d) {
              if (!L.steering[size_t(b)]) return;
              for (int64_t j = 0; j < d; ++j) x[j] += L.steer[size_t(j)];
            });
          },
          HookMode::Replace));
    }
  }

  // Logit lens: every layer's last-position resid_post, [n_layers * B, d].
  const int64_t D = c.d_model;
  std::vector<float> lens_resid;
  if (need_lens) {
    lens_resid.assign(size_t(c.n_layers * B * D), 0.f);
    handles.push_back(reg.add(
        "blocks.*.hook_resid_post",
        [&lens_resid, B, D](TensorView& act, const HookContext& ctx) {
          for_last_rows(act, [&](int64_t b, const float* x, int64_t d) {
            std::copy(x, x + d, lens_resid.data() + (int64_t(ctx.point.layer) * B + b) * D);
          });
        },
        HookMode::Observe));
  }
  Batch lens_batch;
  lens_batch.B = c.n_layers * B;
  lens_batch.T = 1;
  lens_batch.tokens.assign(size_t(lens_batch.B), 0);
  ForwardOptions lens_opt;
  lens_opt.logits = LogitsMode::Last;
  lens_opt.start_at_layer = c.n_layers;
  std::vector<double> lens_layer(static_cast<size_t>(B));

  MonitoredGeneration out;
  out.values.assign(monitors.size(), std::vector<std::vector<float>>(size_t(B)));
  for (size_t i = 0; i < monitors.size(); ++i)
    out.monitor_names.push_back(monitors[i].name.empty() ? std::string(to_string(monitors[i].kind)) + "." +
                                                               std::to_string(i)
                                                         : monitors[i].name);

  auto observe = [&](GenerateStep& st) {
    if (need_lens) {
      lens_opt.start_resid = lens_resid.data();
      const ForwardResult lr = e.forward(lens_batch, nullptr, nullptr, lens_opt);
      const float* lz = lr.logits.f32();
      for (int64_t b = 0; b < B; ++b) {
        const float* fin = st.logits + b * st.V;
        const int64_t top = std::max_element(fin, fin + st.V) - fin;
        lens_layer[size_t(b)] = c.n_layers;  // never: an intervention after the last block changed it
        for (int l = 0; l < c.n_layers; ++l) {
          const float* z = lz + (int64_t(l) * B + b) * st.V;
          if (std::max_element(z, z + st.V) - z == top) {
            lens_layer[size_t(b)] = l;
            break;
          }
        }
      }
    }
    for (size_t i = 0; i < monitors.size(); ++i) {
      const Monitor& m = monitors[i];
      Live& L = live[i];
      for (int64_t b = 0; b < B; ++b) {
        if (st.done[b]) continue;
        double v = L.value[size_t(b)];
        if (m.kind == MonitorKind::Entropy) v = logits_entropy(st.logits + b * st.V, st.V);
        if (m.kind == MonitorKind::LogitLens) v = lens_layer[size_t(b)];
        out.values[i][size_t(b)].push_back(float(v));
        if (!m.triggered(v)) continue;
        out.events.push_back({int(i), out.monitor_names[i], b, st.step, v, m.action});
        if (m.action == MonitorAction::Stop) st.stop[b] = 1;
        if (m.action == MonitorAction::Steer) L.steering[size_t(b)] = 1;
      }
    }
  };
  Generation g = generate(e, prompts, o, &reg, observe);
  out.tokens = std::move(g.tokens);
  return out;
}

}  // namespace glassbox::steering
