// The hook-site table (glassbox/sites.h) is the one description every consumer reads.
#include <gtest/gtest.h>

#include <set>

#include "glassbox/error.h"
#include "glassbox/hooks.h"
#include "test_util.h"

using namespace glassbox;

namespace {

TEST(SiteTable, NamesAreUniqueAndRoundTrip) {
  std::set<std::string> names, suffixes;
  for (const SiteInfo& i : kSiteTable) {
    EXPECT_TRUE(names.insert(std::string(i.name)).second) << i.name;
    EXPECT_TRUE(suffixes.insert(std::string(i.suffix)).second) << i.suffix;
    EXPECT_EQ(from_string<Site>(i.name), i.site);
    EXPECT_EQ(from_string<Site>(i.suffix), i.site);
    EXPECT_EQ(std::string_view(to_string(i.site)), i.name);
    EXPECT_EQ(std::string_view(site_suffix(i.site)), i.suffix);
  }
  EXPECT_THROW(from_string<Site>("resid_pr"), Error);
}

TEST(SiteTable, ShapesPositionAxesAndHeadsAgree) {
  const Model m = Model::load(gbtest::fixture("llama"));  // grouped-query: n_kv_heads < n_heads
  const Config& c = m.config();
  for (const SiteInfo& i : kSiteTable) {
    const Shape s = site_shape(i.site, c, 2, 5, 5);
    EXPECT_EQ(s[0], 2) << i.name;
    EXPECT_EQ(s[size_t(site_pos_axis(i.site))], 5) << i.name;
    if (site_has_heads(i.site)) {
      const int64_t heads = i.shape == SiteShape::Scores ? s[1] : s[2];
      EXPECT_EQ(heads, i.shape == SiteShape::KvHeads ? c.n_kv_heads : c.n_heads) << i.name;
    }
  }
  EXPECT_EQ(site_shape(Site::k, c, 1, 3, 3), (Shape{1, 3, c.n_kv_heads, c.d_head}));
  EXPECT_EQ(site_shape(Site::pattern, c, 1, 3, 4), (Shape{1, c.n_heads, 3, 4}));
}

TEST(SiteTable, BackwardNeedsFollowTheArchitecture) {
  const Model gpt2 = Model::load(gbtest::fixture("gpt2"));
  const Model neox = Model::load(gbtest::fixture("neox"));
  const Model attn = Model::load(gbtest::fixture("attn-only"));
  EXPECT_TRUE(site_needed_for_backward(Site::q, gpt2.config()));
  EXPECT_FALSE(site_needed_for_backward(Site::q, neox.config()));  // rotary: rot_q instead
  EXPECT_TRUE(site_needed_for_backward(Site::rot_q, neox.config()));
  EXPECT_FALSE(site_needed_for_backward(Site::rot_q, gpt2.config()));
  EXPECT_FALSE(site_needed_for_backward(Site::resid_pre, gpt2.config()));
  EXPECT_EQ(site_needed_for_backward(Site::resid_pre, attn.config()), attn.config().norm == NormKind::None);
  EXPECT_FALSE(site_needed_for_backward(Site::attn_scores, gpt2.config()));
  EXPECT_TRUE(site_needed_for_backward(Site::pattern, gpt2.config()));
}

TEST(SiteTable, HookPointsOrderBySiteThenLayer) {
  std::set<HookPoint> s = {{Site::z, 2}, {Site::resid_pre, 3}, {Site::z, 0}, {Site::embed, -1}};
  std::vector<HookPoint> v(s.begin(), s.end());
  EXPECT_EQ(v[0], (HookPoint{Site::embed, -1}));
  EXPECT_EQ(v[1], (HookPoint{Site::resid_pre, 3}));
  EXPECT_EQ(v[2], (HookPoint{Site::z, 0}));
  EXPECT_EQ(v[3], (HookPoint{Site::z, 2}));
}

TEST(SiteTable, HookModeAndLogitsModeParseOneWay) {
  for (HookMode m : {HookMode::Observe, HookMode::Replace, HookMode::Grad})
    EXPECT_EQ(from_string<HookMode>(to_string(m)), m);
  for (LogitsMode m : {LogitsMode::All, LogitsMode::Last, LogitsMode::None})
    EXPECT_EQ(from_string<LogitsMode>(to_string(m)), m);
  EXPECT_THROW(from_string<HookMode>("watch"), Error);
  EXPECT_THROW(from_string<LogitsMode>("first"), Error);
}

}  // namespace
