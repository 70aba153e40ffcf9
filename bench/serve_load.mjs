// Load on `glassbox serve` with autocannon: thousands of completions over
// keep-alive connections (plain, under a named steering profile, streamed),
// every response body checked against the one the same request got alone
// (greedy decoding: equal text, token ids and monitor events). Prints one
// JSON line: throughput, latency p50 / p99, and the counts that must be zero.
//
//   node bench/serve_load.mjs URL AMOUNT CONNECTIONS   (bench/serve_load.sh starts the server)
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const autocannon = createRequire(path.join(ROOT, 'third_party/node/'))('autocannon');
const [url, amountArg, connectionsArg] = process.argv.slice(2);
const amount = Number(amountArg || 5000), connections = Number(connectionsArg || 8);

const prompts = ['The old man said', 'A ship', 'In the morning the', 'She opened the door and'];
const bodies = [];
for (const prompt of prompts)
  for (const profile of [null, 'steer'])
    for (const stream of [false, true]) {
      const b = { model: 'tiny-lm-chat', prompt, max_tokens: 8, temperature: 0 };
      if (profile) b.glassbox = { profile };
      if (stream) b.stream = true;
      bodies.push(b);
    }

// What each request answers alone (and once more: greedy is deterministic).
async function post(body) {
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
                                                   body: JSON.stringify(body) });
  if (r.status !== 200) throw new Error(`${r.status}: ${await r.text()}`);
  return r.text();
}
// The parts of a response that must not vary: text, tokens, events, finish.
function essence(body, stream) {
  if (!stream) {
    const j = JSON.parse(body);
    return JSON.stringify([j.choices[0].text, j.choices[0].finish_reason, j.glassbox.tokens, j.glassbox.monitors]);
  }
  if (!body.endsWith('data: [DONE]\n\n')) throw new Error('stream does not end with [DONE]');
  let text = '', final = null;
  for (const ev of body.split('\n\n').slice(0, -2)) {
    if (!ev.startsWith('data: ')) throw new Error(`not an event: ${ev.slice(0, 80)}`);
    const j = JSON.parse(ev.slice(6));
    if (j.choices[0].finish_reason) final = j;
    else text += j.choices[0].text;
  }
  return JSON.stringify([text, final.choices[0].finish_reason, final.glassbox.tokens, final.glassbox.monitors]);
}
const expected = [];
for (const b of bodies) {
  const e = essence(await post(b), !!b.stream);
  if (essence(await post(b), !!b.stream) !== e) throw new Error('greedy completion not reproducible');
  expected.push(e);
}
if (expected[0] === expected[2]) throw new Error('the steering profile changed nothing');

let garbled = 0, checked = 0;
const requests = bodies.map((b, i) => ({
  method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify(b),
  onResponse: (status, body) => {
    if (status !== 200) return;  // counted by autocannon as non-2xx
    checked++;
    try {
      if (essence(body, !!b.stream) !== expected[i]) garbled++;
    } catch (e) {
      garbled++;
    }
  },
}));
const r = await autocannon({ url, connections, amount, requests, timeout: 60 });
const out = {
  requests: r.requests.total, connections, duration_s: r.duration,
  throughput_rps: Number((r.requests.total / r.duration).toFixed(1)),
  latency_p50_ms: r.latency.p50, latency_p99_ms: r.latency.p99, latency_max_ms: r.latency.max,
  checked, non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, garbled,
};
console.log(JSON.stringify(out));
const ok = out.non2xx === 0 && out.errors === 0 && out.timeouts === 0 && garbled === 0 && checked >= amount;
process.exit(ok ? 0 : 1);
