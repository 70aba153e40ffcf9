// The probe page: valid HTML with its Vega-Lite specs, drawn by headless
// Chromium (skipped without one).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/browser.h"
#include "glassbox/pages/probe.h"

using namespace glassbox;
using namespace glassbox::features;
namespace fs = std::filesystem;

namespace {

// A sweep shaped like ioi-io's: chance until layer 2, then perfect.
ProbeSweep example_sweep() {
  ProbeSweep s;
  s.label_set = "ioi-io";
  s.position = "end";
  s.classes = {"Reggy", "Eddie", "Loma", "Trixi"};
  s.n_examples = 400, s.n_train = 300, s.n_test = 100, s.majority = 0.25, s.n_layers = 4;
  for (Site site : {Site::resid_pre, Site::resid_post})
    for (int l = 0; l < 4; ++l) {
      ProbeCell c;
      c.site = site;
      c.layer = l;
      c.hook = "blocks." + std::to_string(l) + "." + site_suffix(site);
      const int depth = l + (site == Site::resid_post);
      c.accuracy = depth >= 2 ? 1.0 : 0.25 + 0.1 * depth;
      c.auroc = depth >= 2 ? 1.0 : 0.5 + 0.15 * depth;
      c.control = 0.4 + 0.05 * l + (site == Site::resid_post ? 0.1 : 0.0);
      c.selectivity = c.accuracy - c.control;
      s.cells.push_back(c);
    }
  return s;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(ProbePage, AccuracyChartHasALinePerSiteAndControl) {
  const ProbeSweep s = example_sweep();
  const report::json spec = pages::probe_accuracy_chart(s);
  const std::string text = spec.dump();
  for (const char* series : {"\"resid_pre\"", "\"resid_post\"", "\"resid_pre (control task)\"",
                             "\"resid_post (control task)\"", "\"majority class\""})
    EXPECT_NE(text.find(series), std::string::npos) << series;
  EXPECT_NE(text.find("vega-lite"), std::string::npos);
  // Regression sweeps plot R² and have no AUROC chart.
  ProbeSweep r = s;
  r.classes.clear();
  for (auto& c : r.cells) c.r2 = 0.5, c.accuracy = NAN;
  EXPECT_NE(pages::probe_accuracy_chart(r).dump().find("R²"), std::string::npos);
  EXPECT_TRUE(pages::probe_auroc_chart(r).is_null());
}

TEST(ProbePage, RendersInHeadlessChromium) {
  report::Page page("Probes: ioi-io", "models/ioi");
  pages::add_probe_sections(page, example_sweep());
  EXPECT_EQ(page.chart_count(), 3u);  // accuracy, selectivity, AUROC
  const fs::path dir = fs::temp_directory_path() / ("glassbox-probe-page-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path html = dir / "probes.html";
  page.save(html.string());
  const std::string text = slurp(html);
  EXPECT_EQ(text.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(count(text, "class=\"chart\""), 3u);
  EXPECT_NE(text.find("blocks.3.hook_resid_post"), std::string::npos);  // the table

  const std::string chromium = gbtest::find_chromium();
  if (chromium.empty()) {
    fs::remove_all(dir);
    GTEST_SKIP() << "chromium not installed (Debian 'chromium', scripts/install-deps.sh)";
  }
  ASSERT_EQ(gbtest::run_chromium(chromium, dir.string(), "dom", "--dump-dom", "file://" + html.string()), 0)
      << slurp(dir / "dom.err");
  const std::string dom = slurp(dir / "dom.out");
  EXPECT_EQ(count(dom, "class=\"marks\""), 3u) << "every chart drew an SVG";
  EXPECT_NE(dom.find("mark-line"), std::string::npos);
  EXPECT_EQ(dom.find("chart-failed\""), std::string::npos);
  const fs::path png = dir / "shot.png";
  ASSERT_EQ(gbtest::run_chromium(chromium, dir.string(), "shot",
                                 "--screenshot='" + png.string() + "' --window-size=1200,1400",
                                 "file://" + html.string()),
            0);
  EXPECT_GT(fs::file_size(png), 20000u);  // a blank page is ~5 KB
  if (const char* keep = std::getenv("GLASSBOX_PROBE_SCREENSHOT"); keep && *keep)
    fs::copy_file(png, keep, fs::copy_options::overwrite_existing);
  fs::remove_all(dir);
}

}  // namespace
