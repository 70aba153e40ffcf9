// Feature dashboards as a report page plus chunk files of per-latent data.
#include "glassbox/pages/dashboard.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "glassbox/error.h"
#include "glassbox/mmap_file.h"
#include "pages/dashboard_assets.h"
#include "report/detail.h"

namespace glassbox::pages {

using report::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema = "https://vega.github.io/schema/vega-lite/v5.json";

// Three significant digits: the page shows no more, and the chunk files shrink by half.
double r3(double v) {
  if (!std::isfinite(v) || v == 0) return 0;
  return std::strtod(report::format_number(v, "%.3g").c_str(), nullptr);
}

json histogram_spec(const std::string& title, const std::vector<float>& edges, const std::vector<double>& counts,
                    const std::string& x_title, const std::string& y_title, const char* color) {
  json values = json::array();
  for (size_t i = 0; i < counts.size() && i + 1 < edges.size(); ++i)
    values.push_back({{"lo", r3(edges[i])}, {"hi", r3(edges[i + 1])}, {"count", r3(counts[i])}});
  return {{"$schema", kSchema},
          {"title", title},
          {"width", "container"},
          {"height", 130},
          {"data", {{"values", std::move(values)}}},
          {"mark", {{"type", "bar"}, {"color", color}, {"binSpacing", 0}}},
          {"encoding",
           {{"x", {{"field", "lo"}, {"type", "quantitative"}, {"bin", {{"binned", true}}}, {"title", x_title},
                   {"axis", {{"tickCount", 5}, {"labelOverlap", true}}}}},
            {"x2", {{"field", "hi"}}},
            {"y", {{"field", "count"}, {"type", "quantitative"}, {"title", y_title}}},
            {"tooltip", json::array({{{"field", "lo"}, {"type", "quantitative"}, {"title", "from"}},
                                     {{"field", "hi"}, {"type", "quantitative"}, {"title", "to"}},
                                     {{"field", "count"}, {"type", "quantitative"}, {"title", y_title},
                                      {"format", ".4~g"}}})}}},
          {"config", {{"view", {{"stroke", nullptr}}},
                      {"font", "system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif"},
                      {"title", {{"fontSize", 13}, {"fontWeight", 600}, {"anchor", "start"}}},
                      {"axis", {{"labelColor", "#5b6470"}, {"gridColor", "#edf0f3"}, {"domainColor", "#c9d1da"}}}}}};
}

json record_json(const features::ActivationRecord& r, const features::RecordSource& s) {
  json acts = json::array();
  for (float a : r.acts) acts.push_back(r3(a));
  return {{"t", r.tokens}, {"a", std::move(acts)}, {"c", s.center}};
}

json records_json(const std::vector<features::ActivationRecord>& r, const std::vector<features::RecordSource>& s,
                  size_t first, size_t count) {
  json a = json::array();
  for (size_t i = first; i < first + count && i < r.size(); ++i)
    a.push_back(record_json(r[i], i < s.size() ? s[i] : features::RecordSource{}));
  return a;
}

json effects(const std::vector<features::LogitEffect>& v) {
  json a = json::array();
  for (const auto& e : v) a.push_back({e.text, r3(e.value)});
  return a;
}

json panel_json(const features::FeatureExamples& ex, const features::FeatureDashboard& d) {
  json bands = json::array();
  for (const auto& b : d.quantile_bands)
    bands.push_back({{"lo", r3(b.lo)}, {"hi", r3(b.hi)}, {"qlo", b.q_lo}, {"qhi", b.q_hi},
                     {"recs", records_json(ex.quantiles, d.quantile_sources, size_t(b.first), size_t(b.count))}});
  json co = json::array();
  for (const auto& c : d.cooccurring) co.push_back({c.feature, c.count, r3(c.fraction)});
  return {{"f", d.feature},
          {"density", d.density},
          {"active", d.active_tokens},
          {"max", r3(d.max_act)},
          {"mean", r3(d.mean_act)},
          {"hist", activation_histogram_chart(d)},
          {"pos", effects(d.top_logits)},
          {"neg", effects(d.bottom_logits)},
          {"co", std::move(co)},
          {"expl", d.explanation},
          {"score", std::isfinite(d.score) ? json(d.score) : json(nullptr)},
          {"method", d.score_method},
          {"top", records_json(ex.top, d.top_sources, 0, ex.top.size())},
          {"bands", std::move(bands)},
          {"rand", records_json(ex.random, d.random_sources, 0, ex.random.size())}};
}

void check_sizes(const std::vector<features::FeatureExamples>& examples, const features::FeatureDashboardData& data,
                 const DashboardPageOptions& opt) {
  if (examples.size() != data.features.size())
    fail("feature dashboard page: ", examples.size(), " feature examples but ", data.features.size(), " dashboards");
  if (opt.chunk < 1) fail("feature dashboard page: chunk must be >= 1, got ", opt.chunk);
  if (opt.data_dir.empty() || fs::path(opt.data_dir).is_absolute() ||
      opt.data_dir.find("..") != std::string::npos || opt.data_dir.find_first_of("\"'<>\\") != std::string::npos)
    fail("feature dashboard page: data_dir '", opt.data_dir, "' must be a plain relative path");
}

// The strongest distinct tokens of a latent's top contexts: what the index lists and searches.
std::vector<std::string> top_tokens(const features::FeatureExamples& ex, const features::FeatureDashboard& d,
                                    int n) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < ex.top.size() && int(out.size()) < n; ++i) {
    const int c = i < d.top_sources.size() ? d.top_sources[i].center : 0;
    if (c < 0 || size_t(c) >= ex.top[i].tokens.size()) continue;
    if (seen.insert(ex.top[i].tokens[size_t(c)]).second) out.push_back(ex.top[i].tokens[size_t(c)]);
  }
  return out;
}

}  // namespace

