// glassbox.Model in C++ (_glassbox.Model): loading, tokens, forward passes
// with caches, Python hooks and interventions, generation, gradients at hook
// sites, and zero-copy weight views. glassbox/__init__.py wraps it in the
// TransformerLens-shaped API.
#include <cstring>
#include <map>

#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/cache.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"
#include "glassbox/metrics.h"
#include "glassbox/analysis/patching.h"
#include "glassbox/tokenizer.h"

namespace glassbox::py {

namespace {

const Tokenizer& tokenizer_of(const ModelHandle& h) {
  if (!h.model.tokenizer())
    fail(h.model.source(), ": model has no tokenizer (tokenizer.json, vocab.json + merges.txt or GGUF metadata)");
  return *h.model.tokenizer();
}

// Hooks of one call: interventions first (registration order = firing
// order), then the Python hooks, which thus see the intervened activation.
struct CallHooks {
  explicit CallHooks(const Config& c) : reg(c) {}
  HookRegistry reg;
  std::vector<Intervention> interventions;
  std::vector<HookHandle> handles;
  void add(const pyb::handle& interventions_arg, const pyb::handle& fwd_hooks) {
    interventions = to_interventions(interventions_arg);
    handles = attach(reg, interventions);
    for (auto& h : attach_python_hooks(reg, fwd_hooks)) handles.push_back(std::move(h));
  }
};

pyb::list named_arrays(const std::vector<std::pair<std::string, Tensor>>& xs, bool raw) {
  pyb::list out;
  for (const auto& [name, t] : xs)
    out.append(pyb::make_tuple(name, raw ? tensor_view(t, "activation " + name) : tensor_as_float(t, "activation " + name)));
  return out;
}

// TransformerLens' state-dict names -> read-only views of the model's weights.
pyb::dict weight_views(const ModelPtr& h) {
  const Config& c = h->model.config();
  const Weights& w = h->model.weights();
  pyb::dict d;
  const int64_t D = c.d_model;
  auto vec = [&](const std::string& name, const float* p, int64_t n) {
    if (p) d[pyb::str(name)] = weight_view(h, p, {n}, {1});
  };
  auto mat = [&](const std::string& name, const MatRef& m) {
    if (m.data) d[pyb::str(name)] = weight_view(h, m.data, {m.rows, m.cols}, {m.rs, m.cs});
  };
  auto heads = [&](const std::string& l, const char* wname, const char* bname, const HeadProj& p) {
    if (p.w) d[pyb::str(l + wname)] = weight_view(h, p.w, {p.n_heads, p.d_model, p.d_head}, {p.head_stride, p.rs, p.cs});
    if (p.b) d[pyb::str(l + bname)] = weight_view(h, p.b, {p.n_heads, p.d_head}, {p.b_head_stride, 1});
  };
  if (w.W_E) d["embed.W_E"] = weight_view(h, w.W_E, {c.d_vocab, D}, {D, 1});
  if (w.W_pos) d["pos_embed.W_pos"] = weight_view(h, w.W_pos, {c.n_ctx, D}, {D, 1});
  for (int l = 0; l < c.n_layers; ++l) {
    const LayerWeights& lw = w.layers[size_t(l)];
    const std::string p = "blocks." + std::to_string(l) + ".";
    vec(p + "ln1.w", lw.ln1_w, D);
    vec(p + "ln1.b", lw.ln1_b, D);
    vec(p + "ln2.w", lw.ln2_w, D);
    vec(p + "ln2.b", lw.ln2_b, D);
    heads(p, "attn.W_Q", "attn.b_Q", lw.W_Q);
    heads(p, "attn.W_K", "attn.b_K", lw.W_K);
    heads(p, "attn.W_V", "attn.b_V", lw.W_V);
    if (lw.W_O.data)  // [n_heads * d_head, d_model] as TransformerLens' [n_heads, d_head, d_model]
      d[pyb::str(p + "attn.W_O")] = weight_view(h, lw.W_O.data, {c.n_heads, c.d_head, D},
                                                {c.d_head * lw.W_O.rs, lw.W_O.rs, lw.W_O.cs});
    vec(p + "attn.b_O", lw.b_O, D);
    mat(p + "mlp.W_in", lw.W_in);
    mat(p + "mlp.W_gate", lw.W_gate);
    mat(p + "mlp.W_out", lw.W_out);
    vec(p + "mlp.b_in", lw.b_in, c.d_mlp);
    vec(p + "mlp.b_gate", lw.b_gate, c.d_mlp);
    vec(p + "mlp.b_out", lw.b_out, D);
  }
  vec("ln_final.w", w.ln_final_w, D);
  vec("ln_final.b", w.ln_final_b, D);
  mat("unembed.W_U", w.W_U);
  vec("unembed.b_U", w.b_U, c.d_vocab);
  return d;
}

}  // namespace

void bind_model(pyb::module_& m) {
  pyb::class_<CacheRef, std::shared_ptr<CacheRef>>(m, "CacheRef", "The C++ cache behind an ActivationCache")
      .def("save", [](const CacheRef& r, const std::string& path) { r.cache->save(path); }, pyb::arg("path"),
           "Writes glassbox's cache file (safetensors named by hook; atomic)")
      .def("nbytes", [](const CacheRef& r) { return r.cache->nbytes(); });
  m.def("act_name",
        [](const std::string& site, int layer) {
          const Site s = from_string<Site>(site);
          if (site_is_global(s) && layer >= 0) fail("act_name: ", site, " is not a per-layer site; give no layer");
          if (!site_is_global(s) && layer < 0) fail("act_name: ", site, " needs a layer");
          return HookPoint{s, site_is_global(s) ? -1 : layer}.name();
        },
        pyb::arg("site"), pyb::arg("layer") = -1);
  pyb::class_<ModelHandle, ModelPtr>(m, "Model", "A loaded model and its engine (use glassbox.load)")
      .def(pyb::init<const std::string&>(), pyb::arg("path"))
      .def_property_readonly("source", [](const ModelHandle& h) { return h.model.source(); })
      .def_property_readonly("n_params", [](const ModelHandle& h) { return h.model.n_params(); })
      .def("config_json", [](const ModelHandle& h) { return from_json(to_json(h.model.config())); })
      .def_property_readonly("has_tokenizer", [](const ModelHandle& h) { return h.model.tokenizer() != nullptr; })
      .def("hook_names",
           [](const ModelHandle& h) {
             std::vector<std::string> names;
             for (const HookPoint& p : all_hook_points(h.model.config())) names.push_back(p.name());
             return names;
           })
      .def("match_hooks",
           [](const ModelHandle& h, const std::string& pattern) {
             std::vector<std::string> names;
             for (const HookPoint& p : match_hooks(pattern, h.model.config())) names.push_back(p.name());
             return names;
           })
      // ---- tokens
      .def("encode",
           [](const ModelHandle& h, const std::string& text, bool add_special) {
             const std::vector<int32_t> ids = tokenizer_of(h).encode(text, add_special);
             return pyb::array_t<int32_t>(pyb::ssize_t(ids.size()), ids.data());
           },
           pyb::arg("text"), pyb::arg("add_special") = true)
      .def("encode_after_bos",  // glassbox::with_bos: the BOS first unless the text starts with it
           [](const ModelHandle& h, const std::string& text) {
             const Tokenizer& tok = tokenizer_of(h);
             const std::vector<int32_t> ids = with_bos(tok, tok.encode(text, false));
             return pyb::array_t<int32_t>(pyb::ssize_t(ids.size()), ids.data());
           },
           pyb::arg("text"))
      .def("decode",
           [](const ModelHandle& h, const pyb::handle& tokens) {
             const std::vector<int32_t> ids = to_ids(h.model, tokens, "tokens");
             return from_json(tokenizer_of(h).decode(ids));
           })
      .def("token_text",
           [](const ModelHandle& h, int32_t id) {
             if (id < 0 || id >= h.model.config().d_vocab)
               fail("token id ", id, " is outside the model's vocabulary of ", h.model.config().d_vocab);
             return from_json(tokenizer_of(h).token_to_bytes(id));
           })
      .def("token_id",
           [](const ModelHandle& h, const std::string& piece) -> pyb::object {
             const auto id = tokenizer_of(h).token_id(piece);
             return id ? pyb::object(pyb::int_(*id)) : pyb::object(pyb::none());
           })
      .def_property_readonly("bos_id", [](const ModelHandle& h) { return h.model.tokenizer() ? h.model.tokenizer()->bos_id() : -1; })
      .def_property_readonly("eos_id", [](const ModelHandle& h) { return h.model.tokenizer() ? h.model.tokenizer()->eos_id() : -1; })
      // ---- passes
      .def("forward",
           [](ModelHandle& h, const pyb::handle& tokens, const pyb::handle& interventions, const pyb::handle& fwd_hooks) {
             const Batch b = to_batch(h.model, tokens, "tokens");
             CallHooks hooks(h.model.config());
             hooks.add(interventions, fwd_hooks);
             Tensor logits = with_engine(h, [&](Engine& e) { return e.forward(b, &hooks.reg).logits; });
             return tensor_view(logits, "logits");
           },
           pyb::arg("tokens"), pyb::arg("interventions") = pyb::none(), pyb::arg("fwd_hooks") = pyb::none())
      .def("loss",
           [](ModelHandle& h, const pyb::handle& tokens, const pyb::handle& interventions, const pyb::handle& fwd_hooks) {
             const Batch b = to_batch(h.model, tokens, "tokens");
             CallHooks hooks(h.model.config());
             hooks.add(interventions, fwd_hooks);
             return with_engine(h, [&](Engine& e) { return next_token_loss(e.forward(b, &hooks.reg).logits, b); });
           },
           pyb::arg("tokens"), pyb::arg("interventions") = pyb::none(), pyb::arg("fwd_hooks") = pyb::none(),
           "Mean next-token cross-entropy (nats) over the valid positions")
      .def("run_with_cache",
           [](ModelHandle& h, const pyb::handle& tokens, std::vector<std::string> names, std::vector<int64_t> positions,
              const std::string& dtype, bool raw, const pyb::handle& interventions, const pyb::handle& fwd_hooks) {
             const Batch b = to_batch(h.model, tokens, "tokens");
             CacheOptions o;
             o.names = std::move(names);
             o.positions = std::move(positions);
             o.dtype = from_string<DType>(dtype);
             CallHooks hooks(h.model.config());
             hooks.add(interventions, fwd_hooks);
             auto c = std::make_shared<const ActivationCache>(
                 with_engine(h, [&](Engine& e) { return run_with_cache(e, b, o, &hooks.reg); }));
             return pyb::make_tuple(tensor_view(c->logits, "logits"), named_arrays(c->entries, raw),
                                    tensor_view(c->tokens, "tokens"), std::make_shared<CacheRef>(CacheRef{c}));
           },
           pyb::arg("tokens"), pyb::arg("names") = std::vector<std::string>{}, pyb::arg("positions") = std::vector<int64_t>{},
           pyb::arg("dtype") = "f32", pyb::arg("raw") = false, pyb::arg("interventions") = pyb::none(),
           pyb::arg("fwd_hooks") = pyb::none())
      .def("generate",
           [](ModelHandle& h, const pyb::handle& tokens, int max_new_tokens, float temperature, int top_k, float top_p,
              uint64_t seed, std::vector<int32_t> stop_tokens, const pyb::handle& interventions,
              const pyb::handle& fwd_hooks, const pyb::handle& profile) -> pyb::object {
             const Batch b = to_batch(h.model, tokens, "prompt");
             std::vector<std::vector<int32_t>> prompts(size_t(b.B));
             for (int64_t r = 0; r < b.B; ++r)
               for (int64_t t = 0; t < b.T; ++t)
                 if (b.valid(r, t)) prompts[size_t(r)].push_back(b.tokens[size_t(r * b.T + t)]);
             SamplingOptions so;
             so.max_new_tokens = max_new_tokens;
             so.temperature = temperature;
             so.top_k = top_k;
             so.top_p = top_p;
             so.seed = seed;
             so.stop_tokens = std::move(stop_tokens);
             const auto rows = [](const std::vector<std::vector<int32_t>>& tokens) {
               pyb::list out;
               for (const auto& row : tokens) out.append(pyb::array_t<int32_t>(pyb::ssize_t(row.size()), row.data()));
               return out;
             };
             if (!profile.is_none()) {
               // A request of its own: the profile's Engine and hooks over the
               // shared weights, so no engine lock, only the GIL released.
               if (!interventions.is_none() || !fwd_hooks.is_none())
                 fail("generate: give a profile or interventions / fwd_hooks, not both (a profile holds its interventions)");
               const steering::Profile p = to_profile(profile);
               steering::MonitoredGeneration g;
               {
                 pyb::gil_scoped_release release;
                 g = steering::generate_with_profile(h.model, prompts, so, p);
               }
               pyb::dict out = from_json(g.to_json());
               out["tokens"] = rows(g.tokens);
               return pyb::object(std::move(out));
             }
             CallHooks hooks(h.model.config());
             hooks.add(interventions, fwd_hooks);
             const Generation g = with_engine(h, [&](Engine& e) { return generate(e, prompts, so, &hooks.reg); });
             return rows(g.tokens);
           },
           pyb::arg("tokens"), pyb::arg("max_new_tokens") = 32, pyb::arg("temperature") = 1.0f, pyb::arg("top_k") = 0,
           pyb::arg("top_p") = 1.0f, pyb::arg("seed") = 0, pyb::arg("stop_tokens") = std::vector<int32_t>{},
           pyb::arg("interventions") = pyb::none(), pyb::arg("fwd_hooks") = pyb::none(),
           pyb::arg("profile") = pyb::none())
      .def("grad",
           [](ModelHandle& h, const pyb::handle& tokens, const pyb::handle& metric, const std::vector<std::string>& sites,
              const pyb::handle& interventions, const pyb::handle& fwd_hooks) {
             const Batch b = to_batch(h.model, tokens, "tokens");
             const Config& c = h.model.config();
             // The seed of backward: d metric / d logits.
             enum { Loss, Metric, Seed } kind = Loss;
             analysis::PatchMetric pm;
             pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast> seed;
             if (pyb::isinstance<pyb::str>(metric)) {
               if (metric.cast<std::string>() != "loss")
                 fail("grad: metric '", metric.cast<std::string>(), "': expected \"loss\", a metric dict or a dlogits array");
             } else if (pyb::isinstance<pyb::dict>(metric)) {
               kind = Metric;
               pm = analysis::PatchMetric::from_json(to_json(metric));
             } else {
               kind = Seed;
               seed = pyb::array_t<float, pyb::array::c_style | pyb::array::forcecast>::ensure(metric);
               if (!seed) fail("grad: metric must be \"loss\", a metric dict or a dlogits array");
             }
             std::vector<HookPoint> points;
             for (const std::string& s : sites)
               for (const HookPoint& p : match_hooks(s, c)) points.push_back(p);
             if (points.empty()) fail("grad: no sites given");
             CallHooks hooks(c);
             hooks.add(interventions, fwd_hooks);
             std::map<HookPoint, Tensor> grads;
             for (const HookPoint& p : points) {
               if (grads.count(p)) continue;
               grads[p] = Tensor();
               hooks.handles.push_back(hooks.reg.add(
                   p,
                   [&grads, p](TensorView& g, const HookContext&) {
                     Tensor& t = grads[p];
                     if (!t.data) t = Tensor::zeros(g.shape);
                     float* dst = t.f32();
                     for (int64_t i = 0; i < g.numel(); ++i) dst[i] += g.data[i];
                   },
                   HookMode::Grad));
             }
             double value = 0;
             with_engine(h, [&](Engine& e) {
               ForwardOptions fo;
               fo.for_backward = true;
               const ForwardResult fwd = e.forward(b, &hooks.reg, nullptr, fo);
               Tensor dlogits;
               if (kind == Loss) {
                 value = next_token_loss(fwd.logits, b, &dlogits);
               } else if (kind == Metric) {
                 value = pm.value(fwd.logits, b.T, &dlogits);
               } else {
                 if (Shape(seed.shape(), seed.shape() + seed.ndim()) != fwd.logits.shape)
                   fail("grad: the dlogits array has shape ", shape_str(Shape(seed.shape(), seed.shape() + seed.ndim())),
                        ", the logits ", shape_str(fwd.logits.shape));
                 dlogits = Tensor::from_f32(seed.data(), fwd.logits.shape);
                 const float* z = fwd.logits.f32();
                 for (int64_t i = 0; i < fwd.logits.numel(); ++i) value += double(z[i]) * seed.data()[i];
               }
               e.backward(b, fwd, dlogits.f32(), &hooks.reg);
               return 0;
             });
             pyb::list out;
             for (const HookPoint& p : points) {
               const Tensor& t = grads.at(p);
               if (!t.data) fail("grad: no gradient reached ", p.name(), " (the metric does not depend on it)");
             }
             for (const auto& [p, t] : grads) out.append(pyb::make_tuple(p.name(), tensor_view(t, "gradient at " + p.name())));
             return pyb::make_tuple(value, out);
           },
           pyb::arg("tokens"), pyb::arg("metric"), pyb::arg("sites"), pyb::arg("interventions") = pyb::none(),
           pyb::arg("fwd_hooks") = pyb::none())
      .def("weights", [](const ModelPtr& h) { return weight_views(h); },
           "Read-only views of the weights under TransformerLens' state-dict names (no copies)");
}

}  // namespace glassbox::py
