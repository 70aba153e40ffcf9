// Site: pages sharing a nav bar, and an index.html that lists them.
#include <filesystem>

#include "core/atomic_write.h"
#include "glassbox/error.h"
#include "glassbox/report.h"
#include "report/detail.h"

namespace glassbox::report {

Site::Site(std::string title, std::string subtitle)
    : title_(title), index_(std::move(title), std::move(subtitle)) {}

Page& Site::add_page(const std::string& slug, std::string title, std::string summary) {
  bool ok = !slug.empty() && slug != "index";
  for (char c : slug) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-');
  }
  if (!ok) fail("report::Site::add_page: slug '", slug, "' (expected [a-z0-9_-]+, not 'index')");
  for (const Entry& e : pages_) {
    if (e.slug == slug) fail("report::Site::add_page: slug '", slug, "' is already a page");
  }
  pages_.push_back({slug, std::move(summary), Page(std::move(title))});
  return pages_.back().page;
}

std::string Site::save(const std::string& dir) const {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("report: cannot create directory ", dir, ": ", ec.message());

  auto nav_for = [&](const std::string& current) {
    detail::SiteNav nav{title_, {}};
    for (const Entry& e : pages_) {
      nav.pages.push_back({e.slug + ".html", e.page.title(), e.slug == current});
    }
    return nav;
  };
  auto write = [](const fs::path& path, const std::string& text) {
    glassbox::detail::write_file_atomic_parts(path.string(), {{text.data(), text.size()}});
  };

  for (const Entry& e : pages_) {
    detail::SiteNav nav = nav_for(e.slug);
    write(fs::path(dir) / (e.slug + ".html"), e.page.render(&nav));
  }
  Page index = index_;
  if (!pages_.empty()) {
    index.add_html("<h2 id=\"pages\">Pages</h2>\n");  // not a nav section: the nav lists them
    for (const Entry& e : pages_) {
      index.add_card({e.page.title(), {}, e.summary, e.slug + ".html"});
    }
  }
  detail::SiteNav nav = nav_for("");
  const fs::path path = fs::path(dir) / "index.html";
  write(path, index.render(&nav));
  return path.string();
}

}  // namespace glassbox::report