report::json activation_histogram_chart(const features::FeatureDashboard& d) {
  return histogram_spec("activation histogram (active tokens)", d.histogram.edges, d.histogram.counts,
                        "activation", "tokens", "#f97316");
}

report::json density_histogram_chart(const features::FeatureDashboardData& data) {
  // log10 density in quarter decades, from the rarest live latent's decade to 1.
  double lo = 0;
  for (const auto& f : data.features)
    if (f.density > 0) lo = std::min(lo, std::floor(std::log10(f.density)));
  const int bins = std::max(1, int(-lo * 4));
  std::vector<float> edges;
  std::vector<double> counts(static_cast<size_t>(bins), 0.0);
  for (int i = 0; i <= bins; ++i) edges.push_back(float(lo + i * 0.25));
  for (const auto& f : data.features) {
    if (f.density <= 0) continue;
    counts[size_t(std::clamp(int((std::log10(f.density) - lo) * 4), 0, bins - 1))] += 1;
  }
  return histogram_spec("activation density of the latents", edges, counts, "log10 density (fraction of tokens > 0)",
                        "latents", "#2563eb");
}

void add_dashboard_sections(report::Page& page, const std::vector<features::FeatureExamples>& examples,
                            const features::FeatureDashboardData& data, const DashboardPageOptions& opt) {
  check_sizes(examples, data, opt);
  int64_t dead = 0;
  std::vector<double> dens;
  for (const auto& f : data.features) dead += f.active_tokens == 0, dens.push_back(f.density);
  std::sort(dens.begin(), dens.end());
  const double median = dens.empty() ? 0 : dens[dens.size() / 2];
  page.add_card({data.hook_name, {{"latents", std::to_string(data.features.size())}, {"dead", std::to_string(dead)},
                                  {"median density", report::format_number(median, "%.3g")}}});
  page.add_card({"Corpus", {{"model", fs::path(data.model).lexically_normal().filename().string()},
                            {"tokens", std::to_string(data.tokens)}, {"sequences", std::to_string(data.sequences)},
                            {"sequence length", std::to_string(data.seq_len)},
                            {"context shown", std::string("-") + std::to_string(data.context_before) + " / +" +
                                                  std::to_string(data.context_after)}}});
  page.add_chart(density_histogram_chart(data),
                 std::to_string(dead) + " dead latents (never active) are left out. Logit effects are the latent's "
                 "output direction times W_U, without ln_final (Neuronpedia's convention).");
  page.add_heading("Latents");
  page.add_html("<style>" + std::string(detail::kDashboardStyle) + "</style>\n");

  json rows = json::array();
  for (size_t i = 0; i < data.features.size(); ++i) {
    const auto& d = data.features[i];
    json logit_tokens = json::array();
    for (size_t k = 0; k < d.top_logits.size() && k < 3; ++k) logit_tokens.push_back(d.top_logits[k].text);
    rows.push_back({d.feature, d.density, r3(d.max_act), d.explanation,
                    std::isfinite(d.score) ? json(d.score) : json(nullptr), top_tokens(examples[i], d, opt.index_tokens),
                    std::move(logit_tokens)});
  }
  const json index = {{"chunk", opt.chunk}, {"dir", opt.data_dir}, {"rows", std::move(rows)}};
  page.add_html(
      "<div class=\"gb-dash\">\n<div class=\"panel gb-index\">\n<div class=\"gb-bar\">"
      "<input id=\"gb-dash-search\" type=\"search\" placeholder=\"Search explanations and tokens\" "
      "aria-label=\"Search latents\">"
      "<select id=\"gb-dash-sort\" aria-label=\"Sort\"><option value=\"id\">by latent</option>"
      "<option value=\"max\">by max activation</option><option value=\"density\">by density</option>"
      "<option value=\"score\">by score</option></select></div>\n"
      "<div class=\"gb-count\" id=\"gb-dash-count\"></div>\n<div class=\"gb-scroll\">"
      "<table id=\"gb-dash-table\"><thead><tr><th class=\"num\">#</th><th class=\"num\">density</th>"
      "<th class=\"num\">max</th><th>explanation</th><th class=\"num\">score</th></tr></thead>"
      "<tbody></tbody></table></div>\n</div>\n"
      "<div class=\"panel gb-panel\" id=\"gb-dash-panel\"><p class=\"gb-muted\">Select a latent.</p></div>\n</div>\n"
      "<script type=\"application/json\" id=\"gb-dash-index\">" +
      report::detail::json_for_script(index) + "</script>\n<script>" +
      report::detail::script_safe(detail::kDashboardScript) + "</script>\n");
}

