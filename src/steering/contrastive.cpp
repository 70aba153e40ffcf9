// Directions from contrastive pairs and labelled sets: the texts become a
// features::LabelSet, features::ProbeActivations reads every layer's site in
// one pass per batch, and difference.cpp turns the rows into directions.
#include "glassbox/steering/contrastive.h"

#include <algorithm>
#include <numeric>

#include "glassbox/error.h"
#include "glassbox/features/probe_metrics.h"
#include "glassbox/features/probe_sweep.h"
#include "glassbox/json_file.h"
#include "glassbox/tokenizer.h"

namespace glassbox::steering {

namespace {

constexpr enum_table::Names<ReadAt, 2> kReadAtNames = {{ReadAt::Last, "last"},
                                                       {ReadAt::CompletionMean, "completion-mean"}};

std::vector<HookPoint> steering_hooks(const Config& c, const BuildOptions& opt) {
  if (!site_exists(opt.site, c)) fail("steering: site ", to_string(opt.site), " does not exist in this model");
  std::vector<int> layers = opt.layers;
  if (layers.empty())
    for (int l = 0; l < c.n_layers; ++l) layers.push_back(l);
  std::vector<HookPoint> hooks;
  for (int l : layers) {
    if (l < 0 || l >= c.n_layers)
      fail("steering: layer ", l, " is out of range (the model has layers 0..", c.n_layers - 1, ")");
    hooks.push_back({opt.site, l});
  }
  return hooks;
}

// One row per example and hook: rows[h] is [examples, d]. With `spans`
// (first token, end) per example the row is the mean over the span;
// otherwise `position` picks one row per example.
std::vector<std::vector<float>> read_rows(Engine& e, const features::LabelSet& set,
                                          const std::vector<HookPoint>& hooks, const std::string& position,
                                          const std::vector<std::pair<int64_t, int64_t>>& spans,
                                          const BuildOptions& opt) {
  const int64_t n = int64_t(set.examples.size());
  const int64_t n_ctx = e.model().config().n_ctx;
  for (int64_t i = 0; i < n; ++i)
    if (int64_t(set.examples[size_t(i)].tokens.size()) > n_ctx)
      fail("steering: text ", i, " has ", set.examples[size_t(i)].tokens.size(), " tokens, more than the context (",
           n_ctx, ")");
  features::ProbeActivations acts(e, set, hooks, {spans.empty() ? position : "every"}, opt.batch);
  const std::vector<int64_t>& dims = acts.dims();
  std::vector<std::vector<double>> sum(hooks.size());
  for (size_t h = 0; h < hooks.size(); ++h) sum[h].assign(size_t(n * dims[h]), 0.0);
  std::vector<int64_t> count(size_t(n), 0), token(size_t(n), 0);
  features::ActivationBatch b;
  size_t seen = 0;
  while (acts.next(b, 4096) > 0) {
    const auto& ex = acts.row_examples();
    for (int64_t r = 0; r < b.rows; ++r) {
      const int64_t i = ex[seen + size_t(r)];
      const int64_t t = token[size_t(i)]++;
      if (!spans.empty() && (t < spans[size_t(i)].first || t >= spans[size_t(i)].second)) continue;
      ++count[size_t(i)];
      for (size_t h = 0; h < hooks.size(); ++h) {
        const float* row = b.sites[h].data() + r * dims[h];
        double* dst = sum[h].data() + i * dims[h];
        for (int64_t j = 0; j < dims[h]; ++j) dst[j] += row[j];
      }
    }
    seen += size_t(b.rows);
    if (opt.progress && !ex.empty()) opt.progress(ex.back() + 1, n);
  }
  std::vector<std::vector<float>> out(hooks.size());
  for (size_t h = 0; h < hooks.size(); ++h) {
    out[h].resize(size_t(n * dims[h]));
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < dims[h]; ++j)
        out[h][size_t(i * dims[h] + j)] = float(sum[h][size_t(i * dims[h] + j)] / double(std::max<int64_t>(count[size_t(i)], 1)));
  }
  return out;
}

SteeringVector empty_vector(const Engine& e, const BuildOptions& opt, Method method) {
  SteeringVector v;
  v.name = opt.name;
  v.method = method;
  v.site = opt.site;
  v.d_model = e.model().config().d_model;
  v.provenance = {{"model", e.model().source()}, {"site", to_string(opt.site)}};
  return v;
}

}  // namespace

