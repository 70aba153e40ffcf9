// The analyses as functions of a model: each returns what the CLI prints
// with --json, as Python dicts and lists, with grids and per-head /
// per-neuron tables as numpy arrays. Arguments arrive already resolved by
// glassbox/analysis.py (token texts -> ids, metric dicts).
#include <pybind11/stl.h>

#include "bind.h"
#include "glassbox/analysis/circuit.h"
#include "glassbox/analysis/cross_model.h"
#include "glassbox/analysis/dla.h"
#include "glassbox/analysis/head_circuits.h"
#include "glassbox/analysis/head_detectors.h"
#include "glassbox/analysis/logit_lens.h"
#include "glassbox/analysis/patching_compare.h"
#include "glassbox/analysis/path_patching.h"
#include "glassbox/analysis/tuned_lens.h"
#include "glassbox/error.h"
#include "glassbox/generate.h"

namespace glassbox::py {

namespace {

using namespace glassbox::analysis;

// A patching grid's JSON with its values as a [n_layers, n_cols] array.
pyb::dict grid_dict(const PatchGrid& g) {
  pyb::dict d = from_json(g.to_json());
  d["values"] = to_array(g.values, {g.n_layers, g.n_cols});
  return d;
}

LogitLensOptions lens_options(int top_k, int64_t row, std::vector<int64_t> positions, std::vector<int32_t> targets) {
  LogitLensOptions o;
  o.top_k = top_k;
  o.row = row;
  o.positions = std::move(positions);
  o.targets = std::move(targets);
  return o;
}

PatchMetric metric_from(const pyb::handle& metric) { return PatchMetric::from_json(to_json(metric)); }

}  // namespace

void bind_analysis(pyb::module_& m) {
  m.def("logit_lens",
        [](ModelHandle& h, const pyb::handle& tokens, int top_k, int64_t row, std::vector<int64_t> positions,
           std::vector<int32_t> targets) {
          const Batch b = to_batch(h.model, tokens, "tokens");
          const auto o = lens_options(top_k, row, std::move(positions), std::move(targets));
          return from_json(with_engine(h, [&](Engine& e) { return logit_lens(e, b, o); }).to_json());
        },
        pyb::arg("model"), pyb::arg("tokens"), pyb::arg("top_k") = 5, pyb::arg("row") = 0,
        pyb::arg("positions") = std::vector<int64_t>{}, pyb::arg("targets") = std::vector<int32_t>{});

  m.def("tuned_lens",
        [](ModelHandle& h, const std::string& lens_dir, const pyb::handle& tokens, int top_k, int64_t row,
           std::vector<int64_t> positions, std::vector<int32_t> targets) {
          const TunedLens lens = TunedLens::load(lens_dir);
          lens.check_fits(h.model.config(), lens_dir.c_str());
          const Batch b = to_batch(h.model, tokens, "tokens");
          const auto o = lens_options(top_k, row, std::move(positions), std::move(targets));
          return from_json(with_engine(h, [&](Engine& e) { return tuned_lens(e, lens, b, o); }).to_json());
        },
        pyb::arg("model"), pyb::arg("lens"), pyb::arg("tokens"), pyb::arg("top_k") = 5, pyb::arg("row") = 0,
        pyb::arg("positions") = std::vector<int64_t>{}, pyb::arg("targets") = std::vector<int32_t>{});

  // As `glassbox tuned-lens train`: the last 10% of the tokens are held out for the comparison.
  m.def("train_tuned_lens",
        [](ModelHandle& h, const std::string& out, std::vector<int32_t> tokens, int64_t sample, int steps,
           uint64_t seed) {
          return from_json(with_engine(h, [&](Engine& e) {
            if (tokens.empty()) {
              if (sample <= 0) fail("train_tuned_lens: give tokens or sample=N (tokens the model writes itself)");
              tokens = sample_token_stream(e, sample, seed);
            }
            const size_t held = tokens.size() / 10;
            const std::vector<int32_t> train(tokens.begin(), tokens.end() - std::ptrdiff_t(held));
            const std::vector<int32_t> test(tokens.end() - std::ptrdiff_t(held), tokens.end());
            if (test.size() < 2) fail("train_tuned_lens: too little text: ", tokens.size(), " tokens (the last 10% is held out)");
            TunedLens lens = TunedLens::identity(e.model());
            lens.base_model = e.model().source();
            TunedLensTrainOptions to;
            to.steps = steps;
            to.seed = seed;
            to.seq_len = std::min<int64_t>(to.seq_len, e.model().config().n_ctx);
            const std::vector<double> losses = train_tuned_lens(e, lens, train, to);
            lens.save(out);
            const LensComparison cmp = compare_lenses(e, lens, test, to.seq_len);
            return nlohmann::json{{"out", out}, {"train_tokens", train.size()}, {"steps", steps},
                                  {"losses", losses}, {"comparison", cmp.to_json()}};
          }));
        },
        pyb::arg("model"), pyb::arg("out"), pyb::arg("tokens") = std::vector<int32_t>{}, pyb::arg("sample") = 0,
        pyb::arg("steps") = 250, pyb::arg("seed") = 0);

  m.def("dla",
        [](ModelHandle& h, const pyb::handle& tokens, std::vector<int32_t> answer, std::vector<int32_t> wrong,
           int64_t pos, bool heads, bool neurons) {
          const Batch b = to_batch(h.model, tokens, "tokens");
          DlaOptions o;
          o.pos = pos;
          o.answer = std::move(answer);
          o.wrong = std::move(wrong);
          o.heads = heads;
          o.neurons = neurons;
          const DlaResult r = with_engine(h, [&](Engine& e) { return direct_logit_attribution(e, b, o); });
          pyb::dict d;
          d["technique"] = "dla";
          pyb::dict by_layer;  // insertion order = the residual stream's order
          for (const DlaComponent& c : r.by_layer) by_layer[pyb::str(c.name)] = c.value;
          d["by_layer"] = by_layer;
          d["logit"] = r.logit;
          d["sum"] = r.sum();
          if (!r.by_head.empty()) {
            d["by_head"] = to_array(r.by_head, {r.n_layers, r.n_heads});
            d["head_bias"] = to_array(r.head_bias, {r.n_layers});
          }
          if (!r.by_neuron.empty()) {
            d["by_neuron"] = to_array(r.by_neuron, {r.n_layers, r.d_mlp});
            d["neuron_bias"] = to_array(r.neuron_bias, {r.n_layers});
          }
          return d;
        },
        pyb::arg("model"), pyb::arg("tokens"), pyb::arg("answer"), pyb::arg("wrong") = std::vector<int32_t>{},
        pyb::arg("pos") = -1, pyb::arg("heads") = true, pyb::arg("neurons") = true);

  m.def("patching",
        [](ModelHandle& h, const pyb::handle& clean, const pyb::handle& corrupt, const pyb::handle& metric,
           const std::vector<std::string>& sites, const std::string& direction, bool activation, bool attribution) {
          const Batch bc = to_batch(h.model, clean, "clean"), bx = to_batch(h.model, corrupt, "corrupt");
          PatchingOptions o;
          o.metric = metric_from(metric);
          o.direction = from_string<PatchDirection>(direction);
          std::vector<Site> ss;
          for (const std::string& s : sites) ss.push_back(from_string<Site>(s));
          const PatchRun run =
              with_engine(h, [&](Engine& e) { return run_patching(e, bc, bx, ss, o, activation, attribution); });
          pyb::dict d;
          pyb::list grids;
          for (const PatchGrid& g : run.grids()) grids.append(grid_dict(g));
          d["metric"] = from_json(o.metric.to_json());
          d["grids"] = grids;
          if (activation && attribution) d["correlation"] = from_json(run.correlation);
          return d;
        },
        pyb::arg("model"), pyb::arg("clean"), pyb::arg("corrupt"), pyb::arg("metric"), pyb::arg("sites"),
        pyb::arg("direction") = "denoise", pyb::arg("activation") = true, pyb::arg("attribution") = false);

  // receivers: (layer, head, "q" | "k" | "v"), layer -1 for the final residual stream.
  auto receivers_from = [](const std::vector<std::tuple<int, int, std::string>>& rs) {
    std::vector<PathReceiver> out;
    for (const auto& [l, hd, input] : rs) {
      if (l < 0) {
        out.push_back(PathReceiver::resid_final());
        continue;
      }
      if (input != "q" && input != "k" && input != "v") fail("receivers: input '", input, "' is not q, k or v");
      out.push_back(PathReceiver::head_input(l, hd, input == "q" ? Site::q : input == "k" ? Site::k : Site::v));
    }
    return out;
  };
  m.def("path_patching",
        [receivers_from](ModelHandle& h, const pyb::handle& clean, const pyb::handle& corrupt, const pyb::handle& metric,
                         const std::vector<std::tuple<int, int, std::string>>& receivers, const std::string& direction,
                         bool freeze_mlps) {
          const Batch bc = to_batch(h.model, clean, "clean"), bx = to_batch(h.model, corrupt, "corrupt");
          PathPatchingOptions o;
          o.metric = metric_from(metric);
          o.direction = from_string<PatchDirection>(direction);
          o.freeze_mlps = freeze_mlps;
          const auto rs = receivers_from(receivers);
          return grid_dict(with_engine(h, [&](Engine& e) { return path_patching(e, bc, bx, rs, o); }));
        },
        pyb::arg("model"), pyb::arg("clean"), pyb::arg("corrupt"), pyb::arg("metric"), pyb::arg("receivers"),
        pyb::arg("direction") = "noise", pyb::arg("freeze_mlps") = false);
  m.def("path_patch",
        [receivers_from](ModelHandle& h, const pyb::handle& clean, const pyb::handle& corrupt, const pyb::handle& metric,
                         const std::vector<std::pair<int, int>>& senders,
                         const std::vector<std::tuple<int, int, std::string>>& receivers, const std::string& direction,
                         bool freeze_mlps) {
          const Batch bc = to_batch(h.model, clean, "clean"), bx = to_batch(h.model, corrupt, "corrupt");
          PathPatchingOptions o;
          o.metric = metric_from(metric);
          o.direction = from_string<PatchDirection>(direction);
          o.freeze_mlps = freeze_mlps;
          std::vector<HeadRef> ss;
          for (const auto& [l, hd] : senders) ss.push_back({l, hd});
          const auto rs = receivers_from(receivers);
          return with_engine(h, [&](Engine& e) { return path_patch(e, bc, bx, ss, rs, o); });
        },
        pyb::arg("model"), pyb::arg("clean"), pyb::arg("corrupt"), pyb::arg("metric"), pyb::arg("senders"),
        pyb::arg("receivers"), pyb::arg("direction") = "noise", pyb::arg("freeze_mlps") = false);

  m.def("circuit",
        [](ModelHandle& h, const pyb::handle& clean, const pyb::handle& source, const pyb::handle& metric,
           const std::string& method, const std::string& ablation, const std::string& criterion, double threshold,
           int ig_steps, int64_t keep_top, double target_faithfulness, int curve_points) {
          const Batch bc = to_batch(h.model, clean, "clean");
          CircuitOptions o;
          o.method = from_string<CircuitMethod>(method);
          o.ablation = from_string<AblationKind>(ablation);
          o.criterion = from_string<CircuitCriterion>(criterion);
          o.metric = metric_from(metric);
          o.threshold = threshold;
          o.ig_steps = ig_steps;
          o.keep_top = keep_top;
          o.target_faithfulness = target_faithfulness;
          o.curve_points = curve_points;
          // Zero ablation reads no source; the clean batch stands in.
          const Batch bs = source.is_none() ? bc : to_batch(h.model, source, "source");
          return from_json(with_engine(h, [&](Engine& e) { return discover_circuit(e, bc, bs, o); }).to_json());
        },
        pyb::arg("model"), pyb::arg("clean"), pyb::arg("source"), pyb::arg("metric"), pyb::arg("method") = "eap-ig",
        pyb::arg("ablation") = "resample", pyb::arg("criterion") = "kl", pyb::arg("threshold") = 0.01,
        pyb::arg("ig_steps") = 5, pyb::arg("keep_top") = 0, pyb::arg("target_faithfulness") = 0.9,
        pyb::arg("curve_points") = 16);

  m.def("head_detectors",
        [](ModelHandle& h, const pyb::handle& tokens, const std::vector<std::string>& patterns, int64_t seq_len,
           int64_t rows, uint64_t seed, bool exclude_bos, bool exclude_current_token, bool matched_rows_only) {
          const Model& mdl = h.model;
          Batch b;
          if (tokens.is_none()) {
            const int64_t seq = seq_len > 0 ? seq_len : repeated_length_that_fits(mdl, 20);
            if (seq < 1) fail("head_detectors: the model's context of ", mdl.config().n_ctx, " tokens has no room for a repeated sequence");
            b = repeated_random_tokens(mdl, seq, rows, seed);
          } else {
            b = to_batch(mdl, tokens, "tokens");
          }
          std::vector<HeadPattern> ps;
          for (const std::string& p : patterns) ps.push_back(from_string<HeadPattern>(p));
          HeadDetectorOptions o;
          o.exclude_bos = exclude_bos;
          o.exclude_current_token = exclude_current_token;
          o.matched_rows_only = matched_rows_only;
          const auto scores = with_engine(h, [&](Engine& e) { return head_detection_scores(e, b, ps, o); });
          pyb::dict d;
          for (const HeadScores& s : scores) d[pyb::str(s.name)] = to_array(s.scores, {s.n_layers, s.n_heads});
          return d;
        },
        pyb::arg("model"), pyb::arg("tokens") = pyb::none(),
        pyb::arg("patterns") = std::vector<std::string>{"previous_token", "duplicate_token", "induction"},
        pyb::arg("seq_len") = 0, pyb::arg("rows") = 4, pyb::arg("seed") = 0, pyb::arg("exclude_bos") = false,
        pyb::arg("exclude_current_token") = false, pyb::arg("matched_rows_only") = true);

  // `glassbox compare`'s head roles: the detector scores (and copying) of several models side by side.
  m.def("head_roles",
        [](const std::vector<ModelPtr>& models, const std::vector<std::string>& names, int64_t seq, int64_t rows,
           uint64_t seed, bool copying) {
          std::vector<const Model*> ms;
          for (const ModelPtr& p : models) ms.push_back(&p->model);  // read only: no engine lock needed
          RoleOptions o;
          o.seq = seq;
          o.rows = rows;
          o.seed = seed;
          o.copying = copying;
          const RoleTable t = [&] {
            pyb::gil_scoped_release release;
            return head_roles(ms, names, o);
          }();
          return from_json(t.to_json());
        },
        pyb::arg("models"), pyb::arg("names"), pyb::arg("seq") = 20, pyb::arg("rows") = 8, pyb::arg("seed") = 1,
        pyb::arg("copying") = true);

  m.def("copying_scores",
        [](ModelHandle& h, const std::vector<int32_t>& tokens) {
          const HeadScores s = [&] {
            pyb::gil_scoped_release release;
            return copying_scores(h.model, tokens);
          }();
          return to_array(s.scores, {s.n_layers, s.n_heads});
        },
        pyb::arg("model"), pyb::arg("tokens") = std::vector<int32_t>{});
  auto token_matrix = [](const TokenMatrix& t) {
    const int64_t n = int64_t(t.tokens.size());
    return pyb::make_tuple(to_array(t.values, {n, n}), pyb::array_t<int32_t>(pyb::ssize_t(n), t.tokens.data()));
  };
  m.def("ov_circuit",
        [token_matrix](ModelHandle& h, int layer, int head, const std::vector<int32_t>& tokens) {
          return token_matrix(ov_circuit(h.model, layer, head, tokens));
        },
        pyb::arg("model"), pyb::arg("layer"), pyb::arg("head"), pyb::arg("tokens") = std::vector<int32_t>{});
  m.def("qk_circuit",
        [token_matrix](ModelHandle& h, int layer, int head, const std::vector<int32_t>& tokens) {
          return token_matrix(qk_circuit(h.model, layer, head, tokens));
        },
        pyb::arg("model"), pyb::arg("layer"), pyb::arg("head"), pyb::arg("tokens") = std::vector<int32_t>{});
}

}  // namespace glassbox::py
