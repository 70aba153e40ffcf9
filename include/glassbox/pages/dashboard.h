// Feature dashboards as HTML: a searchable index of latents (density, max
// activation, explanation, score, top tokens; a search box filtering by
// explanation and token text) and a panel for the selected latent: top
// contexts with tokens shaded by activation (hover shows the value), samples
// from activation quantile bands, random contexts, the activation histogram
// (Vega-Lite), top positive / negative logit tokens, co-occurring latents
// (links) and the explanation with its score.
//
// Page size stays sane for thousands of latents: the page holds only the
// index; each latent's panel data lives in chunk files beside it
// (<data_dir>/chunk-NNNN.js, `chunk` latents each) that the page loads with a
// <script> element when a latent is opened — plain local files, so the
// report still opens offline from disk, with no fetch.
#pragma once
#include <string>
#include <vector>

#include "glassbox/features/activations.h"
#include "glassbox/features/dashboard.h"
#include "glassbox/report.h"

namespace glassbox::pages {

struct DashboardPageOptions {
  std::string data_dir = "dashboard-data";  // chunk files, relative to the page
  int chunk = 64;                           // latents per chunk file
  int index_tokens = 5;                     // top-activating tokens listed (and searchable) per latent
};

// Vega-Lite: a latent's activation histogram (bars on its linear bins).
report::json activation_histogram_chart(const features::FeatureDashboard& d);
// Vega-Lite: log10 activation density over all latents (dead latents left out; the caption counts them).
report::json density_histogram_chart(const features::FeatureDashboardData& data);

// Summary cards, the density chart, the index and the panel viewer, on `page`.
void add_dashboard_sections(report::Page& page, const std::vector<features::FeatureExamples>& examples,
                            const features::FeatureDashboardData& data, const DashboardPageOptions& opt = {});
// The chunk files, under site_dir/opt.data_dir (created; written atomically).
void write_dashboard_data(const std::string& site_dir, const std::vector<features::FeatureExamples>& examples,
                          const features::FeatureDashboardData& data, const DashboardPageOptions& opt = {});
// A standalone report: dir/index.html plus its chunk files; returns the page's path.
std::string save_dashboard(const std::string& dir, const std::vector<features::FeatureExamples>& examples,
                           const features::FeatureDashboardData& data, const DashboardPageOptions& opt = {});

}  // namespace glassbox::pages
