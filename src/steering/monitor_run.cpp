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
#include "kernels/kernels.h"

namespace glassbox::steering {

namespace {

// H = -sum p log p = lse - sum p z, and lse = z[i*] - log p[i*] at the argmax
// i* (p[i*] >= 1/V, so its log is well conditioned): one vectorised softmax
// and no per-entry exp or log in double. Per generated token this is the
// cost of the entropy monitor, which the overhead budget (5%) is about.
double entropy_from_softmax(const float* z, const float* p, int64_t V) {
  const int64_t top = std::max_element(z, z + V) - z;
  float pz = 0;  // float lanes: sum p = 1, so rounding stays ~V * 1e-7 of max |z|
#pragma omp simd reduction(+ : pz)
  for (int64_t i = 0; i < V; ++i) pz += p[i] * z[i];
  return double(z[top]) - std::log(double(p[top])) - double(pz);
}

std::vector<float> unit(const std::vector<float>& v) {
  double nn = 0;
  for (float x : v) nn += double(x) * x;
  const double inv = nn > 0 ? 1 / std::sqrt(nn) : 0;
  std::vector<float> u(v.size());
  for (size_t i = 0; i < v.size(); ++i) u[i] = float(v[i] * inv);
  return u;
}

}  // namespace

double logits_entropy(const float* logits, int64_t V) {
  std::vector<float> p(static_cast<size_t>(V));
  kernels::softmax_forward(p.data(), logits, 1, V);
  return entropy_from_softmax(logits, p.data(), V);
}

namespace {

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
                                       HookRegistry* hooks, const GenerateObserver& observe_after) {
  const Config& c = e.model().config();
  for (size_t i = 0; i < monitors.size(); ++i) monitors[i].check_fits(c, "monitors[" + std::to_string(i) + "]");
  HookRegistry own(c);
  HookRegistry& reg = hooks ? *hooks : own;
  const int64_t B = int64_t(prompts.size());

  std::vector<Live> live(monitors.size());
  std::vector<HookHandle> handles;
  bool need_lens = false, need_entropy = false;
  for (size_t i = 0; i < monitors.size(); ++i) {
    const Monitor& m = monitors[i];
    Live& L = live[i];
    L.m = &m;
    L.value.assign(size_t(B), std::numeric_limits<double>::quiet_NaN());
    L.steering.assign(size_t(B), 0);
    need_lens = need_lens || m.kind == MonitorKind::LogitLens;
    need_entropy = need_entropy || m.kind == MonitorKind::Entropy;
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

  // Logit lens: the last-position resid_post of every block but the last,
  // [(n_layers - 1) * B, d] (the last block's is what the final logits read).
  const int64_t D = c.d_model, n_lens = c.n_layers - 1;
  std::vector<float> lens_resid;
  if (need_lens && n_lens > 0) {
    lens_resid.assign(size_t(n_lens * B * D), 0.f);
    for (int l = 0; l < n_lens; ++l)
      handles.push_back(reg.add(
          HookPoint{Site::resid_post, l},
          [&lens_resid, B, D, l](TensorView& act, const HookContext&) {
            for_last_rows(act, [&](int64_t b, const float* x, int64_t d) {
              std::copy(x, x + d, lens_resid.data() + (int64_t(l) * B + b) * D);
            });
          },
          HookMode::Observe));
  }
  std::vector<float> probs(need_entropy ? static_cast<size_t>(B * c.d_vocab) : 0);
  Batch lens_batch;
  lens_batch.B = n_lens * B;
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
    if (need_entropy) kernels::softmax_forward(probs.data(), st.logits, B, st.V);
    if (need_lens) {
      ForwardResult lr;
      if (n_lens > 0) {
        lens_opt.start_resid = lens_resid.data();
        lr = e.forward(lens_batch, nullptr, nullptr, lens_opt);
      }
      for (int64_t b = 0; b < B; ++b) {
        const float* fin = st.logits + b * st.V;
        const int64_t top = std::max_element(fin, fin + st.V) - fin;
        lens_layer[size_t(b)] = n_lens;  // the last block, when no earlier one ranks it first
        for (int l = 0; l < n_lens; ++l) {
          const float* lz = lr.logits.f32();
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
        if (m.kind == MonitorKind::Entropy)
          v = entropy_from_softmax(st.logits + b * st.V, probs.data() + b * st.V, st.V);
        if (m.kind == MonitorKind::LogitLens) v = lens_layer[size_t(b)];
        out.values[i][size_t(b)].push_back(float(v));
        if (!m.triggered(v)) continue;
        out.events.push_back({int(i), out.monitor_names[i], b, st.step, v, m.action});
        if (m.action == MonitorAction::Stop) st.stop[b] = 1;
        if (m.action == MonitorAction::Steer) L.steering[size_t(b)] = 1;
      }
    }
    if (observe_after) observe_after(st);
  };
  Generation g = generate(e, prompts, o, &reg, observe);
  out.tokens = std::move(g.tokens);
  return out;
}

}  // namespace glassbox::steering
