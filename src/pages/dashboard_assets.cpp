#include "pages/dashboard_assets.h"

namespace glassbox::pages::detail {

const char* const kDashboardStyle = R"CSS(
.gb-dash{display:grid;grid-template-columns:minmax(340px,5fr) 7fr;gap:18px;align-items:start}
@media (max-width:900px){.gb-dash{grid-template-columns:1fr}}
.gb-index{padding:12px 12px 6px;position:sticky;top:96px}
.gb-bar{display:flex;gap:8px}
.gb-bar input{flex:1;min-width:0;padding:7px 10px;border:1px solid var(--border);border-radius:6px;font:inherit;font-size:14px}
.gb-bar select{padding:6px;border:1px solid var(--border);border-radius:6px;font:inherit;font-size:13px;background:#fff}
.gb-count{color:var(--muted);font-size:12px;margin:6px 2px}
.gb-scroll{max-height:calc(100vh - 230px);min-height:240px;overflow:auto;border-top:1px solid var(--line)}
.gb-index th,.gb-index td{padding:5px 6px;font-size:13px}
.gb-index th{font-size:11px;letter-spacing:.02em}
.gb-index th{position:sticky;top:0;z-index:1}
.gb-index td.gb-text{white-space:normal;overflow-wrap:anywhere}
.gb-index .gb-toks{font-family:var(--mono);font-size:11.5px;color:var(--muted);white-space:pre-wrap}
.gb-index tbody tr{cursor:pointer}
.gb-index tbody tr.current{background:var(--accent-bg)}
.gb-muted{color:var(--muted);font-style:italic}
.gb-panel{padding:16px 20px;min-height:320px}
.gb-panel h3{margin:0 0 2px;font-size:19px}
.gb-panel h4{font-size:12px;margin:18px 0 6px;color:var(--muted);text-transform:uppercase;letter-spacing:.04em;font-weight:600}
.gb-stats{color:var(--muted);font-size:13px;font-family:var(--mono)}
.gb-expl{font-size:16px;margin:10px 0 2px}
.gb-score{font-size:13px;color:var(--muted)}
.gb-two{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.gb-logits table td{padding:2px 8px;font-size:13px;border:none}
.gb-logits td.gb-tokcell{font-family:var(--mono);white-space:pre}
.gb-pos{color:#15803d}.gb-neg{color:#b91c1c}
.gb-co a{display:inline-block;margin:0 12px 4px 0;font-family:var(--mono);font-size:13px}
.gb-ctx{display:flex;gap:10px;font-family:var(--mono);font-size:12.5px;line-height:1.85;
border-bottom:1px solid var(--line);padding:1px 0}
.gb-ctx-val{flex:0 0 58px;text-align:right;color:var(--muted)}
.gb-ctx-toks{white-space:pre-wrap;word-break:break-word}
.gb-tok{border-radius:3px}
.gb-tok:hover{outline:1px solid #c2410c}
.gb-center{box-shadow:inset 0 -2px 0 #9a3412}
.gb-chart{width:100%;min-height:150px}
.gb-error{color:#b42318}
details.gb-more summary{cursor:pointer;color:var(--muted);font-size:13px;margin:14px 0 6px}
)CSS";

const char* const kDashboardScript = R"JS(
(function () {
  var IDX = JSON.parse(document.getElementById('gb-dash-index').textContent);
  var rows = IDX.rows;  // [feature, density, max_act, explanation, score, [top tokens], [top logit tokens]]
  var LIMIT = 500;
  var pos = {}, feats = {}, done = {}, waiting = {}, current = null;
  rows.forEach(function (r, i) {
    pos[r[0]] = i;
    r.key = ('#' + r[0] + ' ' + r[3] + ' ' + r[5].join(' ') + ' ' + r[6].join(' ')).toLowerCase();
  });
  var search = document.getElementById('gb-dash-search');
  var order = document.getElementById('gb-dash-sort');
  var tbody = document.querySelector('#gb-dash-table tbody');
  var count = document.getElementById('gb-dash-count');
  var panel = document.getElementById('gb-dash-panel');

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined || !isFinite(v)) return '\u2014';
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e4)) return v.toExponential(2);
    return String(+v.toPrecision(3));
  }
  function pct(d) { return d === 0 ? '0%' : (d < 1e-4 ? (d * 100).toExponential(1) : String(+(d * 100).toPrecision(3))) + '%'; }
  function shown(t) { return t.replace(/\n/g, '\u21b5').replace(/\t/g, '\u21e5'); }

  window.glassboxDashboard = {
    chunk: function (k, list) {
      list.forEach(function (f) { feats[f.f] = f; });
      done[k] = true;
      var cbs = waiting[k] || [];
      delete waiting[k];
      cbs.forEach(function (cb) { cb(); });
    }
  };
  function load(i, cb) {
    var k = Math.floor(i / IDX.chunk);
    if (done[k]) return cb();
    if (waiting[k]) return void waiting[k].push(cb);
    waiting[k] = [cb];
    var s = document.createElement('script');
    s.src = IDX.dir + '/chunk-' + ('000' + k).slice(-4) + '.js';
    s.onerror = function () {
      delete waiting[k];
      panel.textContent = '';
      panel.appendChild(el('p', 'gb-error', 'Could not load ' + s.src + ' (the data files must sit beside this page).'));
    };
    document.body.appendChild(s);
  }

  function renderIndex() {
    var q = search.value.trim().toLowerCase();
    var list = rows.filter(function (r) { return !q || r.key.indexOf(q) >= 0; });
    var by = order.value, col = {density: 1, max: 2, score: 4}[by];
    if (col) list.sort(function (a, b) { return (b[col] === null ? -Infinity : b[col]) - (a[col] === null ? -Infinity : a[col]) || a[0] - b[0]; });
    tbody.textContent = '';
    list.slice(0, LIMIT).forEach(function (r) {
      var tr = el('tr', r[0] === current ? 'current' : '');
      tr.setAttribute('data-latent', r[0]);
      tr.appendChild(el('td', 'num', '#' + r[0]));
      tr.appendChild(el('td', 'num', pct(r[1])));
      tr.appendChild(el('td', 'num', fmt(r[2])));
      var text = el('td', 'gb-text');
      text.appendChild(el('div', r[3] ? '' : 'gb-muted', r[3] || 'no explanation'));
      text.appendChild(el('div', 'gb-toks', r[5].map(function (t) { return shown(t); }).join(' \u00b7 ')));
      tr.appendChild(text);
      tr.appendChild(el('td', 'num', fmt(r[4])));
      tr.onclick = function () { location.hash = 'latent-' + r[0]; };
      tbody.appendChild(tr);
    });
    count.textContent = list.length + ' of ' + rows.length + ' latents' +
        (list.length > LIMIT ? ' (first ' + LIMIT + ' shown)' : '');
  }

  function record(rec, max) {
    var div = el('div', 'gb-ctx');
    div.appendChild(el('span', 'gb-ctx-val', fmt(rec.a[rec.c])));
    var line = el('span', 'gb-ctx-toks');
    rec.t.forEach(function (t, i) {
      var a = rec.a[i];
      var s = el('span', 'gb-tok' + (i === rec.c ? ' gb-center' : ''), shown(t));
      if (a > 0 && max > 0) s.style.background = 'rgba(249,115,22,' + Math.min(1, 0.08 + 0.92 * a / max).toFixed(3) + ')';
      s.setAttribute('data-act', fmt(a));
      s.title = JSON.stringify(t) + '  activation ' + fmt(a);
      line.appendChild(s);
    });
    div.appendChild(line);
    return div;
  }
  function records(parent, recs, max) { recs.forEach(function (r) { parent.appendChild(record(r, max)); }); }
  function logitTable(title, list, cls) {
    var box = el('div');
    box.appendChild(el('h4', null, title));
    if (!list.length) return box.appendChild(el('p', 'gb-muted', 'none')), box;
    var t = el('table');
    list.forEach(function (e) {
      var tr = el('tr');
      tr.appendChild(el('td', 'gb-tokcell', shown(e[0])));
      tr.appendChild(el('td', 'num ' + cls, (e[1] > 0 ? '+' : '') + fmt(e[1])));
      t.appendChild(tr);
    });
    box.appendChild(t);
    return box;
  }

  function renderPanel(f) {
    panel.textContent = '';
    panel.appendChild(el('h3', null, 'Latent #' + f.f));
    panel.appendChild(el('div', 'gb-stats', 'density ' + pct(f.density) + ' \u00b7 active on ' + f.active +
        ' tokens \u00b7 max ' + fmt(f.max) + ' \u00b7 mean ' + fmt(f.mean)));
    panel.appendChild(el('div', f.expl ? 'gb-expl' : 'gb-expl gb-muted', f.expl || 'no explanation'));
    panel.appendChild(el('div', 'gb-score', f.score === null ? 'not scored' :
        'score ' + fmt(f.score) + (f.method ? ' (' + f.method + ')' : '')));
    var two = el('div', 'gb-two');
    var chart = el('div', 'gb-chart');
    two.appendChild(chart);
    var lg = el('div', 'gb-logits gb-two');
    lg.appendChild(logitTable('Promoted tokens', f.pos, 'gb-pos'));
    lg.appendChild(logitTable('Suppressed tokens', f.neg, 'gb-neg'));
    two.appendChild(lg);
    panel.appendChild(two);
    panel.appendChild(el('h4', null, 'Co-occurring latents'));
    var co = el('div', 'gb-co');
    if (!f.co.length) co.appendChild(el('span', 'gb-muted', 'none'));
    f.co.forEach(function (c) {
      var a = el('a', null, '#' + c[0]);
      a.href = '#latent-' + c[0];
      a.title = c[1] + ' tokens together (' + pct(c[2]) + ' of this latent\'s)';
      co.appendChild(a);
    });
    panel.appendChild(co);
    if (!f.active) panel.appendChild(el('p', 'gb-muted', 'Never active on the corpus (a dead latent).'));
    if (f.top.length) {
      panel.appendChild(el('h4', null, 'Top activations'));
      records(panel, f.top, f.max);
    }
    f.bands.forEach(function (b) {
      panel.appendChild(el('h4', null, 'Quantile ' + Math.round(b.qlo * 100) + '\u2013' + Math.round(b.qhi * 100) +
          '% \u00b7 activation ' + fmt(b.lo) + '\u2013' + fmt(b.hi)));
      records(panel, b.recs, f.max);
    });
    if (f.rand.length) {
      var d = el('details', 'gb-more');
      d.appendChild(el('summary', null, 'Random contexts (' + f.rand.length + ')'));
      records(d, f.rand, f.max);
      panel.appendChild(d);
    }
    if (typeof vegaEmbed === 'function') {
      vegaEmbed(chart, f.hist, {renderer: 'svg', actions: false}).catch(function (e) {
        chart.className = 'chart-failed';
        chart.textContent = 'Chart failed to render: ' + (e && e.message ? e.message : e);
      });
    }
  }

  function route() {
    var m = /^#latent-(\d+)$/.exec(location.hash);
    var id = m ? +m[1] : (rows.length ? rows[0][0] : null);
    if (id === null) return;
    current = id;
    Array.prototype.forEach.call(tbody.children, function (tr) {
      tr.className = +tr.getAttribute('data-latent') === id ? 'current' : '';
    });
    if (!(id in pos)) {
      panel.textContent = '';
      panel.appendChild(el('p', 'gb-muted', 'Latent #' + id + ' is not in this report.'));
      return;
    }
    panel.textContent = 'Loading latent #' + id + '\u2026';
    load(pos[id], function () { if (current === id) renderPanel(feats[id]); });
  }
  var q = /[?&]q=([^&]*)/.exec(location.search);  // a shareable search: index.html?q=word
  if (q) search.value = decodeURIComponent(q[1].replace(/\+/g, ' '));
  window.addEventListener('hashchange', route);
  search.addEventListener('input', renderIndex);
  order.addEventListener('change', renderIndex);
  renderIndex();
  route();
})();
)JS";

}  // namespace glassbox::pages::detail
