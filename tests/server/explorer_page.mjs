// The explorer page in a real browser: Debian's chromium, headless, driven by
// puppeteer-core (scripts/fetch-node-tools.sh puts it in third_party/node/).
//
//   node tests/server/explorer_page.mjs GLASSBOX_BINARY MODEL_DIR OUT_DIR [NODE_MODULES]
//
// Starts `glassbox serve --port 0` on the model, opens /, and checks: the page
// loads with no console error or failed request; a typed prompt gives an
// attention heatmap with one cell per query-key pair, a logit-lens heatmap and
// DLA bars; picking another head redraws the attention chart; the text
// generated with the steering coefficient at 0 is the unsteered text, and
// moving the slider (keyboard, as a person would) changes it and brings
// monitor events. Leaves OUT_DIR/explorer.png for people to look at.
// Exit 77 (ctest: skipped) when chromium or puppeteer-core is missing.
import {spawn} from 'node:child_process';
import {existsSync, mkdirSync} from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

const [glassbox, modelDir, outDir, nodeModulesArg] = process.argv.slice(2);
if (!glassbox || !modelDir || !outDir) {
  console.error('usage: explorer_page.mjs GLASSBOX_BINARY MODEL_DIR OUT_DIR [NODE_MODULES]');
  process.exit(2);
}
const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = nodeModulesArg || path.join(here, '..', '..', 'third_party', 'node', 'node_modules');

function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(77);
}

const chromium = process.env.GLASSBOX_CHROMIUM ||
                 ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(existsSync);
if (!chromium) skip('no chromium (Debian package chromium; or set GLASSBOX_CHROMIUM)');
let puppeteer;
try {
  puppeteer = createRequire(path.join(nodeModules, 'noop.js'))('puppeteer-core');
} catch (e) {
  skip(`puppeteer-core not found under ${nodeModules}: run scripts/fetch-node-tools.sh`);
}

const failures = [];
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
}

// ---- the server -------------------------------------------------------------

const server = spawn(glassbox, ['serve', '--model', modelDir, '--port', '0'], {stdio: ['ignore', 'pipe', 'pipe']});
let serverLog = '';
const base = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('glassbox serve printed no address in 30 s:\n' + serverLog)), 30000);
  const read = (chunk) => {
    serverLog += chunk;
    const m = /http:\/\/[^\s/]+:(\d+)\//.exec(serverLog);
    if (m) { clearTimeout(timer); resolve(`http://127.0.0.1:${m[1]}/`); }
  };
  server.stdout.on('data', read);
  server.stderr.on('data', read);
  server.on('exit', (code) => reject(new Error(`glassbox serve exited (${code}):\n${serverLog}`)));
});
let browser;
const stop = () => { server.kill('SIGTERM'); if (browser) browser.close().catch(() => {}); };
const watchdog = setTimeout(() => { console.error('FAIL: timed out after 100 s'); stop(); process.exit(1); }, 100000);