void write_dashboard_data(const std::string& site_dir, const std::vector<features::FeatureExamples>& examples,
                          const features::FeatureDashboardData& data, const DashboardPageOptions& opt) {
  check_sizes(examples, data, opt);
  const fs::path dir = fs::path(site_dir) / opt.data_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("feature dashboard page: cannot create directory ", dir.string(), ": ", ec.message());
  const size_t n = examples.size(), chunk = size_t(opt.chunk);
  for (size_t k = 0; k * chunk < n; ++k) {
    json list = json::array();
    for (size_t i = k * chunk; i < std::min(n, (k + 1) * chunk); ++i)
      list.push_back(panel_json(examples[i], data.features[i]));
    char name[32];
    std::snprintf(name, sizeof name, "chunk-%04zu.js", k);
    const std::string text = std::string("glassboxDashboard.chunk(") + std::to_string(k) + ", " +
                             report::detail::json_for_script(list) + ");\n";
    write_file_atomic((dir / name).string(), text.data(), text.size());
  }
}

std::string save_dashboard(const std::string& dir, const std::vector<features::FeatureExamples>& examples,
                           const features::FeatureDashboardData& data, const DashboardPageOptions& opt) {
  report::Page page("Feature dashboards: " + data.hook_name,
                    std::to_string(data.features.size()) + " latents over " + std::to_string(data.tokens) +
                        " tokens of " + (data.corpus.empty() ? std::string("the corpus") : data.corpus));
  add_dashboard_sections(page, examples, data, opt);
  write_dashboard_data(dir, examples, data, opt);
  const std::string path = (fs::path(dir) / "index.html").string();
  page.save(path);
  return path;
}

}  // namespace glassbox::pages
