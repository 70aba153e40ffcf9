// Pages and sites: escaping, structure, asset lookup, atomic saves.
#include <cstdlib>

#include <gtest/gtest.h>

#include "glassbox/error.h"
#include "glassbox/report.h"
#include "report_test_util.h"

namespace report = glassbox::report;
using report_test::count;
using report_test::read_file;
using report_test::TempDir;
using report_test::write_file;

namespace {

// Stand-in assets so these tests need neither npm nor the real files; one of
// them holds "</script>" to check that inlining neutralises it.
class StubAssets {
 public:
  StubAssets() {
    write_file(dir_ / "vega.min.js", "var vega = {s: '</script>'};");
    write_file(dir_ / "vega-lite.min.js", "var vegaLite = {};");
    write_file(dir_ / "vega-embed.min.js", "var vegaEmbed = function () {};");
    ::setenv("GLASSBOX_WEB_ASSETS", dir_.path().c_str(), 1);
  }
  ~StubAssets() { ::unsetenv("GLASSBOX_WEB_ASSETS"); }

 private:
  TempDir dir_;
};

report::json small_chart(const std::string& title) {
  return report::bar_chart(title, {"a", "b"}, {1.0f, 2.0f}, "label", "value");
}

}  // namespace

TEST(EscapeHtml, EscapesTheFiveSpecialCharacters) {
  EXPECT_EQ(report::escape_html(R"(<a href="x">Tom & Jerry's</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
  EXPECT_EQ(report::escape_html("plain"), "plain");
}

TEST(EscapeHtml, KeepsValidUtf8AndReplacesInvalidBytes) {
  EXPECT_EQ(report::escape_html("caf\xC3\xA9 \xE2\x9C\x93"), "caf\xC3\xA9 \xE2\x9C\x93");
  EXPECT_EQ(report::escape_html("a\xE2\x9C" "b"), "a\xEF\xBF\xBD\xEF\xBF\xBD" "b");
  EXPECT_EQ(report::escape_html("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
}

TEST(DisplayToken, MarksEdgeSpacesNewlinesAndBrokenBytes) {
  EXPECT_EQ(report::display_token(" the"), "\xE2\x90\xA3the");
  EXPECT_EQ(report::display_token("New York"), "New York");
  EXPECT_EQ(report::display_token("\n"), "\xE2\x86\xB5");
  EXPECT_EQ(report::display_token("\xE2\x96"), "\\xE2\\x96");
}

TEST(Page, EscapesTitleTextAndTableCells) {
  report::Page page("<script>alert(1)</script>", "a & b");
  page.add_heading("<b>bold</b>");
  page.add_text("x < y && y > z");
  page.add_table({"<th>"}, {{"<td>"}});
  page.add_card({"<card>", {{"<k>", "<v>"}}, "<text>"});
  const std::string html = page.html();
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_NE(html.find("<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"), std::string::npos);
  EXPECT_NE(html.find("<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"), std::string::npos);
  EXPECT_NE(html.find("a &amp; b"), std::string::npos);
  EXPECT_NE(html.find("&lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
  EXPECT_NE(html.find("x &lt; y &amp;&amp; y &gt; z"), std::string::npos);
  EXPECT_NE(html.find("<th>&lt;th&gt;</th>"), std::string::npos);
  EXPECT_NE(html.find("<td>&lt;td&gt;</td>"), std::string::npos);
  for (const char* s : {"<card>", "<k>", "<v>", "<text>"}) {
    EXPECT_EQ(html.find(s), std::string::npos) << s;
  }
}

TEST(Page, ChartSpecCannotCloseItsScriptElement) {
  StubAssets assets;
  report::Page page("charts");
  page.add_chart(small_chart("</script><script>alert(1)</script>"), "<caption>");
  const std::string html = page.html();
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find("'</script>'"), std::string::npos);  // from the stub vega.min.js
  EXPECT_NE(html.find("'<\\/script>'"), std::string::npos);
  EXPECT_NE(html.find("&lt;caption&gt;"), std::string::npos);
  // vega, vega-lite, vega-embed, then the spec and the render script.
  EXPECT_EQ(count(html, "<script>"), 4u);
  EXPECT_EQ(count(html, "<script type=\"application/json\" data-chart=\"chart-0\">"), 1u);
  EXPECT_EQ(count(html, "<div class=\"chart\" id=\"chart-0\">"), 1u);
}

TEST(Page, WithoutChartsNeedsNoAssets) {
  ::setenv("GLASSBOX_WEB_ASSETS", "/nonexistent/glassbox-web", 1);
  report::Page page("text only");
  page.add_text("hello");
  std::string html;
  EXPECT_NO_THROW(html = page.html());
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  ::unsetenv("GLASSBOX_WEB_ASSETS");
}

TEST(Page, MissingAssetsNameTheFetchScript) {
  ::setenv("GLASSBOX_WEB_ASSETS", "/nonexistent/glassbox-web", 1);
  report::Page page("charts");
  page.add_chart(small_chart("c"));
  try {
    (void)page.html();
    ADD_FAILURE() << "expected glassbox::Error";
  } catch (const glassbox::Error& e) {
    EXPECT_NE(std::string(e.what()).find("scripts/fetch-web-assets.sh"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/glassbox-web"), std::string::npos);
  }
  ::unsetenv("GLASSBOX_WEB_ASSETS");
}

TEST(Page, RejectsBadTablesAndSpecs) {
  report::Page page("p");
  EXPECT_THROW(page.add_table({"a", "b"}, {{"1"}}), glassbox::Error);
  EXPECT_THROW(page.add_chart(report::json::array()), glassbox::Error);
  EXPECT_THROW(page.add_heading("h", 4), glassbox::Error);
}

TEST(Page, NumericColumnsAreRightAligned) {
  report::Page page("p");
  page.add_table({"name", "loss"}, {{"gpt2", "3.25"}, {"pythia", "1e-3"}});
  const std::string html = page.html();
  EXPECT_NE(html.find("<th class=\"num\">loss</th>"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"num\">1e-3</td>"), std::string::npos);
  EXPECT_NE(html.find("<td>gpt2</td>"), std::string::npos);
}

TEST(Page, SectionsGetUniqueAnchorsInTheNav) {
  report::Page page("p");
  page.add_heading("Layer 0").add_heading("Layer 0").add_heading("detail", 3);
  const std::string html = page.html();
  EXPECT_NE(html.find("<h2 id=\"layer-0\">"), std::string::npos);
  EXPECT_NE(html.find("<h2 id=\"layer-0-2\">"), std::string::npos);
  EXPECT_NE(html.find("href=\"#layer-0-2\""), std::string::npos);
  EXPECT_EQ(html.find("href=\"#detail\""), std::string::npos);
}

TEST(Page, SaveWritesAtomicallyAndReplaces) {
  TempDir dir;
  const auto path = dir / "sub" / "report.html";
  report::Page first("first");
  first.save(path.string());  // creates sub/
  EXPECT_EQ(read_file(path), first.html());

  report::Page second("second");
  second.add_text("replaced");
  second.save(path.string());
  EXPECT_EQ(read_file(path), second.html());
  // Nothing but the report: the temp file was renamed into place.
  size_t entries = 0;
  for (const auto& e : report_test::fs::directory_iterator(dir / "sub")) ++entries, (void)e;
  EXPECT_EQ(entries, 1u);
}

TEST(Page, FailedSaveLeavesNoTempFileBehind) {
  TempDir dir;
  // The target is a non-empty directory, so the final rename must fail.
  report_test::fs::create_directories(dir / "report.html" / "keep");
  report::Page page("p");
  EXPECT_THROW(page.save((dir / "report.html").string()), glassbox::Error);
  size_t entries = 0;
  for (const auto& e : report_test::fs::directory_iterator(dir.path())) ++entries, (void)e;
  EXPECT_EQ(entries, 1u);
  EXPECT_TRUE(report_test::fs::is_directory(dir / "report.html" / "keep"));
}

TEST(Site, WritesIndexAndPagesWithSharedNav) {
  StubAssets assets;
  TempDir dir;
  report::Site site("glassbox tour", "what a model does");
  site.index().add_card({"gpt2", {{"layers", "12"}, {"d_model", "768"}}});
  site.add_page("attention", "Attention", "patterns per head").add_chart(small_chart("c"));
  site.add_page("patching", "Patching").add_heading("Residual stream");
  const std::string index = site.save((dir / "tour").string());

  EXPECT_EQ(index, (dir / "tour" / "index.html").string());
  const std::string idx = read_file(index);
  EXPECT_NE(idx.find("href=\"attention.html\""), std::string::npos);
  EXPECT_NE(idx.find("patterns per head"), std::string::npos);
  EXPECT_NE(idx.find("<dd>768</dd>"), std::string::npos);
  EXPECT_EQ(idx.find("<script>"), std::string::npos);  // no charts, no JS

  const std::string patching = read_file(dir / "tour" / "patching.html");
  EXPECT_NE(patching.find("class=\"link current\" href=\"patching.html\""), std::string::npos);
  EXPECT_NE(patching.find("class=\"link\" href=\"attention.html\""), std::string::npos);
  EXPECT_NE(patching.find("href=\"#residual-stream\""), std::string::npos);
  EXPECT_NE(read_file(dir / "tour" / "attention.html").find("data-chart=\"chart-0\""),
            std::string::npos);
}

TEST(Site, RejectsBadAndDuplicateSlugs) {
  report::Site site("s");
  site.add_page("ok-1", "ok");
  EXPECT_THROW(site.add_page("ok-1", "again"), glassbox::Error);
  EXPECT_THROW(site.add_page("index", "index"), glassbox::Error);
  EXPECT_THROW(site.add_page("../x", "x"), glassbox::Error);
  EXPECT_THROW(site.add_page("", "x"), glassbox::Error);
}