const char* to_string(ReadAt r) { return enum_table::name(r, kReadAtNames); }

std::vector<ContrastivePair> read_pairs_jsonl(const std::string& path, const Model& m) {
  const Tokenizer* tok = m.tokenizer();
  if (!tok) fail(path, ": the model at ", m.source(), " has no tokenizer to read text pairs with");
  std::vector<ContrastivePair> out;
  for_each_jsonl_line(path, [&](const nlohmann::json& j, const std::string& where) {
    if (!j.is_object()) fail(where, ": expected an object {\"prompt\", \"positive\", \"negative\"}");
    for (const char* k : {"prompt", "positive", "negative"})
      if (!j.contains(k) || !j[k].is_string()) fail(where, ": field \"", k, "\" must be a string");
    ContrastivePair p;
    p.text = j["prompt"].get<std::string>();
    p.prompt = tok->encode(p.text, /*add_special=*/true, /*parse_special=*/false);
    p.positive = tok->encode(j["positive"].get<std::string>(), false, false);
    p.negative = tok->encode(j["negative"].get<std::string>(), false, false);
    if (p.prompt.empty() && (p.positive.empty() || p.negative.empty()))
      fail(where, ": a pair needs a prompt or two non-empty completions");
    out.push_back(std::move(p));
  });
  if (out.empty()) fail(path, ": no pairs");
  return out;
}

SteeringVector build_from_pairs(Engine& e, const std::vector<ContrastivePair>& pairs, const BuildOptions& opt) {
  return build_from_pairs(e, e, pairs, opt);
}

SteeringVector build_from_pairs(Engine& positive_reader, Engine& negative_reader,
                                const std::vector<ContrastivePair>& pairs, const BuildOptions& opt) {
  if (opt.method != Method::MeanDiff && opt.method != Method::PcaDiff)
    fail("steering: directions from pairs are mean-diff or pca-diff, not ", to_string(opt.method));
  if (pairs.empty()) fail("steering: no contrastive pairs");
  const Config& c = positive_reader.model().config();
  const Config& c2 = negative_reader.model().config();
  if (c.d_model != c2.d_model || c.n_layers != c2.n_layers || c.d_vocab != c2.d_vocab)
    fail("steering: the two readers are models of different shapes (", negative_reader.model().source(), " and ",
         positive_reader.model().source(), ")");
  const std::vector<HookPoint> hooks = steering_hooks(c, opt);
  // Each side as a set of texts, and the tokens each text is read at.
  features::LabelSet sides[2];
  std::vector<std::pair<int64_t, int64_t>> spans[2];
  for (int side = 0; side < 2; ++side)
    for (size_t i = 0; i < pairs.size(); ++i) {
      const auto& completion = side == 0 ? pairs[i].positive : pairs[i].negative;
      features::ProbeExample ex;
      ex.tokens = pairs[i].prompt;
      ex.tokens.insert(ex.tokens.end(), completion.begin(), completion.end());
      if (ex.tokens.empty()) fail("steering: pair ", i, " has no tokens");
      ex.label = side == 0 ? 1 : 0;
      const auto P = int64_t(pairs[i].prompt.size()), T = int64_t(ex.tokens.size());
      // completion-mean: the positions that predict the completion's tokens.
      spans[side].push_back(completion.empty() || P == 0 ? std::pair{T - 1, T} : std::pair{P - 1, T - 1});
      sides[side].examples.push_back(std::move(ex));
    }
  if (opt.read_at == ReadAt::Last) spans[0].clear(), spans[1].clear();
  const auto pos_rows = read_rows(positive_reader, sides[0], hooks, "last", spans[0], opt);
  const auto neg_rows = read_rows(negative_reader, sides[1], hooks, "last", spans[1], opt);

  SteeringVector v = empty_vector(positive_reader, opt, opt.method);
  if (&positive_reader != &negative_reader) v.provenance["negative_model"] = negative_reader.model().source();
  const int64_t n = int64_t(pairs.size()), d = v.d_model;
  for (size_t h = 0; h < hooks.size(); ++h) {
    const float* pos = pos_rows[h].data();
    const float* neg = neg_rows[h].data();
    LayerDirection ld;
    ld.layer = hooks[h].layer;
    ld.vector = opt.method == Method::MeanDiff ? mean_difference(pos, neg, n, d)
                                               : pca_difference(pos, neg, n, d, opt.pca_center);
    ld.separation = pair_separation(pos, neg, n, d, ld.vector);
    v.layers.push_back(std::move(ld));
  }
  v.provenance["pairs"] = n;
  v.provenance["read_at"] = to_string(opt.read_at);
  if (opt.method == Method::PcaDiff) v.provenance["pca_center"] = opt.pca_center;
  return v;
}

