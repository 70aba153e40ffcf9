// Finds and reads the inlined JavaScript (vega, vega-lite, vega-embed).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "glassbox/error.h"
#include "glassbox/resources.h"
#include "report/detail.h"

namespace glassbox::report::detail {
namespace {

namespace fs = std::filesystem;

constexpr const char* kFiles[] = {"vega.min.js", "vega-lite.min.js", "vega-embed.min.js"};

bool has_all(const fs::path& dir) {
  std::error_code ec;
  for (const char* f : kFiles) {
    if (!fs::is_regular_file(dir / f, ec) || fs::file_size(dir / f, ec) == 0) return false;
  }
  return true;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) fail("report: cannot read web asset ", p.string());
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

std::vector<fs::path> candidates() {
  const std::vector<std::string> dirs = resource_dirs(kWebAssetsResource);
  return {dirs.begin(), dirs.end()};
}

}  // namespace

const WebAssets& web_assets() {
  static std::mutex mu;
  static std::map<std::string, WebAssets> cache;  // by directory; never erased
  std::vector<fs::path> dirs = candidates();
  for (const fs::path& dir : dirs) {
    if (!has_all(dir)) continue;
    std::lock_guard<std::mutex> lock(mu);
    auto it = cache.find(dir.string());
    if (it == cache.end()) {
      WebAssets a;
      a.dir = dir.string();
      a.vega = script_safe(read_all(dir / kFiles[0]));
      a.vega_lite = script_safe(read_all(dir / kFiles[1]));
      a.vega_embed = script_safe(read_all(dir / kFiles[2]));
      it = cache.emplace(a.dir, std::move(a)).first;
    }
    return it->second;
  }
  std::string tried;
  for (const fs::path& d : dirs) tried += (tried.empty() ? "" : ", ") + d.string();
  fail("report: vega.min.js, vega-lite.min.js, vega-embed.min.js not found in ",
       tried.empty() ? std::string("(no directory configured)") : tried,
       "; run scripts/fetch-web-assets.sh, or set GLASSBOX_WEB_ASSETS to a directory holding them");
}

std::string script_safe(std::string js) {
  // "<\/" is the same string/regex in JS and does not end the element.
  for (size_t i = 0; (i = js.find("</", i)) != std::string::npos; i += 2) {
    std::string_view rest(js.data() + i + 2, std::min<size_t>(6, js.size() - i - 2));
    bool script = rest.size() == 6;
    for (size_t k = 0; script && k < 6; ++k) {
      script = std::tolower(static_cast<unsigned char>(rest[k])) == "script"[k];
    }
    if (script) js.insert(i + 1, "\\");
  }
  return js;
}

std::string json_for_script(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    // Only inside JSON strings can these appear, where \u escapes mean the same.
    if (c == '<') out += "\\u003c";
    else if (c == '>') out += "\\u003e";
    else if (c == '&') out += "\\u0026";
    else out += c;
  }
  return out;
}

}  // namespace glassbox::report::detail
