// The look of every report: one stylesheet and one chart theme, light,
// system fonts, content on white panels over a pale grey page.
#include "report/detail.h"

namespace glassbox::report::detail {

const char* const kStyle = R"CSS(
:root{--bg:#f5f6f8;--fg:#1f2328;--muted:#5b6470;--panel:#fff;--border:#dde2e8;--line:#edf0f3;
--accent:#2563eb;--accent-bg:#e8f0fe;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html{scroll-behavior:smooth}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif;
-webkit-font-smoothing:antialiased}
a{color:var(--accent)}
.top{position:sticky;top:0;z-index:10;background:rgba(255,255,255,.94);
backdrop-filter:saturate(180%) blur(8px);border-bottom:1px solid var(--border)}
.top .row{max-width:1120px;margin:0 auto;padding:0 28px;display:flex;align-items:center;gap:6px;
overflow-x:auto;scrollbar-width:none}
.top .row.main{height:52px}
.top .row.sections{height:34px;margin-top:-6px}
.top .sections a.link:first-child{margin-left:-9px}
.top .brand{font-weight:650;font-size:15px;color:var(--fg);text-decoration:none;white-space:nowrap;
margin-right:18px;display:flex;align-items:center;gap:8px}
.top .brand::before{content:"";width:14px;height:14px;border-radius:4px;
background:linear-gradient(135deg,#2563eb,#7c3aed)}
.top a.link{color:var(--muted);text-decoration:none;padding:5px 10px;border-radius:6px;
white-space:nowrap;font-size:14px}
.top .sections a.link{font-size:13px;padding:3px 9px}
.top a.link:hover{background:#eef1f5;color:var(--fg)}
.top a.link.current{color:var(--accent);background:var(--accent-bg);font-weight:600}
main{max-width:1120px;margin:0 auto;padding:32px 28px 56px}
h1{font-size:28px;line-height:1.25;margin:0 0 6px;letter-spacing:-.01em}
.subtitle{color:var(--muted);margin:0 0 28px;font-size:16px}
h2{font-size:20px;margin:40px 0 14px;padding-bottom:8px;border-bottom:1px solid var(--border);
scroll-margin-top:104px}
h3{font-size:16px;margin:26px 0 10px;scroll-margin-top:104px}
h1+h2,.subtitle+h2{margin-top:8px}
p{margin:0 0 14px;max-width:78ch}
code{font-family:var(--mono);font-size:.9em;background:#eef1f5;padding:1px 5px;border-radius:4px}
.panel{background:var(--panel);border:1px solid var(--border);border-radius:10px;
box-shadow:0 1px 2px rgba(16,24,40,.04);margin:0 0 18px}
figure.panel{padding:18px 20px 14px;overflow-x:auto}
figcaption{color:var(--muted);font-size:13px;margin-top:8px}
div.chart{width:100%;min-height:40px}
.chart-failed{color:#b42318;background:#fef3f2;border-radius:6px;padding:12px;font:13px var(--mono)}
.table{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{padding:8px 14px;text-align:left;border-bottom:1px solid var(--line);white-space:nowrap}
th{font-size:12px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;
background:#fafbfc}
td.num{text-align:right;font-family:var(--mono);font-size:13px;font-variant-numeric:tabular-nums}
th.num{text-align:right}
tbody tr:last-child td{border-bottom:none}
tbody tr:hover{background:#f7f9fb}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:16px;margin:0 0 18px}
.card{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:16px 18px;
box-shadow:0 1px 2px rgba(16,24,40,.04);color:inherit;text-decoration:none;display:block}
a.card:hover{border-color:#9db8f5;box-shadow:0 4px 14px rgba(37,99,235,.10)}
.card h3{margin:0 0 10px;font-size:15px}
a.card h3{color:var(--accent)}
.card p{margin:0;color:var(--muted);font-size:14px}
/* The value keeps its own width and never breaks (a narrow card once wrapped
   "0.9958" one character per line); a long metric name wraps instead. */
.card dl{display:grid;grid-template-columns:minmax(0,1fr) auto;gap:5px 14px;margin:0;font-size:14px}
.card dl+p{margin-top:10px}
.card dt{color:var(--muted);overflow-wrap:anywhere}
.card dd{margin:0;text-align:right;font-family:var(--mono);font-size:13px;
font-variant-numeric:tabular-nums;white-space:nowrap}
footer{max-width:1120px;margin:0 auto;padding:0 28px 36px;color:var(--muted);font-size:13px}
)CSS";

// Fonts and colours for every chart; one 'failed' box instead of a blank
// space when a spec is wrong. The svg renderer keeps the output in the DOM,
// which the browser test reads.
const char* const kRenderCharts = R"JS(
(function () {
  var font = 'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif';
  var config = {
    font: font,
    background: '#ffffff',
    padding: 4,
    view: {stroke: null},
    title: {fontSize: 14, fontWeight: 600, color: '#1f2328', anchor: 'start', offset: 12},
    axis: {labelColor: '#5b6470', titleColor: '#1f2328', labelFontSize: 11, titleFontSize: 12,
           titleFontWeight: 500, gridColor: '#edf0f3', domainColor: '#c9d1da', tickColor: '#c9d1da',
           titlePadding: 10},
    legend: {labelColor: '#5b6470', titleColor: '#1f2328', labelFontSize: 11, titleFontSize: 12,
             titleFontWeight: 500},
    line: {strokeWidth: 2},
    range: {category: ['#2563eb', '#f97316', '#16a34a', '#dc2626', '#7c3aed', '#0891b2',
                       '#ca8a04', '#db2777', '#64748b']}
  };
  function failed(el, err) {
    el.className = 'chart chart-failed';
    el.textContent = 'Chart failed to render: ' + (err && err.message ? err.message : err);
  }
  var specs = document.querySelectorAll('script[type="application/json"][data-chart]');
  Array.prototype.forEach.call(specs, function (s) {
    var el = document.getElementById(s.getAttribute('data-chart'));
    if (typeof vegaEmbed !== 'function') return failed(el, 'vega-embed is missing');
    var spec;
    try { spec = JSON.parse(s.textContent); } catch (e) { return failed(el, e); }
    vegaEmbed(el, spec, {renderer: 'svg', config: config,
                         actions: {export: true, source: false, compiled: false, editor: false}})
      .catch(function (e) { failed(el, e); });
  });
})();
)JS";

}  // namespace glassbox::report::detail
