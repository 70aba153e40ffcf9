// Internal to the dashboard page: its stylesheet and the script that renders
// the index and the selected latent's panel in the browser.
#pragma once

namespace glassbox::pages::detail {

extern const char* const kDashboardStyle;
// Reads the index from <script id="gb-dash-index" type="application/json">,
// fills #gb-dash-table and #gb-dash-panel; chunk files call
// glassboxDashboard.chunk(k, [latent, ...]).
extern const char* const kDashboardScript;

}  // namespace glassbox::pages::detail
