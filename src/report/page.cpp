// Page: a list of blocks (headings, text, tables, charts, cards) rendered to
// one self-contained HTML file.
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "core/atomic_write.h"
#include "glassbox/error.h"
#include "glassbox/report.h"
#include "report/detail.h"

namespace glassbox::report {
namespace {

bool is_number(const std::string& s) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

std::string slugify(std::string_view text) {
  std::string id;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) id += static_cast<char>(std::tolower(c));
    else if (!id.empty() && id.back() != '-') id += '-';
  }
  while (!id.empty() && id.back() == '-') id.pop_back();
  return id.empty() ? "section" : id;
}

void render_card(std::string& out, const Card& c) {
  const bool link = !c.href.empty();
  out += link ? "<a class=\"card\" href=\"" + escape_html(c.href) + "\">" : "<div class=\"card\">";
  if (!c.title.empty()) out += "<h3>" + escape_html(c.title) + "</h3>";
  if (!c.fields.empty()) {
    out += "<dl>";
    for (const auto& [k, v] : c.fields) {
      out += "<dt>" + escape_html(k) + "</dt><dd>" + escape_html(v) + "</dd>";
    }
    out += "</dl>";
  }
  if (!c.text.empty()) out += "<p>" + escape_html(c.text) + "</p>";
  out += link ? "</a>" : "</div>";
}

}  // namespace

Page::Page(std::string title, std::string subtitle)
    : title_(std::move(title)), subtitle_(std::move(subtitle)) {}

Page& Page::add_heading(std::string_view text, int level) {
  if (level != 2 && level != 3) fail("report::Page::add_heading: level ", level, " (expected 2 or 3)");
  std::string id = slugify(text);
  // Unique among this page's headings: "layer-0", "layer-0-2", ...
  auto taken = [&](const std::string& s) {
    for (const Block& b : blocks_) {
      if (b.kind == Kind::Html && b.html.find(" id=\"" + s + "\"") != std::string::npos) return true;
    }
    return false;
  };
  std::string unique = id;
  for (int k = 2; taken(unique); ++k) unique = id + "-" + std::to_string(k);
  // Appended piecewise: GCC 12 warns (-Wrestrict, falsely) on "<" + std::string&&.
  const char tag[] = {'h', static_cast<char>('0' + level), '\0'};
  std::string h = "<";
  h.append(tag).append(" id=\"").append(unique).append("\">").append(escape_html(text));
  h.append("</").append(tag).append(">\n");
  blocks_.push_back({Kind::Html, std::move(h), {}, {}});
  if (level == 2) sections_.push_back({unique, std::string(text)});
  return *this;
}

Page& Page::add_text(std::string_view paragraph) {
  blocks_.push_back({Kind::Html, "<p>" + escape_html(paragraph) + "</p>\n", {}, {}});
  return *this;
}

Page& Page::add_table(const std::vector<std::string>& header,
                      const std::vector<std::vector<std::string>>& rows) {
  const size_t cols = header.size();
  std::vector<bool> numeric(cols, !rows.empty());
  for (size_t r = 0; r < rows.size(); ++r) {
    if (rows[r].size() != cols) {
      fail("report::Page::add_table: row ", r, " has ", rows[r].size(), " cells, header has ", cols);
    }
    for (size_t c = 0; c < cols; ++c) {
      if (!rows[r][c].empty() && !is_number(rows[r][c])) numeric[c] = false;
    }
  }
  auto cls = [&](size_t c) { return numeric[c] ? std::string(" class=\"num\"") : std::string(); };
  std::string h = "<div class=\"panel table\"><table>\n<thead><tr>";
  for (size_t c = 0; c < cols; ++c) h += "<th" + cls(c) + ">" + escape_html(header[c]) + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    h += "<tr>";
    for (size_t c = 0; c < cols; ++c) h += "<td" + cls(c) + ">" + escape_html(row[c]) + "</td>";
    h += "</tr>\n";
  }
  h += "</tbody></table></div>\n";
  blocks_.push_back({Kind::Html, std::move(h), {}, {}});
  return *this;
}

Page& Page::add_chart(json spec, std::string_view caption) {
  if (!spec.is_object()) fail("report::Page::add_chart: the spec must be a JSON object");
  blocks_.push_back({Kind::Chart, std::string(caption), std::move(spec), {}});
  ++n_charts_;
  return *this;
}

