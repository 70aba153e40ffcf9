// `glassbox serve` driven by the official `openai` npm client, as a user's
// program would: models, completions, chat, streaming, the glassbox extension
// field (passed as an extra body parameter), and the client's typed errors.
//
//   node tests/server/openai_client.mjs GLASSBOX_BINARY MODEL_DIR
// The packages come from third_party/node (scripts/fetch-node-tools.sh); when
// they are missing the test says so and exits 77 (ctest: skipped).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const [binary, modelDir] = process.argv.slice(2);
if (!binary || !modelDir) {
  console.error('usage: openai_client.mjs GLASSBOX_BINARY MODEL_DIR');
  process.exit(2);
}
let OpenAI;
try {
  OpenAI = createRequire(path.join(ROOT, 'third_party/node/'))('openai').OpenAI;
} catch (e) {
  console.log('skipped: the openai npm package is not in third_party/node (run scripts/fetch-node-tools.sh)');
  process.exit(77);
}

// A profile that steers hard and flags every token, at the model's width (128).
const d = 128;
const vector = Array.from({ length: d }, (_, i) => Math.sin(1.3 * (i + 1)));
const profile = {
  interventions: [{ type: 'add_vector', hook: 'blocks.1.hook_resid_post', vector, alpha: 3.0 }],
  monitors: [{ name: 'any', type: 'entropy', threshold: 0.0 }],
};
const dir = mkdtempSync(path.join(tmpdir(), 'glassbox-openai-'));
writeFileSync(path.join(dir, 'steer.json'), JSON.stringify(profile));

const KEY = 'test-key-123';
const server = spawn(binary, ['serve', '--model', modelDir, '--port', '0', '--api-key', KEY, '--threads', '1',
                              '--profile', `steer=${path.join(dir, 'steer.json')}`],
                     { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (b) => {
    out += b;
    const m = out.match(/http:\/\/127\.0\.0\.1:(\d+)\//);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`glassbox serve exited (${code}) before listening: ${out}`)));
  setTimeout(() => reject(new Error('glassbox serve did not start in 60 s')), 60000);
});

const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: KEY, maxRetries: 0 });
let failed = false;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed = true;
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

try {
  await check('models.list', async () => {
    const ids = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids, ['tiny-lm-chat']);
  });

  await check('completions.create', async () => {
    const r = await client.completions.create({ model: 'tiny-lm-chat', prompt: 'The old man said', max_tokens: 8,
                                                temperature: 0 });
    assert.equal(r.object, 'text_completion');
    assert.equal(typeof r.choices[0].text, 'string');
    assert.ok(r.choices[0].text.length > 0);
    assert.ok(['stop', 'length'].includes(r.choices[0].finish_reason));
    assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 8);
  });

  await check('chat.completions.create (the chat template)', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny-lm-chat', messages: [{ role: 'user', content: 'Tell me about the sea' }], max_tokens: 8,
      temperature: 0 });
    assert.equal(r.choices[0].message.role, 'assistant');
    assert.ok(r.choices[0].message.content.startsWith('Indeed, friend!'), r.choices[0].message.content);
  });

  await check('streaming chat equals the whole reply', async () => {
    const params = { model: 'tiny-lm-chat', messages: [{ role: 'user', content: 'What is a ship' }], max_tokens: 16,
                     temperature: 0.8, seed: 7 };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true });
    let text = '', finish = null, chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.choices[0]?.delta?.content) text += chunk.choices[0].delta.content;
      if (chunk.choices[0]?.finish_reason) finish = chunk.choices[0].finish_reason;
    }
    assert.ok(chunks >= 3, `${chunks} chunks`);
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
  });

  await check('streaming completion', async () => {
    const params = { model: 'tiny-lm-chat', prompt: 'A ship', max_tokens: 12, temperature: 0 };
    const whole = await client.completions.create(params);
    let text = '';
    for await (const chunk of await client.completions.create({ ...params, stream: true }))
      text += chunk.choices[0]?.text ?? '';
    assert.equal(text, whole.choices[0].text);
  });

  await check('the glassbox extension field: named and inline profiles', async () => {
    const base = { model: 'tiny-lm-chat', prompt: 'The old man said', max_tokens: 10, temperature: 0 };
    const plain = await client.completions.create(base);
    const named = await client.completions.create({ ...base, glassbox: { profile: 'steer' } });
    const inline = await client.completions.create({ ...base, glassbox: { profile } });
    assert.notEqual(named.choices[0].text, plain.choices[0].text);
    assert.equal(inline.choices[0].text, named.choices[0].text);
    assert.equal(named.glassbox.monitors.length, named.glassbox.tokens.length);
    assert.equal(named.glassbox.monitors[0].name, 'any');
    assert.deepEqual(plain.glassbox.monitors, []);
  });

  await check('monitors in the final stream chunk', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny-lm-chat', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 5, stream: true,
      glassbox: { profile: 'steer' } });
    let last = null;
    for await (const chunk of stream) if (chunk.choices[0]?.finish_reason) last = chunk;
    assert.ok(last.glassbox.monitors.length > 0);
  });

  await check('bad requests are the client\'s typed errors', async () => {
    await assert.rejects(
      client.completions.create({ model: 'tiny-lm-chat', prompt: 'x', n: 2 }),
      (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.param === 'n');
    await assert.rejects(
      client.completions.create({ model: 'tiny-lm-chat', prompt: 'x',
                                  glassbox: { profile: { interventions: [{ type: 'add_vector',
                                    hook: 'blocks.1.hook_resid_post', vector: [1, 2, 3] }] } } }),
      (e) => e.status === 400 && e.param === 'glassbox.profile.interventions[0].vector' && /3 values/.test(e.message));
    const wrongKey = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'nope', maxRetries: 0 });
    await assert.rejects(wrongKey.models.list(), (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
    // Still serving.
    const r = await client.completions.create({ model: 'tiny-lm-chat', prompt: 'x', max_tokens: 1 });
    assert.equal(r.choices.length, 1);
  });
} finally {
  server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
