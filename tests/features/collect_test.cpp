// The collector against a brute-force reference: every activation of a small
// corpus computed with a plain full forward pass per sequence, then the
// statistics, top contexts, windows, random contexts and co-occurrence counts
// recomputed from it.
#include "glassbox/features/collect.h"
#include "glassbox/features/autointerp.h"
#include "glassbox/features/model_stream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "collect_test_util.h"
#include "features/collect_state.h"
#include "glassbox/error.h"
#include "glassbox/tokenizer.h"

namespace glassbox::features {
namespace {

using dashtest::RandomProjection;

struct Fixture {
  Model m = Model::load(dashtest::tiny_lm_dir());
  std::vector<int32_t> tokens;
  Fixture() {
    tokens = tokenize_text_file(*m.tokenizer(), dashtest::fortune_file("art"), true);
    tokens.resize(1000 + 13);  // 31 sequences of 32 and a tail of 21
  }
};

// All features of every token, sequences of L (and the tail), by full passes.
std::vector<float> reference_features(const Model& m, const FeatureMap& map, const std::vector<int32_t>& toks, int L) {
  Engine e(m);
  const HookPoint hp = parse_hook_name(map.hook_name(), m.config());
  const int64_t F = map.n_features();
  std::vector<float> f(toks.size() * size_t(F));
  for (size_t s = 0; s < toks.size(); s += size_t(L)) {
    const size_t T = std::min(toks.size() - s, size_t(L));
    ForwardOptions fo;
    fo.keep = {hp};
    const ForwardResult r =
        e.forward(Batch::single(std::vector<int32_t>(toks.begin() + std::ptrdiff_t(s), toks.begin() + std::ptrdiff_t(s + T))),
                  nullptr, nullptr, fo);
    map.encode(r.get(hp).f32(), int64_t(T), &f[s * size_t(F)]);
  }
  return f;
}

void same_json(const nlohmann::json& a, const nlohmann::json& b, const std::string& path, size_t& mismatches) {
  if (mismatches > 10) return;
  if (a.is_number_float() || b.is_number_float()) {
    const double x = a.get<double>(), y = b.get<double>();
    if (std::abs(x - y) > 1e-4 * std::max(1.0, std::abs(x))) ++mismatches, ADD_FAILURE() << path << ": " << x << " vs " << y;
  } else if (a.is_structured() && a.type() == b.type() && a.size() == b.size()) {
    if (a.is_array())
      for (size_t i = 0; i < a.size(); ++i) same_json(a[i], b[i], path + "/" + std::to_string(i), mismatches);
    else
      for (auto it = a.begin(); it != a.end(); ++it)
        same_json(it.value(), b.contains(it.key()) ? b[it.key()] : nlohmann::json(), path + "/" + it.key(), mismatches);
  } else if (a != b) {
    ++mismatches, ADD_FAILURE() << path << ": " << a.dump().substr(0, 200) << " vs " << b.dump().substr(0, 200);
  }
}

// The collector's dashboards and the brute-force features they must match.
std::pair<Dashboards, std::vector<float>> collect_with_reference(const Fixture& fx, const FeatureMap& map,
                                                                 const CollectOptions& o) {
  Engine e(fx.m);
  return {collect_dashboards(e, map, fx.tokens, o), reference_features(fx.m, map, fx.tokens, o.seq_len)};
}

CollectOptions small_options() {
  CollectOptions o;
  o.seq_len = 32;
  o.batch = 4;
  o.top_k = 5;
  o.random = 3;
  o.context_before = 4;
  o.context_after = 2;
  o.cooccur_top = 4;
  o.cooccur_slots = 64;  // >= the number of features: counts are exact
  o.cooccurring = 64;
  return o;
}

TEST(Collect, MatchesABruteForceReference) {
  Fixture fx;
  const RandomProjection map("blocks.1.hook_resid_post", fx.m.config().d_model, 48, -0.6f, 7);
  const CollectOptions o = small_options();
  const auto [d, ref] = collect_with_reference(fx, map, o);
  const int64_t F = 48, N = int64_t(fx.tokens.size()), L = o.seq_len;
  ASSERT_EQ(d.examples.size(), size_t(F));
  EXPECT_EQ(d.data.tokens, N);
  EXPECT_EQ(d.data.sequences, 32);
  EXPECT_EQ(d.data.hook_name, "blocks.1.hook_resid_post");
  const Tokenizer& tok = *fx.m.tokenizer();
  const auto& ref_acts = ref;  // clang 14 cannot capture a structured binding (C++20, clang 16)
  auto act = [&](int64_t seq, int64_t pos, int64_t j) { return ref_acts[size_t((seq * L + pos) * F + j)]; };

  int64_t features_with_context = 0;
  for (int64_t j = 0; j < F; ++j) {
    const FeatureDashboard& fd = d.data.features[size_t(j)];
    const FeatureExamples& ex = d.examples[size_t(j)];
    int64_t active = 0;
    double sum = 0;
    float mx = 0;
    std::vector<std::pair<float, int64_t>> seq_max;  // (max, seq) per sequence
    for (int64_t s = 0; s * L < N; ++s) {
      float best = 0;
      for (int64_t p = 0; p < std::min(L, N - s * L); ++p) {
        const float a = act(s, p, j);
        if (a > 0) ++active, sum += a, mx = std::max(mx, a), best = std::max(best, a);
      }
      if (best > 0) seq_max.push_back({best, s});
    }
    EXPECT_EQ(fd.active_tokens, active) << j;
    EXPECT_NEAR(fd.density, double(active) / double(N), 1e-12);
    EXPECT_NEAR(fd.max_act, mx, 1e-4f);
    EXPECT_NEAR(fd.mean_act, active ? sum / double(active) : 0.0, 1e-4);
    double hist_total = 0;
    for (double c : fd.histogram.counts) hist_total += c;
    EXPECT_NEAR(hist_total, double(active), 1e-6 * double(active) + 1e-9);

    // Top contexts: the strongest sequences, each at its strongest token
    // (repeated text ties: any of the tied sequences will do).
    std::map<int64_t, float> best_of;
    for (auto& [a, s] : seq_max) best_of[s] = a;
    std::sort(seq_max.rbegin(), seq_max.rend());
    std::set<int64_t> seen;
    ASSERT_EQ(ex.top.size(), std::min<size_t>(seq_max.size(), size_t(o.top_k))) << j;
    features_with_context += !ex.top.empty();
    for (size_t r = 0; r < ex.top.size(); ++r) {
      const RecordSource& src = fd.top_sources[r];
      EXPECT_NEAR(ex.top[r].acts[size_t(src.center)], seq_max[r].first, 1e-4f) << j << " " << r;
      EXPECT_NEAR(best_of[src.sequence], seq_max[r].first, 1e-4f);
      EXPECT_TRUE(seen.insert(src.sequence).second) << "one context per sequence";
    }
    // Every record: tokens and activations of its window, as the reference has them.
    auto check_record = [&](const ActivationRecord& rec, const RecordSource& src) {
      const int64_t start = src.position - src.center;
      ASSERT_EQ(rec.tokens.size(), rec.acts.size());
      EXPECT_EQ(start, std::max<int64_t>(0, src.position - o.context_before));
      const int64_t T = std::min(L, N - src.sequence * L);
      EXPECT_EQ(start + int64_t(rec.acts.size()), std::min<int64_t>(T, src.position + o.context_after + 1));
      for (size_t i = 0; i < rec.acts.size(); ++i) {
        EXPECT_NEAR(rec.acts[i], act(src.sequence, start + int64_t(i), j), 1e-4f);
        EXPECT_EQ(rec.tokens[i], tok.token_to_bytes(fx.tokens[size_t(src.sequence * L + start + int64_t(i))]));
      }
    };
    for (size_t r = 0; r < ex.top.size(); ++r) check_record(ex.top[r], fd.top_sources[r]);
    ASSERT_EQ(ex.quantiles.size(), fd.quantile_sources.size());
    for (size_t r = 0; r < ex.quantiles.size(); ++r) {
      check_record(ex.quantiles[r], fd.quantile_sources[r]);
      EXPECT_GT(ex.quantiles[r].acts[size_t(fd.quantile_sources[r].center)], 0.f);
    }
    // Bands: highest first, disjoint, each record inside its band.
    for (size_t b = 0; b < fd.quantile_bands.size(); ++b) {
      const QuantileBand& qb = fd.quantile_bands[b];
      EXPECT_LE(qb.lo, qb.hi);
      if (b > 0) {
        EXPECT_LE(qb.hi, fd.quantile_bands[b - 1].lo);
      }
      for (int64_t r = qb.first; r < qb.first + qb.count; ++r) {
        const float a = ex.quantiles[size_t(r)].acts[size_t(fd.quantile_sources[size_t(r)].center)];
        EXPECT_GE(a, qb.lo);
        EXPECT_LE(a, qb.hi);
      }
    }
    if (active >= 2 * o.quantile_bands * o.per_band) {
      EXPECT_EQ(fd.quantile_bands.size(), size_t(o.quantile_bands));
      EXPECT_EQ(ex.quantiles.size(), size_t(o.quantile_bands * o.per_band));
    }
    ASSERT_EQ(ex.random.size(), size_t(o.random));
    for (size_t r = 0; r < ex.random.size(); ++r) check_record(ex.random[r], fd.random_sources[r]);
  }
  EXPECT_GT(features_with_context, F / 2);  // the map is not vacuous
}

TEST(Collect, CooccurrenceCountsPairsAmongEachTokensStrongestFeatures) {
  Fixture fx;
  const RandomProjection map("blocks.0.hook_resid_post", fx.m.config().d_model, 40, -0.3f, 3);
  const CollectOptions o = small_options();
  const auto [d, ref] = collect_with_reference(fx, map, o);
  const int64_t F = 40;
  std::map<std::pair<int64_t, int64_t>, int64_t> pairs;
  std::vector<int64_t> appear(static_cast<size_t>(F));
  for (size_t t = 0; t < fx.tokens.size(); ++t) {
    std::vector<std::pair<float, int64_t>> act;
    for (int64_t j = 0; j < F; ++j)
      if (ref[t * size_t(F) + size_t(j)] > 0) act.push_back({-ref[t * size_t(F) + size_t(j)], j});
    std::sort(act.begin(), act.end());
    act.resize(std::min<size_t>(act.size(), size_t(o.cooccur_top)));
    for (auto& [a, i] : act) {
      ++appear[size_t(i)];
      for (auto& [b, k] : act)
        if (k != i) ++pairs[{i, k}];
    }
  }
  int64_t checked = 0;
  for (int64_t j = 0; j < F; ++j) {
    const auto& co = d.data.features[size_t(j)].cooccurring;
    int64_t expected_n = 0;
    for (auto& [key, n] : pairs) expected_n += key.first == j;
    EXPECT_EQ(int64_t(co.size()), expected_n) << j;
    for (size_t r = 0; r < co.size(); ++r) {
      EXPECT_EQ(co[r].count, (pairs[{j, co[r].feature}])) << j << " with " << co[r].feature;
      EXPECT_NEAR(co[r].fraction, double(co[r].count) / double(appear[size_t(j)]), 1e-6);
      if (r > 0) {
        EXPECT_GE(co[r - 1].count, co[r].count);
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, F);
}

TEST(Collect, ResultDoesNotDependOnBatchSize) {
  Fixture fx;
  const RandomProjection map("blocks.1.mlp.hook_post", fx.m.config().d_mlp, 24, -0.2f, 11);
  CollectOptions o = small_options();
  o.cooccur_slots = 4;  // space-saving evictions happen, identically
  Engine e(fx.m);
  const nlohmann::json a = [&] {
    const Dashboards d = collect_dashboards(e, map, fx.tokens, o);
    return dashboard_json(d.examples, d.data);
  }();
  o.batch = 7;
  const Dashboards d = collect_dashboards(e, map, fx.tokens, o);
  // The same contexts and counts; activations to float rounding (GEMMs of
  // other shapes sum in another order).
  size_t mismatches = 0;
  same_json(a, dashboard_json(d.examples, d.data), "", mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(Collect, JsonExportReadsBack) {
  Fixture fx;
  const RandomProjection map("blocks.0.hook_resid_post", fx.m.config().d_model, 6, -0.3f, 9);
  Engine e(fx.m);
  Dashboards d = collect_dashboards(e, map, fx.tokens, small_options());
  d.data.features[2].explanation = "commas";
  d.data.features[2].score = 0.5;
  ASSERT_FALSE(d.examples[1].top.empty());
  d.examples[1].top[0].tokens[0] = "a\xE2\x82";  // a byte-level token ending mid-character
  const nlohmann::json j = dashboard_json(d.examples, d.data);
  EXPECT_NE(j.dump().find("a\xEF\xBF\xBD"), std::string::npos);  // dumps: the byte became U+FFFD
  std::vector<FeatureExamples> ex;
  FeatureDashboardData data;
  dashboard_from_json(j, ex, data);
  EXPECT_EQ(dashboard_json(ex, data), j);
  EXPECT_EQ(data.features[2].explanation, "commas");
  ASSERT_EQ(ex.size(), 6u);
  EXPECT_EQ(ex[1].top.size(), d.examples[1].top.size());
  nlohmann::json bad = j;
  bad["features"][0].erase("top");
  EXPECT_THROW(dashboard_from_json(bad, ex, data, "x.json"), Error);
  EXPECT_THROW(dashboard_from_json(nlohmann::json::object(), ex, data), Error);
  // `glassbox explain dashboards.json` reads the export as its examples (it
  // failed on the format before feature_examples_from_document knew it).
  const std::vector<FeatureExamples> read = feature_examples_from_document(j, "dashboards.json");
  ASSERT_EQ(read.size(), 6u);
  EXPECT_EQ(read[1].feature, ex[1].feature);
  EXPECT_EQ(read[1].top.size(), ex[1].top.size());
}

TEST(Collect, LogitEffectsAreTheDirectionTimesTheUnembedding) {
  Fixture fx;
  const RandomProjection map("blocks.0.hook_resid_post", fx.m.config().d_model, 5, 0.f, 5);
  const std::vector<LogitEffects> le = logit_effects(fx.m, map, 3);
  const MatRef& W = fx.m.weights().W_U;
  ASSERT_EQ(le.size(), 5u);
  for (int64_t j = 0; j < 5; ++j) {
    const std::vector<float> d = map.output_direction(j);
    std::vector<std::pair<double, int32_t>> z;
    for (int64_t v = 0; v < W.cols; ++v) {
      double s = 0;
      for (int64_t i = 0; i < W.rows; ++i) s += double(d[size_t(i)]) * W.data[i * W.rs + v * W.cs];
      z.push_back({s, int32_t(v)});
    }
    std::sort(z.rbegin(), z.rend());
    ASSERT_EQ(le[size_t(j)].top.size(), 3u);
    for (size_t r = 0; r < 3; ++r) {
      EXPECT_EQ(le[size_t(j)].top[r].token, z[r].second);
      EXPECT_NEAR(le[size_t(j)].top[r].value, z[r].first, 1e-4);
      EXPECT_EQ(le[size_t(j)].top[r].text, fx.m.tokenizer()->token_to_bytes(z[r].second));
      EXPECT_EQ(le[size_t(j)].bottom[r].token, z[z.size() - 1 - r].second);
    }
  }
}

TEST(Collect, RejectsBadInput) {
  Fixture fx;
  Engine e(fx.m);
  const RandomProjection wrong("blocks.0.hook_resid_post", 64, 4, 0.f, 1);  // d_model is 128
  EXPECT_THROW(collect_dashboards(e, wrong, fx.tokens), Error);
  const RandomProjection ok("blocks.0.hook_resid_post", 128, 4, 0.f, 1);
  EXPECT_THROW(collect_dashboards(e, ok, {}), Error);
  EXPECT_THROW(collect_dashboards(e, ok, {5}), Error);
  EXPECT_THROW(collect_dashboards(e, ok, {1, 2, 99999}), Error);
  const RandomProjection pattern("blocks.0.attn.hook_pattern", 128, 4, 0.f, 1);
  EXPECT_THROW(collect_dashboards(e, pattern, fx.tokens), Error);
  CollectOptions o;
  o.seq_len = 4096;
  EXPECT_THROW(collect_dashboards(e, ok, fx.tokens, o), Error);
  o = {};
  o.cooccur_top = 100;
  EXPECT_THROW(collect_dashboards(e, ok, fx.tokens, o), Error);
  EXPECT_THROW(tokenize_text_file(*fx.m.tokenizer(), "/nonexistent/corpus.txt", true), Error);
}

TEST(CollectHistogram, FineBinsSpreadOverLinearBinsKeepingTheirMass) {
  using namespace detail;
  std::vector<uint32_t> fine(kFineBins, 0);
  for (float a : {0.3f, 0.31f, 1.0f, 1.9f, 2.0f, 1e-9f, 3.99f}) ++fine[size_t(fine_bin(a))];
  for (float a : {0.3f, 1.0f, 1.9f, 3.99f}) {
    EXPECT_LE(fine_bin_lo(fine_bin(a)), a);
    EXPECT_GT(fine_bin_hi(fine_bin(a)), a);
    EXPECT_LT(fine_bin_hi(fine_bin(a)) / fine_bin_lo(fine_bin(a)), 1.13f);
  }
  const ActivationHistogram h = rebin_linear(fine.data(), 4.f, 4);
  ASSERT_EQ(h.edges.size(), 5u);
  EXPECT_FLOAT_EQ(h.edges[4], 4.f);
  double total = 0;
  for (double c : h.counts) total += c;
  EXPECT_NEAR(total, 7.0, 1e-9);
  EXPECT_NEAR(h.counts[0], 3.0, 1e-9);  // 1e-9, 0.3, 0.31
  EXPECT_NEAR(h.counts[1], 2.0, 0.2);   // 1.0, 1.9 (1.9's fine bin reaches past 2)
  EXPECT_NEAR(h.counts[3], 1.0, 1e-9);  // 3.99
}

}  // namespace
}  // namespace glassbox::features

namespace glassbox::features {
namespace {

// The quantile samples come from a uniform reservoir over the whole stream:
// with activations rising through the corpus (token i has activation i), the
// bands' edges sit at the stream's quantiles, not at its start.
TEST(CollectReservoir, QuantileBandsSampleTheWholeStreamUniformly) {
  CollectOptions o;
  o.quantile_bands = 5;
  o.per_band = 4;
  o.top_k = 1;
  o.random = 0;
  o.cooccur_top = 0;
  const int64_t N = 4000, T = 100;
  const std::vector<int32_t> tokens(size_t(N), 0);
  double top_lo = 0, bottom_hi = 0;
  const int seeds = 60;
  for (int seed = 0; seed < seeds; ++seed) {
    o.seed = uint64_t(seed);
    detail::FeatureAccumulators acc(1, o, N, int(T));
    std::vector<float> f(static_cast<size_t>(T));
    for (int64_t s = 0; s < N / T; ++s) {
      for (int64_t t = 0; t < T; ++t) f[size_t(t)] = float(s * T + t + 1);
      acc.add_batch(f.data(), 1, T, s);
    }
    std::vector<FeatureExamples> ex;
    std::vector<FeatureDashboard> d;
    acc.finish(tokens, {"x"}, ex, d);
    ASSERT_EQ(d[0].quantile_bands.size(), 5u);
    ASSERT_EQ(ex[0].quantiles.size(), 20u);
    EXPECT_EQ(d[0].active_tokens, N);
    top_lo += d[0].quantile_bands.front().lo / double(N);
    bottom_hi += d[0].quantile_bands.back().hi / double(N);
  }
  EXPECT_NEAR(top_lo / seeds, 0.8, 0.04);
  EXPECT_NEAR(bottom_hi / seeds, 0.2, 0.04);
}

}  // namespace
}  // namespace glassbox::features