try {
  browser = await puppeteer.launch({
    executablePath: chromium, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage();
  await page.setViewport({width: 1440, height: 1000});
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });

  // ---- load, then a prompt ----------------------------------------------------
  await page.goto(base, {waitUntil: 'load'});
  await page.waitForSelector('body[data-ready="1"]', {timeout: 20000});
  check(await page.$eval('#model-info', (e) => e.textContent.includes(' layers')), 'the header names the model');

  const prompt = 'THE WORST PART OF THE DAY';
  await page.click('#prompt', {clickCount: 3});
  await page.type('#prompt', prompt);
  await page.keyboard.press('Enter');

  // vega's SVG renderer draws each rect mark as a <path> in g.mark-rect.role-mark
  // (legend gradients are g.mark-rect.role-legend-gradient).
  const marks = (id) => page.$$eval(`#${id} svg g.mark-rect.role-mark path`, (ps) => ps.length);
  await page.waitForFunction(
      () => ['attention-chart', 'lens-chart', 'dla-chart', 'dla-heads-chart'].every(
          (id) => document.querySelectorAll(`#${id} svg g.mark-rect.role-mark path`).length > 0),
      {timeout: 30000});
  const T = await page.$$eval('#tokens .tok', (ts) => ts.length);
  check(T > 3, `the prompt shows as ${T} tokens`);
  check(await marks('attention-chart') === T * T, `attention heatmap: ${T} x ${T} cells`);
  const info = await page.evaluate(() => fetch('/v1/glassbox/explorer/info').then((r) => r.json()));
  check(await marks('lens-chart') === (info.n_layers + 1) * T, `logit lens: ${info.n_layers + 1} x ${T} cells`);
  check(await marks('dla-chart') === 2 * info.n_layers + 3, `DLA: ${2 * info.n_layers + 3} component bars`);
  check(await marks('dla-heads-chart') === info.n_layers * info.n_heads, 'DLA by head: one cell per head');
  check((await page.$eval('#answer', (e) => e.value)).length > 0, 'the answer box holds the prediction');

  // ---- another head -------------------------------------------------------------
  const title = () => page.$eval('#attention-chart svg', (s) => s.querySelector('.role-title-text')?.textContent);
  check(await title() === 'L0H0', 'attention starts at L0H0');
  await page.click('#heads button[data-layer="1"][data-head="2"]');
  await page.waitForFunction(
      () => document.querySelector('#attention-chart svg .role-title-text')?.textContent === 'L1H2', {timeout: 15000});
  check(await marks('attention-chart') === T * T, 'picking L1H2 redraws the attention heatmap');

  // ---- generation: the slider moves the text ---------------------------------------
  const text = (id) => page.$eval(`#${id}`, (e) => e.textContent);
  const settled = (coef) => page.waitForFunction(
      (c) => document.querySelector('#gen-steered-title').textContent === `steered, coefficient ${c}` &&
             !document.querySelector('#generate').disabled,
      {timeout: 30000}, coef);
  check(await page.$eval('#profile-kind', (e) => e.value) === 'steer', 'the profile starts as a steering vector');
  await settled('0.0');
  const unsteered = await text('gen-base');
  check(unsteered.startsWith(prompt) && unsteered.length > prompt.length, 'the unsteered continuation is shown');
  check(await text('gen-steered') === unsteered, 'coefficient 0 generates the unsteered text');
  await page.focus('#coef');
  for (let i = 0; i < 16; ++i) await page.keyboard.press('ArrowRight');  // 0 -> 8 in steps of 0.5
  await settled('8.0');
  const steered = await text('gen-steered');
  check(steered.startsWith(prompt) && steered !== unsteered, `coefficient 8 changes the text:\n     ${JSON.stringify(unsteered)}\n  -> ${JSON.stringify(steered)}`);
  check(await text('gen-base') === unsteered, 'the unsteered text stays as it was');
  const events = +(/monitor events: (\d+)/.exec(await text('events')) || [0, 0])[1];
  check(events > 0 && await page.$$eval('#events tbody tr', (rs) => rs.length) > 0,
        `the projection monitor flags ${events} tokens`);
  check(JSON.parse(await page.$eval('#profile-json', (e) => e.value)).interventions[0].alpha === 8,
        'the profile JSON shows the coefficient');

  mkdirSync(outDir, {recursive: true});
  const shot = path.join(outDir, 'explorer.png');
  await page.screenshot({path: shot, fullPage: true});
  console.log(`screenshot: ${shot}`);
  check(problems.length === 0, `no console errors or failed requests${problems.length ? ':\n  ' + problems.join('\n  ') : ''}`);
} catch (e) {
  failures.push(String(e && e.stack || e));
  console.error(e);
} finally {
  clearTimeout(watchdog);
  stop();
}
if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('explorer page: all checks passed');