Page& Page::add_card(Card card) {
  blocks_.push_back({Kind::Card, {}, {}, std::move(card)});
  return *this;
}

Page& Page::add_html(std::string raw) {
  blocks_.push_back({Kind::Html, std::move(raw), {}, {}});
  return *this;
}

std::string Page::html() const { return render(nullptr); }

std::string Page::render(const detail::SiteNav* nav) const {
  const detail::WebAssets* assets = n_charts_ ? &detail::web_assets() : nullptr;

  std::string out;
  out.reserve(4096 + (assets ? assets->vega.size() + assets->vega_lite.size() +
                                   assets->vega_embed.size()
                             : 0));
  const std::string page_title =
      nav && !nav->title.empty() && nav->title != title_ ? title_ + " · " + nav->title : title_;
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
         "<meta name=\"generator\" content=\"glassbox\">\n<title>";
  out += escape_html(page_title);
  out += "</title>\n<style>";
  out += detail::kStyle;
  out += "</style>\n";
  if (assets) {
    // Inlined so the file opens offline; vega-embed finds vega and vegaLite as globals.
    out += "<script>" + assets->vega + "</script>\n";
    out += "<script>" + assets->vega_lite + "</script>\n";
    out += "<script>" + assets->vega_embed + "</script>\n";
  }
  out += "</head>\n<body>\n";

  // Sticky nav: the site's pages (if any), then this page's sections.
  out += "<header class=\"top\">\n<div class=\"row main\">";
  if (nav) {
    out += "<a class=\"brand\" href=\"index.html\">" + escape_html(nav->title) + "</a>";
    for (const auto& l : nav->pages) {
      out += "<a class=\"link" + std::string(l.current ? " current" : "") + "\" href=\"" +
             escape_html(l.href) + "\">" + escape_html(l.text) + "</a>";
    }
  } else {
    out += "<a class=\"brand\" href=\"#\">" + escape_html(title_) + "</a>";
    for (const Section& s : sections_) {
      out += "<a class=\"link\" href=\"#" + s.id + "\">" + escape_html(s.text) + "</a>";
    }
  }
  out += "</div>\n";
  if (nav && !sections_.empty()) {
    out += "<div class=\"row sections\">";
    for (const Section& s : sections_) {
      out += "<a class=\"link\" href=\"#" + s.id + "\">" + escape_html(s.text) + "</a>";
    }
    out += "</div>\n";
  }
  out += "</header>\n<main>\n<h1>" + escape_html(title_) + "</h1>\n";
  if (!subtitle_.empty()) out += "<p class=\"subtitle\">" + escape_html(subtitle_) + "</p>\n";

  size_t chart = 0;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    const Block& b = blocks_[i];
    switch (b.kind) {
      case Kind::Html:
        out += b.html;
        break;
      case Kind::Chart: {
        const std::string id = "chart-" + std::to_string(chart++);
        out += "<figure class=\"panel\"><div class=\"chart\" id=\"" + id + "\"></div>";
        if (!b.html.empty()) out += "<figcaption>" + escape_html(b.html) + "</figcaption>";
        out += "<script type=\"application/json\" data-chart=\"" + id + "\">" +
               detail::json_for_script(b.spec) + "</script></figure>\n";
        break;
      }
      case Kind::Card:
        if (i == 0 || blocks_[i - 1].kind != Kind::Card) out += "<div class=\"cards\">";
        render_card(out, b.card);
        if (i + 1 == blocks_.size() || blocks_[i + 1].kind != Kind::Card) out += "</div>\n";
        break;
    }
  }
  out += "</main>\n<footer>Made with glassbox";
  if (assets) out += " · charts by Vega-Lite";
  out += "</footer>\n";
  if (assets) out += "<script>" + std::string(detail::kRenderCharts) + "</script>\n";
  out += "</body>\n</html>\n";
  return out;
}

void Page::save(const std::string& path) const {
  const std::string text = html();
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) fail("report: cannot create directory ", parent.string(), ": ", ec.message());
  }
  glassbox::detail::write_file_atomic_parts(path, {{text.data(), text.size()}});
}

}  // namespace glassbox::report
