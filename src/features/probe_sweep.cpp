// probe_sweep: gather every hook's rows once, then fit and score a probe and
// its control task per (site, layer).
#include <algorithm>
#include <cmath>
#include <set>

#include "glassbox/error.h"
#include "glassbox/features/probe_metrics.h"
#include "glassbox/features/probe_sweep.h"

namespace glassbox::features {

namespace {

// Every hook of the requested sites: per-layer sites at each layer, global ones once.
std::vector<HookPoint> sweep_hooks(const Config& c, const std::vector<Site>& sites) {
  std::vector<HookPoint> out;
  std::set<Site> seen;
  for (Site s : sites) {
    if (!seen.insert(s).second) continue;
    if (!site_exists(s, c)) fail("probe: site ", to_string(s), " does not exist in this model");
    if (site_is_global(s)) out.push_back({s, -1});
    else
      for (int l = 0; l < c.n_layers; ++l) out.push_back({s, l});
  }
  if (out.empty()) fail("probe: no sites given");
  return out;
}

std::vector<float> gather(const std::vector<float>& x, int64_t d, const std::vector<int64_t>& rows) {
  std::vector<float> out(rows.size() * size_t(d));
  for (size_t i = 0; i < rows.size(); ++i)
    std::copy_n(x.begin() + rows[i] * d, d, out.begin() + int64_t(i) * d);
  return out;
}
template <class T>
std::vector<T> gather(const std::vector<T>& v, const std::vector<int64_t>& rows) {
  std::vector<T> out;
  for (int64_t r : rows) out.push_back(v[size_t(r)]);
  return out;
}

// Held-out scores of a classifier fitted to (xtr, ytr), on the classes the
// training rows have (a control task may leave one out): `probe` gets the fit
// (with compact class ids mapped back); NaN accuracy when fewer than two remain.
struct Scored {
  double accuracy = NAN, auroc = NAN, train_accuracy = NAN;
};
Scored fit_classifier(const std::vector<float>& xtr, const std::vector<int32_t>& ytr, const std::vector<float>& xte,
                      const std::vector<int32_t>& yte, int64_t d, int n_classes, const ProbeOptions& opt,
                      LinearProbe* keep) {
  std::vector<int32_t> compact(size_t(n_classes), -1), original;
  for (int32_t y : ytr) compact[size_t(y)] = 0;
  for (int c = 0; c < n_classes; ++c)
    if (compact[size_t(c)] == 0) compact[size_t(c)] = int32_t(original.size()), original.push_back(c);
  Scored s;
  if (original.size() < 2) return s;
  std::vector<int32_t> yc;
  for (int32_t y : ytr) yc.push_back(compact[size_t(y)]);
  const int64_t ntr = int64_t(ytr.size()), nte = int64_t(yte.size());
  const LinearProbe p = fit_probe(xtr.data(), yc.data(), ntr, d, int(original.size()), opt);
  auto to_original = [&](std::vector<int32_t> pred) {
    for (int32_t& v : pred) v = original[size_t(v)];
    return pred;
  };
  const std::vector<int32_t> ptr = to_original(p.predict(xtr.data(), ntr));
  s.train_accuracy = accuracy(ptr.data(), ytr.data(), ntr);
  if (nte > 0) {
    const std::vector<int32_t> pte = to_original(p.predict(xte.data(), nte));
    s.accuracy = accuracy(pte.data(), yte.data(), nte);
    std::vector<int32_t> yte_c;  // AUROC over the classes the probe knows
    for (int32_t y : yte) yte_c.push_back(compact[size_t(y)]);
    const std::vector<double> sc = p.scores(xte.data(), nte);
    std::vector<double> kept_scores;
    std::vector<int32_t> kept_y;
    for (int64_t i = 0; i < nte; ++i)
      if (yte_c[size_t(i)] >= 0) {
        kept_y.push_back(yte_c[size_t(i)]);
        kept_scores.insert(kept_scores.end(), sc.begin() + i * p.n_outputs, sc.begin() + (i + 1) * p.n_outputs);
      }
    s.auroc = probe_auroc(kept_scores.data(), p.n_outputs, kept_y.data(), int64_t(kept_y.size()), p.n_classes);
  }
  if (keep) *keep = p;
  return s;
}

struct Regressed {
  double r2 = NAN, mse = NAN;
};
Regressed fit_regression(const std::vector<float>& xtr, const std::vector<double>& ttr, const std::vector<float>& xte,
                         const std::vector<double>& tte, int64_t d, const ProbeOptions& opt, LinearProbe* keep) {
  const LinearProbe p = fit_ridge_regression(xtr.data(), ttr.data(), int64_t(ttr.size()), d, opt);
  Regressed r;
  if (!tte.empty()) {
    const std::vector<double> pred = p.scores(xte.data(), int64_t(tte.size()));
    r.r2 = r_squared(pred.data(), tte.data(), int64_t(tte.size()));
    double se = 0;
    for (size_t i = 0; i < tte.size(); ++i) se += (pred[i] - tte[i]) * (pred[i] - tte[i]);
    r.mse = se / double(tte.size());
  }
  if (keep) *keep = p;
  return r;
}

void check_labels(const LabelSet& s, const ProbeOptions& opt) {
  if (s.examples.size() < 4) fail("probe: label set '", s.name, "' has ", s.examples.size(), " examples; need at least 4");
  if (s.regression()) {
    if (opt.kind != ProbeKind::Ridge)
      fail("probe: label set '", s.name, "' has scalar targets; only a ridge probe regresses (kind ridge)");
    for (size_t i = 0; i < s.examples.size(); ++i)
      if (!std::isfinite(s.examples[i].target)) fail("probe: example ", i, " of '", s.name, "' has no finite target");
    return;
  }
  if (s.classes.size() < 2) fail("probe: label set '", s.name, "' has ", s.classes.size(), " class; need two or more");
  std::vector<int64_t> count(s.classes.size(), 0);
  for (size_t i = 0; i < s.examples.size(); ++i) {
    const int32_t y = s.examples[i].label;
    if (y < 0 || size_t(y) >= s.classes.size())
      fail("probe: example ", i, " of '", s.name, "' has label ", y, ", not one of ", s.classes.size(), " classes");
    ++count[size_t(y)];
  }
  for (size_t c = 0; c < count.size(); ++c)
    if (count[c] < 2) fail("probe: class '", s.classes[c], "' of '", s.name, "' has ", count[c], " example(s); need 2 (train and test)");
}

// Step 1: every hook's rows at the probed positions, gathered from the stream.
struct Rows {
  std::vector<HookPoint> hooks;
  std::vector<int64_t> dims;
  std::vector<std::vector<float>> x;  // per hook [rows, dim]
  std::vector<int32_t> tokens;        // per row
  std::vector<int64_t> example;       // per row
};
Rows collect_rows(Engine& e, const LabelSet& labels, const ProbeSweepOptions& opt) {
  ProbeActivations stream(e, labels, sweep_hooks(e.model().config(), opt.sites), opt.position, opt.batch_examples);
  Rows r{stream.hooks(), stream.dims(), std::vector<std::vector<float>>(stream.hooks().size()), {}, {}};
  ActivationBatch batch;
  while (stream.next(batch, 1 << 16) > 0) {
    for (size_t h = 0; h < r.hooks.size(); ++h) r.x[h].insert(r.x[h].end(), batch.sites[h].begin(), batch.sites[h].end());
    r.tokens.insert(r.tokens.end(), batch.tokens.begin(), batch.tokens.end());
    if (opt.progress) opt.progress("activations", stream.row_examples().back() + 1, int64_t(labels.examples.size()));
  }
  r.example = stream.row_examples();
  return r;
}

// Step 2: what each row is to predict, the split of the examples (rows follow
// their example), and the control task.
struct RowTask {
  Split by_example;
  std::vector<int64_t> train, test;  // rows
  std::vector<int32_t> y, control_y;
  std::vector<double> target, control_target;
};
RowTask row_task(const LabelSet& labels, const Rows& rows, const ProbeSweepOptions& opt) {
  const auto n_rows = int64_t(rows.example.size());
  RowTask t;
  std::vector<std::string> keys(static_cast<size_t>(n_rows));
  const bool every = opt.position.spec == "every";
  for (int64_t r = 0; r < n_rows; ++r) {
    const ProbeExample& ex = labels.examples[size_t(rows.example[size_t(r)])];
    t.y.push_back(ex.label);
    t.target.push_back(ex.target);
    // Hewitt & Liang key the control task by word type: the token probed,
    // unless the label set names a better type (the word of a multi-token word).
    if (!every && !ex.control_key.empty()) keys[size_t(r)] = ex.control_key;
    else keys[size_t(r)].append("#").append(std::to_string(rows.tokens[size_t(r)]));
  }
  std::vector<int32_t> ex_label;
  std::vector<std::string> groups;
  bool grouped = false;
  for (const ProbeExample& ex : labels.examples)
    ex_label.push_back(ex.label), groups.push_back(ex.group), grouped = grouped || !ex.group.empty();
  t.by_example = grouped ? group_split(groups, opt.test_fraction, opt.seed)
                         : stratified_split(labels.regression() ? nullptr : ex_label.data(),
                                            int64_t(labels.examples.size()), opt.test_fraction, opt.seed);
  std::vector<uint8_t> is_test(labels.examples.size(), 0);
  for (int64_t i : t.by_example.test) is_test[size_t(i)] = 1;
  for (int64_t r = 0; r < n_rows; ++r) (is_test[size_t(rows.example[size_t(r)])] ? t.test : t.train).push_back(r);
  const uint64_t control_seed = opt.seed ^ 0x9e3779b97f4a7c15ull;
  if (labels.regression()) t.control_target = control_targets(keys, t.target.data(), n_rows, control_seed);
  else t.control_y = control_labels(keys, t.y.data(), n_rows, control_seed);
  return t;
}

// Step 3: the probe at one hook and its control task.
ProbeCell fit_cell(HookPoint hp, int64_t d, const std::vector<float>& x, const RowTask& t, int n_classes,
                   const ProbeSweepOptions& opt) {
  ProbeCell cell;
  cell.site = hp.site;
  cell.layer = hp.layer;
  cell.hook = hp.name();
  cell.d = d;
  const std::vector<float> xtr = gather(x, d, t.train), xte = gather(x, d, t.test);
  if (n_classes == 0) {
    const Regressed task = fit_regression(xtr, gather(t.target, t.train), xte, gather(t.target, t.test), d,
                                          opt.probe, &cell.probe);
    cell.r2 = task.r2;
    cell.mse = task.mse;
    if (opt.control) {
      cell.control = fit_regression(xtr, gather(t.control_target, t.train), xte, gather(t.control_target, t.test), d,
                                    opt.probe, nullptr).r2;
      cell.selectivity = cell.r2 - cell.control;
    }
    return cell;
  }
  const Scored task =
      fit_classifier(xtr, gather(t.y, t.train), xte, gather(t.y, t.test), d, n_classes, opt.probe, &cell.probe);
  cell.accuracy = task.accuracy;
  cell.auroc = task.auroc;
  cell.train_accuracy = task.train_accuracy;
  if (opt.control) {
    cell.control = fit_classifier(xtr, gather(t.control_y, t.train), xte, gather(t.control_y, t.test), d, n_classes,
                                  opt.probe, nullptr).accuracy;
    cell.selectivity = cell.accuracy - cell.control;
  }
  return cell;
}

// Held-out accuracy of always answering the most frequent training class.
double majority_accuracy(const RowTask& t, int n_classes) {
  if (n_classes == 0 || t.test.empty()) return NAN;
  std::vector<int64_t> count(size_t(n_classes), 0);
  for (int64_t r : t.train) ++count[size_t(t.y[size_t(r)])];
  const auto majority = int32_t(std::max_element(count.begin(), count.end()) - count.begin());
  int64_t right = 0;
  for (int64_t r : t.test) right += t.y[size_t(r)] == majority;
  return double(right) / double(t.test.size());
}

}  // namespace

ProbeSweep probe_sweep(Engine& e, const LabelSet& labels, const ProbeSweepOptions& opt) {
  check_labels(labels, opt.probe);
  const Rows rows = collect_rows(e, labels, opt);
  const RowTask t = row_task(labels, rows, opt);
  const int n_classes = int(labels.classes.size());
  ProbeSweep out;
  out.label_set = labels.name;
  out.model = e.model().source();
  out.position = opt.position.spec;
  out.kind = labels.regression() ? ProbeKind::Ridge : opt.probe.kind;
  out.classes = labels.classes;
  out.n_examples = int64_t(labels.examples.size());
  out.n_train = int64_t(t.by_example.train.size());
  out.n_test = int64_t(t.by_example.test.size());
  out.n_train_rows = int64_t(t.train.size());
  out.n_test_rows = int64_t(t.test.size());
  out.n_layers = e.model().config().n_layers;
  out.majority = majority_accuracy(t, n_classes);
  for (size_t h = 0; h < rows.hooks.size(); ++h) {
    out.cells.push_back(fit_cell(rows.hooks[h], rows.dims[h], rows.x[h], t, n_classes, opt));
    if (opt.progress) opt.progress("probes", int64_t(h + 1), int64_t(rows.hooks.size()));
  }
  return out;
}

}  // namespace glassbox::features
