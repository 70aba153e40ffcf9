// Renders a report in headless Chromium and checks that every chart drew.
// Skipped when no Chromium is installed (Debian 'chromium'; CI installs it).
#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

#include "common/browser.h"

#include "glassbox/report.h"
#include "report_test_util.h"

namespace report = glassbox::report;
using report_test::count;
using report_test::read_file;
using report_test::TempDir;

namespace {

using gbtest::find_chromium;

int run_chromium(const std::string& chromium, const TempDir& tmp, const std::string& name,
                 const std::string& action, const std::string& url) {
  return gbtest::run_chromium(chromium, tmp.path().string(), name, action, url);
}

report::Page example_page() {
  std::vector<float> train, val;
  for (int i = 0; i < 60; ++i) {
    train.push_back(4.0f * std::exp(-i / 15.0f) + 0.4f + 0.05f * std::sin(i * 1.3f));
    if (i % 5 == 0) val.push_back(4.1f * std::exp(-i / 16.0f) + 0.5f);
  }
  std::vector<float> val_x;
  for (int i = 0; i < 60; i += 5) val_x.push_back(static_cast<float>(i));

  // A causal attention pattern over repeated tokens (an induction-like head).
  std::vector<std::string> tokens = {"<|endoftext|>", "When", " Mary", " and", " John", " went",
                                     " to", " the", " store", ",", " John", " gave", " a",
                                     " drink", " to"};
  for (auto& t : tokens) t = report::display_token(t);
  const size_t T = tokens.size();
  std::vector<float> pattern(T * T, 0.0f);
  for (size_t q = 0; q < T; ++q) {
    float sum = 0;
    for (size_t k = 0; k <= q; ++k) {
      float w = std::exp(-0.35f * static_cast<float>(q - k)) + (k == 0 ? 1.5f : 0.0f) +
                (q >= 10 && k == q - 7 ? 3.0f : 0.0f);
      pattern[q * T + k] = w;
      sum += w;
    }
    for (size_t k = 0; k <= q; ++k) pattern[q * T + k] /= sum;
  }

  report::Page page("Report <test> page", "Line, heatmap and bar charts, rendered by vega-embed.");
  page.add_card({"gpt2 (small)", {{"layers", "12"}, {"heads", "12"}, {"d_model", "768"}},
                 "Shipped organism."});
  page.add_card({"prompt", {{"tokens", std::to_string(T)}, {"loss", "3.214"}}});
  page.add_heading("Training");
  page.add_text("Loss falls quickly and flattens; validation is measured every 5 steps.");
  page.add_chart(report::line_chart("Loss", {{"train", train}, {"val", val, val_x}}, "step",
                                    "cross-entropy", true),
                 "Log scale.");
  page.add_heading("Attention");
  page.add_chart(report::heatmap("L5H1 attention pattern", tokens, tokens, pattern,
                                 "attention", false, "query", "key"));
  page.add_table({"head", "score"}, {{"L5H1", "0.91"}, {"L5H5", "0.87"}});

  page.add_heading("Patching");
  std::vector<std::string> layers, positions;
  for (int l = 0; l < 6; ++l) layers.push_back(std::to_string(l));
  for (size_t p = 0; p < T; ++p) positions.push_back(tokens[p]);
  std::vector<float> effect(layers.size() * T);
  for (size_t l = 0; l < layers.size(); ++l) {
    for (size_t p = 0; p < T; ++p) {
      effect[l * T + p] = (p == 4 ? 1.0f - 0.15f * l : 0.0f) + (p == T - 1 ? 0.18f * l : 0.0f) -
                          (p == 2 && l > 2 ? 0.3f : 0.0f);
    }
  }
  page.add_chart(report::heatmap("Activation patching: resid_pre", layers, positions, effect,
                                 "logit diff recovered", true, "layer", "position"));
  page.add_chart(report::bar_chart("Direct logit attribution", {"L5H1", "L5H5", "L6H9", "L3H0"},
                                   {1.8f, 1.1f, 0.4f, -0.7f}, "head", "logit diff"));
  page.add_heading("Circuit");
  page.add_chart(report::graph_chart("Induction circuit",
                                     {{"input", 0, 0, "input"}, {"a0.h0", -0.5f, 1, "head"},
                                      {"a0.h1", 0.5f, 1, "head"}, {"a1.h0", -0.5f, 2, "head"},
                                      {"logits", 0, 3, "logits"}},
                                     {{0, 1, 0.8f, true}, {0, 3, 0.6f, true}, {1, 3, 0.7f, true},
                                      {3, 4, 1.0f, true}, {2, 4, -0.05f, false}, {0, 4, 0.02f, false}},
                                     "score", 4));
  return page;
}

}  // namespace

