// The feature dashboard report: its data files, and the page rendered in
// headless Chromium (index rows, a latent's panel with shaded tokens, the
// histogram drawn by Vega-Lite, search from the URL).
#include "glassbox/pages/dashboard.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>

#include "common/browser.h"
#include "features/collect_test_util.h"
#include "glassbox/engine.h"
#include "glassbox/error.h"
#include "glassbox/features/collect.h"
#include "glassbox/features/model_stream.h"
#include "report/report_test_util.h"

namespace glassbox::pages {
namespace {

using report_test::count;
using report_test::read_file;
using report_test::TempDir;

features::Dashboards small_dashboards(int64_t n_latents) {
  const Model m = Model::load(dashtest::tiny_lm_dir());
  std::vector<int32_t> toks = features::tokenize_text_file(*m.tokenizer(), dashtest::fortune_file("computers"), true);
  toks.resize(2000);
  const dashtest::RandomProjection map("blocks.1.hook_resid_post", m.config().d_model, n_latents, -1.0f, 2);
  features::CollectOptions o;
  o.top_k = 6;
  o.seq_len = 64;
  Engine e(m);
  features::Dashboards d = features::collect_dashboards(e, map, toks, o);
  d.data.corpus = "fortunes/computers";
  d.data.features[3].explanation = "the word <b>zebrafish</b> & friends";
  d.data.features[3].score = 0.625;
  d.data.features[3].score_method = "simulation correlation";
  return d;
}

TEST(DashboardPage, WritesAnIndexAndChunkFiles) {
  const features::Dashboards d = small_dashboards(70);
  TempDir tmp;
  DashboardPageOptions o;
  o.chunk = 32;
  const std::string index = save_dashboard(tmp.path().string(), d.examples, d.data, o);
  const std::string html = read_file(index);
  EXPECT_NE(html.find("id=\"gb-dash-index\""), std::string::npos);
  // The explanation is in the index as JSON, escaped so it cannot close the script.
  EXPECT_EQ(html.find("<b>zebrafish</b>"), std::string::npos);
  EXPECT_NE(html.find("\\u003cb\\u003ezebrafish"), std::string::npos);
  for (const char* f : {"chunk-0000.js", "chunk-0001.js", "chunk-0002.js"})
    EXPECT_TRUE(report_test::fs::exists(tmp / "dashboard-data" / f)) << f;
  EXPECT_FALSE(report_test::fs::exists(tmp / "dashboard-data" / "chunk-0003.js"));
  const std::string c1 = read_file(tmp / "dashboard-data" / "chunk-0001.js");
  EXPECT_EQ(c1.rfind("glassboxDashboard.chunk(1, [{", 0), 0u);
  EXPECT_EQ(count(c1, "\"f\":"), 32u);
  // A bad layout is an error, not a broken page.
  o.data_dir = "../elsewhere";
  EXPECT_THROW(save_dashboard(tmp.path().string(), d.examples, d.data, o), Error);
  features::FeatureDashboardData short_data = d.data;
  short_data.features.pop_back();
  EXPECT_THROW(save_dashboard(tmp.path().string(), d.examples, short_data), Error);
}

TEST(DashboardPage, RendersInHeadlessChromium) {
  const std::string chromium = gbtest::find_chromium();
  if (chromium.empty()) GTEST_SKIP() << "chromium not installed (Debian 'chromium', scripts/install-deps.sh)";
  const features::Dashboards d = small_dashboards(40);
  TempDir tmp;
  const std::string index = save_dashboard(tmp.path().string(), d.examples, d.data);
  // One launch (each costs seconds): search from the URL filters the index
  // of 40 latents, the hash opens latent 3's panel.
  const std::string url = "file://" + index + "?q=ZebraFish#latent-3";
  ASSERT_EQ(gbtest::run_chromium(chromium, tmp.path().string(), "dom", "--dump-dom", url), 0)
      << read_file(tmp / "dom.err");
  const std::string dom = read_file(tmp / "dom.out");
  ASSERT_FALSE(dom.empty()) << read_file(tmp / "dom.err");

  EXPECT_NE(dom.find("1 of 40 latents"), std::string::npos);
  EXPECT_EQ(count(dom, "data-latent=\""), 1u);
  EXPECT_NE(dom.find("data-latent=\"3\""), std::string::npos);
  EXPECT_NE(dom.find("<h3>Latent #3</h3>"), std::string::npos) << "the panel did not render";
  EXPECT_NE(dom.find("the word &lt;b&gt;zebrafish&lt;/b&gt; &amp; friends"), std::string::npos);
  EXPECT_NE(dom.find("score 0.625 (simulation correlation)"), std::string::npos);
  // Top contexts: tokens shaded by activation, hover values.
  EXPECT_GE(count(dom, "class=\"gb-tok gb-center\""), d.examples[3].top.size());
  EXPECT_GT(count(dom, "background: rgba(249, 115, 22"), 5u);
  EXPECT_GT(count(dom, "data-act=\""), 20u);
  EXPECT_NE(dom.find("Top activations"), std::string::npos);
  EXPECT_NE(dom.find("Quantile 80"), std::string::npos);
  EXPECT_NE(dom.find("Promoted tokens"), std::string::npos);
  EXPECT_NE(dom.find("href=\"#latent-"), std::string::npos);  // co-occurring latents link to panels
  // Both charts drew: the density histogram and the latent's activation histogram.
  EXPECT_EQ(count(dom, "class=\"marks\""), 2u);
  EXPECT_EQ(dom.find("chart-failed\""), std::string::npos);

  // A screenshot for a human to look at, on request.
  const char* keep = std::getenv("GLASSBOX_REPORT_SCREENSHOT");
  if (!keep || !*keep) return;
  const std::string all = "file://" + index + "#latent-3";
  const auto png = tmp / "shot.png";
  ASSERT_EQ(gbtest::run_chromium(chromium, tmp.path().string(), "shot",
                                 "--screenshot='" + png.string() + "' --window-size=1280,2400", all),
            0);
  EXPECT_GT(report_test::fs::file_size(png), 20000u);
  report_test::fs::copy_file(png, keep, report_test::fs::copy_options::overwrite_existing);
}

}  // namespace
}  // namespace glassbox::pages
