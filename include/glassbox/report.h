// glassbox::report — self-contained HTML reports.
//
// Charts are Vega-Lite v5 specs (JSON, data inlined) rendered in the page by
// vega-embed; the minified vega / vega-lite / vega-embed builds are inlined
// into every page that has a chart, so a report opens offline from a file.
// The builds come from scripts/fetch-web-assets.sh; they are found as
// glassbox/resources.h describes (env GLASSBOX_WEB_ASSETS, else
// share/glassbox/web beside the executable: the install's copy, or the
// source tree's third_party/web from a build tree), and rendering a page
// with a chart throws glassbox::Error if none has them.
//
//   report::Page page("Attention patterns");
//   page.add_heading("Layer 0");
//   page.add_chart(report::heatmap("L0H3", tokens, tokens, pattern, "attention"));
//   page.save("out/attention.html");
#pragma once
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace glassbox::report {

using json = nlohmann::json;

// ---- text -------------------------------------------------------------------

// & < > " ' as entities; invalid UTF-8 becomes U+FFFD. Safe in text and in
// quoted attribute values.
std::string escape_html(std::string_view text);

// A token as it should appear on an axis or in a table: leading/trailing
// spaces as '␣', newline as '↵', tab as '⇥', other control bytes as \xNN,
// invalid UTF-8 (a byte-level token cut mid-character) as \xNN.
std::string display_token(std::string_view token);
// A number as printf's `format` (one double conversion, e.g. "%.4g") writes it, for tables and cards.
std::string format_number(double v, const char* format);

// ---- charts (Vega-Lite v5 specs) ---------------------------------------------
// Every builder throws glassbox::Error on inconsistent sizes. Non-finite
// values become null and are left out of the drawing (shown as gaps).

struct Series {
  std::string name;
  std::vector<float> y;
  std::vector<float> x = {};  // empty: 0, 1, ..., y.size()-1
};

// Lines, one per series, with a tooltip on the nearest point (loss curves,
// metric vs. layer). log_y drops values <= 0.
json line_chart(const std::string& title, const std::vector<Series>& series,
                const std::string& x_label, const std::string& y_label, bool log_y = false);

// values: row-major, rows.size() x cols.size(). Labels may repeat (tokens);
// cells are keyed by index. diverging: red-white-blue, symmetric around 0
// (patching effects, logit differences); otherwise white-to-blue (attention).
// Tooltips show both labels and the value.
json heatmap(const std::string& title, const std::vector<std::string>& row_labels,
             const std::vector<std::string>& col_labels, const std::vector<float>& values,
             const std::string& color_label, bool diverging = false,
             const std::string& row_title = "", const std::string& col_title = "");

// Horizontal bars in the given order, negative values in red (top-k logits,
// direct logit attribution per head).
json bar_chart(const std::string& title, const std::vector<std::string>& labels,
               const std::vector<float>& values, const std::string& label_title,
               const std::string& value_title);

// A node-link diagram (circuit graphs). The caller lays the nodes out (x, y
// in any units, y up); edges are drawn as curves whose width follows |weight|
// and colour its sign, dashed when not highlighted. A slider picks how many
// edges are shown, strongest |weight| first (initially `shown`); tooltips
// name nodes and edges. Throws on an edge naming a missing node.
struct GraphNode {
  std::string name;
  float x = 0, y = 0;
  std::string group = {};  // colour legend: "attention", "mlp" ...
};
struct GraphEdge {
  size_t from = 0, to = 0;  // indices into the nodes
  float weight = 0;
  bool highlighted = true;
  std::string to_label = {};  // the tooltip's "to" (default: the node's name), e.g. "a1.h0<k>"
  int lane = 0;               // edges joining the same two nodes bend apart by lane
};
json graph_chart(const std::string& title, const std::vector<GraphNode>& nodes,
                 const std::vector<GraphEdge>& edges, const std::string& weight_title,
                 size_t shown, const std::string& highlight_title = "highlighted");

// ---- pages ------------------------------------------------------------------

// A summary tile: title, key/value rows, an optional line of text, and an
// optional link (makes the whole card clickable).
struct Card {
  std::string title;
  std::vector<std::pair<std::string, std::string>> fields = {};
  std::string text = {};
  std::string href = {};
};

namespace detail {
struct SiteNav;
}

class Page {
 public:
  explicit Page(std::string title, std::string subtitle = {});

  // level 2 headings become sections in the sticky nav; level 3 do not.
  Page& add_heading(std::string_view text, int level = 2);
  Page& add_text(std::string_view paragraph);  // escaped
  // Cells that parse as numbers are right-aligned. Rows must match the header.
  Page& add_table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows);
  Page& add_chart(json spec, std::string_view caption = {});
  Page& add_card(Card card);  // consecutive cards share one grid
  Page& add_html(std::string raw);  // inserted verbatim: the caller escapes

  const std::string& title() const { return title_; }
  size_t chart_count() const { return n_charts_; }

  std::string html() const;
  void save(const std::string& path) const;  // atomic; creates parent directories

 private:
  friend class Site;
  enum class Kind { Html, Chart, Card };
  struct Block {
    Kind kind;
    std::string html;  // Html: markup; Chart: caption; Card: unused
    json spec;
    Card card;
  };
  struct Section {
    std::string id, text;
  };
  std::string render(const detail::SiteNav* nav) const;

  std::string title_, subtitle_;
  std::vector<Block> blocks_;
  std::vector<Section> sections_;
  size_t n_charts_ = 0;
};

// Several pages sharing a nav bar, plus index.html listing them:
//   out/tour/index.html, out/tour/<slug>.html
class Site {
 public:
  explicit Site(std::string title, std::string subtitle = {});

  // slug: [a-z0-9_-]+, not "index", unique. The reference stays valid.
  Page& add_page(const std::string& slug, std::string title, std::string summary = {});
  // The index page: what is added here comes before the list of pages.
  Page& index() { return index_; }

  // Writes every page (atomically) into dir, creating it; returns the path
  // of index.html.
  std::string save(const std::string& dir) const;

 private:
  struct Entry {
    std::string slug, summary;
    Page page;
  };
  std::string title_;
  Page index_;
  std::deque<Entry> pages_;  // deque: references from add_page stay valid
};

}  // namespace glassbox::report