TEST(Browser, ChartsRenderInHeadlessChromium) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium not installed (Debian 'chromium', scripts/install-deps.sh)";
  }
  TempDir tmp;
  const report::Page page = example_page();
  const auto html_path = tmp / "report.html";
  // Real assets: a missing scripts/fetch-web-assets.sh run fails here, loudly.
  page.save(html_path.string());
  const std::string url = "file://" + html_path.string();

  int rc = run_chromium(chromium, tmp, "dom", "--dump-dom", url);
  ASSERT_EQ(rc, 0) << read_file(tmp / "dom.err");
  const std::string dom = read_file(tmp / "dom.out");
  ASSERT_FALSE(dom.empty()) << read_file(tmp / "dom.err");

  // Every chart div holds an SVG drawn by vega, and no error box replaced one.
  ASSERT_EQ(page.chart_count(), 5u);
  for (size_t i = 0; i < page.chart_count(); ++i) {
    const std::string id = "id=\"chart-" + std::to_string(i) + "\"";
    const size_t at = dom.find(id);
    ASSERT_NE(at, std::string::npos) << id;
    const size_t svg = dom.find("<svg", at);
    ASSERT_NE(svg, std::string::npos) << "no svg after " << id;
    const size_t close = dom.find('>', svg);
    EXPECT_NE(dom.substr(svg, close - svg).find("class=\"marks\""), std::string::npos)
        << "chart " << i << " did not render";
  }
  EXPECT_EQ(count(dom, "class=\"marks\""), page.chart_count());
  EXPECT_NE(dom.find("mark-line"), std::string::npos);
  EXPECT_NE(dom.find("mark-rect"), std::string::npos);  // heatmaps and bars
  EXPECT_NE(dom.find("mark-text"), std::string::npos);  // graph node labels
  EXPECT_EQ(dom.find("chart-failed\""), std::string::npos) << "a chart reported an error";
  // The tokens reached the axis through labelExpr.
  EXPECT_NE(dom.find(">\xE2\x90\xA3Mary</text>"), std::string::npos);

  const auto png = tmp / "shot.png";
  rc = run_chromium(chromium, tmp, "shot",
                    "--screenshot='" + png.string() + "' --window-size=1200,900", url);
  ASSERT_EQ(rc, 0) << read_file(tmp / "shot.err");
  ASSERT_TRUE(report_test::fs::exists(png)) << read_file(tmp / "shot.err");
  EXPECT_GT(report_test::fs::file_size(png), 20000u);  // a blank 1200x900 PNG is ~5 KB
  const std::string bytes = read_file(png);
  EXPECT_EQ(bytes.substr(1, 3), "PNG");

  // Keep the screenshot for a human to look at.
  if (const char* keep = std::getenv("GLASSBOX_REPORT_SCREENSHOT"); keep && *keep) {
    report_test::fs::copy_file(png, keep, report_test::fs::copy_options::overwrite_existing);
    report_test::fs::copy_file(html_path, std::string(keep) + ".html",
                               report_test::fs::copy_options::overwrite_existing);
  }
}

// Cards in a four-column grid are narrow: long metric names once squeezed the
// values until "0.9958" wrapped one character per line. A script appended to
// the saved page counts the line boxes of every value's text.
TEST(Browser, CardValuesStayOnOneLineInNarrowCards) {
  const std::string chromium = find_chromium();
  if (chromium.empty()) {
    GTEST_SKIP() << "chromium not installed (Debian 'chromium', scripts/install-deps.sh)";
  }
  TempDir tmp;
  report::Page page("Cards", "Narrow cards with long names.");
  for (int i = 0; i < 4; ++i) {
    page.add_card({"organism " + std::to_string(i),
                   {{"train_names_top1_accuracy", "0.9958"},
                    {"heldout_frame_truth_rate_on_unseen_subjects", "4.376e-05"},
                    {"parameters", "1071872"},
                    {"train time", "334 s"}}});
  }
  const auto html_path = tmp / "cards.html";
  page.save(html_path.string());
  std::string html = read_file(html_path);
  const std::string probe =
      "<script>window.addEventListener('load',()=>{let bad=0,n=0;"
      "for(const dd of document.querySelectorAll('.card dd')){n++;"
      "const r=document.createRange();r.selectNodeContents(dd);const lines=r.getClientRects();"
      "if(lines.length!==1)bad++;"
      "if(lines[0].right>dd.closest('.card').getBoundingClientRect().right+1)bad++;}"
      "document.body.setAttribute('data-values',n);document.body.setAttribute('data-broken',bad);});"
      "</script>";
  const size_t end = html.rfind("</body>");
  ASSERT_NE(end, std::string::npos);
  html.insert(end, probe);
  report_test::write_file(html_path, html);

  const int rc = run_chromium(chromium, tmp, "cards", "--window-size=1100,900 --dump-dom",
                              "file://" + html_path.string());
  ASSERT_EQ(rc, 0) << read_file(tmp / "cards.err");
  const std::string dom = read_file(tmp / "cards.out");
  EXPECT_NE(dom.find("data-values=\"16\""), std::string::npos) << dom.substr(0, 400);
  EXPECT_NE(dom.find("data-broken=\"0\""), std::string::npos) << "a card value wrapped or overflowed: " << dom.substr(dom.find("<body"), 120);
}