SteeringVector build_from_labels(Engine& e, const features::LabelSet& labels, const BuildOptions& opt,
                                 const std::string& position, const std::string& positive_class) {
  if (opt.method != Method::MeanDiff)
    fail("steering: labelled sets are not paired; build them with mean-diff, not ", to_string(opt.method));
  if (labels.classes.size() != 2)
    fail("steering: the label set ", labels.name, " has ", labels.classes.size(),
         " classes; a steering direction needs two (a positive and a negative side)");
  int32_t positive = 1;
  if (!positive_class.empty()) {
    const auto it = std::find(labels.classes.begin(), labels.classes.end(), positive_class);
    if (it == labels.classes.end())
      fail("steering: the label set ", labels.name, " has no class '", positive_class, "' (classes: ",
           labels.classes[0], ", ", labels.classes[1], ")");
    positive = int32_t(it - labels.classes.begin());
  }
  if (position == "every") fail("steering: position 'every' gives several rows per text; use last, mean or an index");
  const std::vector<HookPoint> hooks = steering_hooks(e.model().config(), opt);
  const auto rows = read_rows(e, labels, hooks, position, {}, opt);

  SteeringVector v = empty_vector(e, opt, Method::MeanDiff);
  const int64_t d = v.d_model, n = int64_t(labels.examples.size());
  std::vector<int32_t> y(static_cast<size_t>(n));  // 1: the positive side
  for (int64_t i = 0; i < n; ++i) y[size_t(i)] = labels.examples[size_t(i)].label == positive ? 1 : 0;
  if (std::count(y.begin(), y.end(), 1) == 0 || std::count(y.begin(), y.end(), 0) == n)
    fail("steering: the label set ", labels.name, " needs examples of both classes");
  for (size_t h = 0; h < hooks.size(); ++h) {
    // A mass-mean probe's direction is the difference of the class means
    // (the mean-diff over every positive/negative pairing); its AUROC on the
    // building rows says how well the direction separates them.
    const features::LinearProbe probe = features::fit_mass_mean(rows[h].data(), y.data(), n, d, 2);
    const std::vector<double> dir = probe.direction(0);
    const std::vector<double> scores = probe.scores(rows[h].data(), n);
    LayerDirection ld;
    ld.layer = hooks[h].layer;
    ld.vector.assign(dir.begin(), dir.end());
    ld.separation = features::probe_auroc(scores.data(), 1, y.data(), n, 2);
    v.layers.push_back(std::move(ld));
  }
  v.provenance["label_set"] = labels.name;
  v.provenance["positive_class"] = labels.classes[size_t(positive)];
  v.provenance["examples"] = labels.examples.size();
  v.provenance["position"] = position;
  return v;
}

}  // namespace glassbox::steering

namespace glassbox {
template <> steering::ReadAt from_string<steering::ReadAt>(std::string_view s) {
  return enum_table::value(s, steering::kReadAtNames, "read position");
}
}  // namespace glassbox
