// The explorer page's behaviour. Every chart is a Vega-Lite spec the server
// builds with the report library (pages::attention_heatmap, lens_heatmap,
// dla_component_chart, dla_head_heatmap), so the page draws exactly what
// `glassbox ... --html` draws; generation goes through the OpenAI-style
// /v1/completions with the per-request "glassbox": {"profile": ...} field.
(function () {
  'use strict';

  // The report theme (src/report/theme.cpp's kRenderCharts), so charts here
  // look like the --html pages' charts.
  var FONT = 'system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,sans-serif';
  var CHART_CONFIG = {
    font: FONT, background: '#ffffff', padding: 4, view: {stroke: null},
    title: {fontSize: 14, fontWeight: 600, color: '#1f2328', anchor: 'start', offset: 12},
    axis: {labelColor: '#5b6470', titleColor: '#1f2328', labelFontSize: 11, titleFontSize: 12,
           titleFontWeight: 500, gridColor: '#edf0f3', domainColor: '#c9d1da', tickColor: '#c9d1da',
           titlePadding: 10},
    legend: {labelColor: '#5b6470', titleColor: '#1f2328', labelFontSize: 11, titleFontSize: 12,
             titleFontWeight: 500}
  };

  var $ = function (id) { return document.getElementById(id); };
  var state = {info: null, modelId: null, prompt: '', layer: 0, head: 0, baseFor: null, genSeq: 0};

  // ---- plumbing -------------------------------------------------------------

  // A server started with --api-key wants it on every /v1 request: asked
  // for once, kept for this tab.
  function apiKey() { return sessionStorage.getItem('glassbox-api-key') || ''; }

  // A 429 (the server's --max-concurrent, which the page shares with every
  // other client) is retried after the Retry-After the server sends.
  function api(path, body, tries) {
    tries = tries === undefined ? 5 : tries;
    var headers = {};
    if (apiKey()) headers.Authorization = 'Bearer ' + apiKey();
    var init = {headers: headers};
    if (body !== undefined) {
      init.method = 'POST';
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 429 && tries > 1) {
        var wait = 1000 * (parseFloat(r.headers.get('Retry-After')) || 1);
        return new Promise(function (ok) { setTimeout(ok, wait); }).then(function () { return api(path, body, tries - 1); });
      }
      return r.text().then(function (text) {
        var j;
        try { j = JSON.parse(text); } catch (e) { throw new Error(path + ': ' + r.status + ' ' + text.slice(0, 200)); }
        if (r.status === 401) $('api-key').hidden = false;
        if (!r.ok) throw new Error((j.error && j.error.message) || (path + ': HTTP ' + r.status));
        return j;
      });
    });
  }

  function showError(id, err) {
    var el = $(id);
    el.innerHTML = '';
    if (!err) return;
    var d = document.createElement('div');
    d.className = 'error';
    d.textContent = err.message || String(err);
    el.appendChild(d);
  }

  function embed(el, spec) {
    return vegaEmbed(el, spec, {renderer: 'svg', config: CHART_CONFIG,
                                actions: {export: true, source: false, compiled: false, editor: false}});
  }

  // The library sizes heatmap cells for a report column (up to 30 px); a
  // panel is narrower, so a heatmap that overflows is drawn again with
  // cells that fit (square, at least 6 px).
  function fitHeatmap(el, spec) {
    var svg = el.querySelector('svg');
    var step = spec.width && spec.width.step;
    if (!svg || !step || !spec.data || !spec.data.values) return null;
    var cols = 0;
    spec.data.values.forEach(function (d) { cols = Math.max(cols, d.col + 1); });
    var width = +svg.getAttribute('width'), avail = el.clientWidth - 4;
    if (!cols || width <= avail) return null;
    var cell = Math.max(6, Math.floor((avail - (width - cols * step)) / cols));
    if (cell >= step) return null;
    spec.width = {step: cell};
    spec.height = {step: cell};
    return embed(el, spec);
  }

  function draw(id, spec) {
    var el = $(id);
    el.classList.remove('busy');
    el.className = 'chart';
    if (!spec) { el.innerHTML = ''; return Promise.resolve(); }
    return embed(el, spec)
      .then(function () { return fitHeatmap(el, spec); })
      .catch(function (e) { el.innerHTML = ''; el.className = 'chart chart-failed';
                            el.textContent = 'Chart failed to render: ' + e.message; });
  }

  function busy(ids, on) { ids.forEach(function (id) { $(id).classList.toggle('busy', on); }); }

  function debounce(fn, ms) {
    var t = null;
    return function () { clearTimeout(t); t = setTimeout(fn, ms); };
  }

  // ---- analysis -------------------------------------------------------------

  function renderTokens(tokens) {
    var box = $('tokens');
    box.innerHTML = '';
    tokens.forEach(function (t, i) {
      var s = document.createElement('span');
      s.className = 'tok';
      s.title = 'token id ' + t.id;
      var n = document.createElement('i');
      n.textContent = i;
      s.appendChild(n);
      s.appendChild(document.createTextNode(t.text));
      box.appendChild(s);
    });
  }

  function renderHeadPicker() {
    var info = state.info, box = $('heads');
    box.innerHTML = '';
    box.style.gridTemplateColumns = '28px repeat(' + info.n_heads + ', minmax(34px, 1fr))';
    for (var l = 0; l < info.n_layers; ++l) {
      var lab = document.createElement('span');
      lab.className = 'lab';
      lab.textContent = 'L' + l;
      box.appendChild(lab);
      for (var h = 0; h < info.n_heads; ++h) {
        var b = document.createElement('button');
        b.textContent = 'H' + h;
        b.dataset.layer = l;
        b.dataset.head = h;
        b.setAttribute('aria-label', 'layer ' + l + ' head ' + h);
        if (l === state.layer && h === state.head) b.className = 'current';
        b.addEventListener('click', function (ev) {
          state.layer = +ev.target.dataset.layer;
          state.head = +ev.target.dataset.head;
          renderHeadPicker();
          loadAttention();
        });
        box.appendChild(b);
      }
    }
  }

  function loadAttention() {
    if (!state.prompt) return Promise.resolve();
    busy(['attention-chart'], true);
    return api('/v1/glassbox/explorer/attention', {prompt: state.prompt, layer: state.layer, head: state.head})
      .then(function (r) { return draw('attention-chart', r.spec); })
      .catch(function (e) { busy(['attention-chart'], false); showError('analyze-error', e); });
  }

  function loadDla() {
    busy(['dla-chart', 'dla-heads-chart'], true);
    showError('analyze-error', null);
    return api('/v1/glassbox/explorer/dla', {prompt: state.prompt, answer: $('answer').value, wrong: $('wrong').value})
      .then(function (r) {
        $('dla-logit').textContent = (r.wrong ? 'logit difference ' : 'logit ') + r.logit.toFixed(3);
        return Promise.all([draw('dla-chart', r.spec), draw('dla-heads-chart', r.heads_spec)]);
      })
      .catch(function (e) { busy(['dla-chart', 'dla-heads-chart'], false); showError('analyze-error', e); });
  }

  function analyze() {
    var prompt = $('prompt').value;
    if (!prompt.trim()) return Promise.resolve();
    state.prompt = prompt;
    $('analyze').disabled = true;
    showError('analyze-error', null);
    busy(['lens-chart', 'dla-chart', 'dla-heads-chart'], true);
    var main = api('/v1/glassbox/explorer/analyze', {prompt: prompt, answer: $('answer').value, wrong: $('wrong').value})
      .then(function (r) {
        state.nTokens = r.tokens.length;
        renderTokens(r.tokens);
        $('answer').value = r.answer;
        $('dla-logit').textContent = (r.wrong ? 'logit difference ' : 'logit ') + r.logit.toFixed(3);
        return Promise.all([draw('lens-chart', r.lens_spec), draw('dla-chart', r.dla_spec),
                            draw('dla-heads-chart', r.dla_heads_spec)]);
      })
      .catch(function (e) { busy(['lens-chart', 'dla-chart', 'dla-heads-chart'], false);
                            showError('analyze-error', e); });
    // Generation waits for the token count: it must fit the context.
    return Promise.all([main.then(generate), loadAttention()]).then(function () { $('analyze').disabled = false; });
  }

  // ---- generation -----------------------------------------------------------

  // "steer", "profile:<name>", "none" or "custom"
  function profileKind() { return $('profile-kind').value; }

  function syncGenerateControls() {
    var kind = profileKind();
    var steer = kind === 'steer';
    $('direction-label').style.display = steer ? '' : 'none';
    $('layer-label').style.display = steer ? '' : 'none';
    $('slider-row').style.display = steer ? '' : 'none';
    $('contrast').style.display = steer && $('direction').value === '' ? '' : 'none';
    if (kind === 'custom') $('profile-details').open = true;
    var d = directionInfo();
    var layers = d ? d.layers : range(state.info.n_layers);
    var sel = $('steer-layer'), keep = sel.value;
    sel.innerHTML = '';
    layers.forEach(function (l) { sel.add(new Option('L' + l, l)); });
    if (keep !== '' && layers.indexOf(+keep) >= 0) sel.value = keep;
    else if (!d) sel.value = String(Math.min(1, state.info.n_layers - 1));
  }

  function range(n) { var a = []; for (var i = 0; i < n; ++i) a.push(i); return a; }

  function directionInfo() {
    var name = $('direction').value;
    var ds = state.info.directions;
    for (var i = 0; i < ds.length; ++i) if (ds[i].name === name) return ds[i];
    return null;
  }

  // The profile this request runs with: an object, a name, or null (none).
  function currentProfile() {
    var kind = profileKind();
    if (kind === 'none') return Promise.resolve(null);
    if (kind.indexOf('profile:') === 0) {  // loaded at start: sent by name
      var name = kind.slice(8);
      $('profile-json').value = JSON.stringify(state.info.profiles[name], null, 1);
      return Promise.resolve(name);
    }
    if (kind === 'custom') {
      try { return Promise.resolve(JSON.parse($('profile-json').value || '{}')); }
      catch (e) { return Promise.reject(new Error('profile JSON: ' + e.message)); }
    }
    var req = {layer: +$('steer-layer').value, coefficient: +$('coef').value};
    if ($('direction').value) req.direction = $('direction').value;
    else req.contrast = {positive: $('contrast-pos').value, negative: $('contrast-neg').value};
    return api('/v1/glassbox/explorer/steering', req).then(function (p) {
      $('profile-json').value = JSON.stringify(p);
      return p;
    });
  }

  function completion(profile) {
    // As many tokens as asked for and the model's context leaves.
    var room = state.info.n_ctx - (state.nTokens || 0);
    if (room < 1) return Promise.reject(new Error('the prompt fills the model\'s context of ' + state.info.n_ctx + ' tokens'));
    var body = {model: state.modelId, prompt: state.prompt,
                max_tokens: Math.min(+$('max-tokens').value || 16, room), temperature: 0};
    if (profile !== null) body.glassbox = {profile: profile};
    return api('/v1/completions', body);
  }

  function renderText(id, r) {
    var pre = $(id);
    pre.innerHTML = '';
    var p = document.createElement('span');
    p.className = 'p';
    p.textContent = state.prompt;
    pre.appendChild(p);
    pre.appendChild(document.createTextNode(r.choices[0].text));
  }

  // Monitor events (steering/monitor.h: name, action, token index, value),
  // the first few as a table and a count.
  function renderEvents(r) {
    var box = $('events');
    box.innerHTML = '';
    var g = r.glassbox || {}, events = g.monitors || [];
    if (!Array.isArray(events)) events = events.events || [];
    var cap = document.createElement('div');
    cap.className = 'muted';
    cap.textContent = events.length ? 'monitor events: ' + events.length
                                    : (g.monitors !== undefined ? 'monitor events: none' : '');
    box.appendChild(cap);
    if (!events.length) return;
    var shown = 6, t = document.createElement('table');
    t.innerHTML = '<thead><tr><th>monitor</th><th>action</th><th class="num">token</th>' +
                  '<th class="num">value</th></tr></thead>';
    var tb = document.createElement('tbody');
    events.slice(0, shown).forEach(function (e) {
      var tr = document.createElement('tr');
      [e.name || ('#' + e.monitor), e.action, e.token, typeof e.value === 'number' ? e.value.toFixed(3) : e.value]
        .forEach(function (v, i) {
          var td = document.createElement('td');
          if (i >= 2) td.className = 'num';
          td.textContent = v;
          tr.appendChild(td);
        });
      tb.appendChild(tr);
    });
    t.appendChild(tb);
    var wrap = document.createElement('div');
    wrap.className = 'panel table';
    wrap.appendChild(t);
    box.appendChild(wrap);
    if (events.length > shown) {
      var more = document.createElement('div');
      more.className = 'muted';
      more.textContent = '… and ' + (events.length - shown) + ' more';
      box.appendChild(more);
    }
  }

  function generate() {
    if (!state.prompt) return Promise.resolve();
    var seq = ++state.genSeq;  // a later request wins; earlier answers are dropped
    $('generate').disabled = true;
    showError('generate-error', null);
    var baseKey = state.prompt + '\u0000' + $('max-tokens').value;
    var base = state.baseFor === baseKey ? Promise.resolve(null)
      : completion(null).then(function (r) { if (seq === state.genSeq) { renderText('gen-base', r); state.baseFor = baseKey; } });
    var steered = currentProfile().then(function (p) {
      return completion(p).then(function (r) {
        if (seq !== state.genSeq) return;
        var kind = profileKind();
        $('gen-steered-title').textContent = kind === 'none' ? 'with no profile'
          : kind === 'steer' ? 'steered, coefficient ' + (+$('coef').value).toFixed(1)
          : 'with profile ' + (kind === 'custom' ? '(custom)' : kind.slice(8));
        renderText('gen-steered', r);
        renderEvents(r);
      });
    });
    return Promise.all([base, steered])
      .catch(function (e) { if (seq === state.genSeq) showError('generate-error', e); })
      .then(function () { if (seq === state.genSeq) $('generate').disabled = false; });
  }

  // ---- start ------------------------------------------------------------------

  function start(info, models) {
    if (state.info) return;  // connected already (a key typed again)
    state.info = info;
    state.modelId = models && models.data && models.data.length ? models.data[0].id : info.model;
    $('model-info').innerHTML = '';
    var b = document.createElement('b');
    b.textContent = info.model;
    $('model-info').appendChild(b);
    $('model-info').appendChild(document.createTextNode(
      ' · ' + info.n_layers + ' layers · ' + info.n_heads + ' heads · d_model ' + info.d_model));

    var kinds = $('profile-kind');
    kinds.add(new Option('steer along a direction', 'steer'));
    Object.keys(info.profiles).forEach(function (n) { kinds.add(new Option('profile: ' + n, 'profile:' + n)); });
    kinds.add(new Option('none', 'none'));
    kinds.add(new Option('custom JSON', 'custom'));
    var dirs = $('direction');
    info.directions.forEach(function (d) { dirs.add(new Option(d.name, d.name)); });
    dirs.add(new Option('from two texts (towards − away)', ''));
    syncGenerateControls();

    var ex = $('examples');
    if (info.examples.length) ex.appendChild(document.createTextNode('try:'));
    info.examples.forEach(function (p) {
      var a = document.createElement('a');
      a.textContent = p;
      a.addEventListener('click', function () { $('prompt').value = p; analyze(); });
      ex.appendChild(a);
    });
    renderHeadPicker();

    var regenerate = debounce(generate, 120);
    $('analyze').addEventListener('click', analyze);
    $('prompt').addEventListener('keydown', function (e) { if (e.key === 'Enter') analyze(); });
    $('dla-run').addEventListener('click', loadDla);
    $('generate').addEventListener('click', generate);
    $('coef').addEventListener('input', function () {
      $('coef-value').textContent = (+$('coef').value).toFixed(1);
      regenerate();
    });
    $('profile-kind').addEventListener('change', function () { syncGenerateControls(); generate(); });
    $('direction').addEventListener('change', function () { syncGenerateControls(); generate(); });
    $('steer-layer').addEventListener('change', generate);
    $('max-tokens').addEventListener('change', generate);
    $('profile-json').addEventListener('input', function () { $('profile-kind').value = 'custom'; syncGenerateControls(); });

    if (info.examples.length && !$('prompt').value) $('prompt').value = info.examples[0];
    document.body.dataset.ready = '1';
  }

  function connect() {
    return Promise.all([api('/v1/glassbox/explorer/info'), api('/v1/models')])
      .then(function (r) { $('api-key').hidden = true; showError('analyze-error', null); start(r[0], r[1]); })
      .catch(function (e) { $('model-info').textContent = 'not connected'; showError('analyze-error', e); });
  }
  $('api-key').addEventListener('change', function () {
    sessionStorage.setItem('glassbox-api-key', $('api-key').value);
    connect();
  });
  connect();
})();
