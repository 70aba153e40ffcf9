// Internal to the report layer: page chrome, assets, JSON-in-HTML.
#pragma once
#include <string>
#include <vector>

#include "glassbox/report.h"

namespace glassbox::report::detail {

// What a page of a Site shows in its nav bar.
struct SiteNav {
  std::string title;  // links to index.html
  struct Link {
    std::string href, text;
    bool current;
  };
  std::vector<Link> pages;
};

struct WebAssets {
  std::string dir;  // where they were found, for messages
  std::string vega, vega_lite, vega_embed;
};

// The inlined JavaScript, read once per directory; throws glassbox::Error
// naming the directories tried and scripts/fetch-web-assets.sh.
const WebAssets& web_assets();

// JSON text that can sit inside <script>: '<', '>' and '&' as \u escapes, so
// no string in it can close the element. Invalid UTF-8 becomes U+FFFD.
std::string json_for_script(const json& j);

// JavaScript made safe to inline: any "</script" becomes "<\/script".
std::string script_safe(std::string js);

extern const char* const kStyle;        // the page CSS
extern const char* const kRenderCharts; // runs vegaEmbed on every chart

}  // namespace glassbox::report::detail
