// The demo page's Chat panel (web/chat.js) and JSON-schema box in Debian's Chromium, on the real
// API: a random-weight model carrying SmolLM2's ChatML template; two turns whose streamed replies
// equal llm.chat.completions.create() in Node for the same conversation and settings; Stop ends a
// reply early; Clear empties the list; a JSON Schema in the Generate panel gives one value that
// validates (ajv); offline, the reloaded page chats from its caches. No console errors.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import Ajv from 'ajv';

import { startServe } from '../../tools/serve.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { MobileLLM } from '../../worker/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const FIX_DIR = path.join(ROOT, 'build/fixtures/web');
const SETTINGS = { temperature: 0, max_tokens: 12, seed: 1 };
const SCHEMA = { type: 'object', properties: { name: { type: 'string', maxLength: 8 }, n: { type: 'integer' } }, required: ['name', 'n'] };

let work, model;

before(() => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (make deps does)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-chat-web-'));
  fs.mkdirSync(FIX_DIR, { recursive: true });
  model = makeRandomModel({ shape: 'tiny', nVocab: 2000, seed: 21, specials: ['<|im_start|>', '<|im_end|>'], nCtx: 2048,
    chatTemplate: fs.readFileSync(path.join(ROOT, 'tests/ref/chat_templates/smollm2-instruct.jinja'), 'utf8') });
  fs.writeFileSync(path.join(FIX_DIR, 'chat-tiny.gguf'), model);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** What the page must show: the API's reply in Node for the same conversation. */
async function referenceReplies(turns) {
  const llm = await MobileLLM.load(model.slice(), { cache: false });
  try {
    const messages = [];
    const replies = [];
    for (const text of turns) {
      messages.push({ role: 'user', content: text });
      const r = await llm.chat.completions.create({ messages, ...SETTINGS, top_p: 0.95 });
      replies.push(r.choices[0].message.content);
      messages.push({ role: 'assistant', content: r.choices[0].message.content });
    }
    return replies;
  } finally {
    await llm.unload();
  }
}

test('chat panel: streamed replies equal the API\'s, Stop, Clear; JSON-schema box', async () => {
  const turns = ['Hello, who are you?', 'Tell me more.'];
  const want = await referenceReplies(turns);
  assert.ok(want.every((r) => r.length > 0), 'the reference replies are not empty');
  const srv = await startServe({ port: 0, isolate: true });
  const context = await chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 },
  });
  const errors = [];
  let serverUp = true;
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => errors.push(`page error: ${e?.stack ?? e}`));
    await page.goto(`${srv.url}/web/?model=/build/fixtures/web/chat-tiny.gguf`);
    // the app's module has run once it has drawn the cache panel
    await page.waitForFunction(() => !document.getElementById('cache-usage').textContent.startsWith('Checking'), null, { timeout: 20000 });
    await page.click('#load-btn');
    await page.waitForSelector('#model-card:not([hidden])', { timeout: 30000 });
    await page.fill('#temperature', '0');
    await page.fill('#top-p', '0.95');
    await page.fill('#max-tokens', String(SETTINGS.max_tokens));
    await page.fill('#seed', String(SETTINGS.seed));

    for (const [i, text] of turns.entries()) {
      await page.fill('#chat-input', text);
      await page.press('#chat-input', 'Enter');
      await page.waitForFunction((n) => document.querySelectorAll('#chat-log li.assistant[data-done]').length === n, i + 1, { timeout: 60000 });
      const got = await page.evaluate(() => [...document.querySelectorAll('#chat-log li')].map((li) => [li.dataset.role, li.querySelector('.body').textContent]));
      assert.deepEqual(got.at(-2), ['user', text]);
      assert.equal(got.at(-1)[1], want[i], `turn ${i + 1} equals the API's reply`);
    }
    assert.equal(await page.evaluate(() => document.getElementById('chat-error').hidden), true);

    // Stop: a long reply ends early and the panel is ready again (greedy, this model's replies run
    // to max tokens without an end-of-turn, seconds of generation)
    await page.fill('#max-tokens', '1500');
    await page.fill('#chat-input', 'A long story, please.');
    await page.click('#chat-send');
    await page.waitForFunction(() => (document.querySelector('#chat-log li.assistant.running .body')?.textContent.length ?? 0) > 3, null, { timeout: 30000 });
    await page.click('#chat-stop');
    await page.waitForSelector('#chat-log li.assistant[data-done]:nth-of-type(6)', { timeout: 30000 });
    assert.equal(await page.isEnabled('#chat-send'), true);
    assert.equal(await page.isDisabled('#chat-stop'), true);
    assert.equal(await page.evaluate(() => document.getElementById('chat-error').hidden), true, 'Stop is not an error');
    assert.equal(await page.getAttribute('#chat-log li.assistant:nth-of-type(6)', 'data-tokens'), null, 'stopped before the stream\'s last (usage) chunk');
    assert.notEqual(await page.getAttribute('#chat-log li.assistant:nth-of-type(4)', 'data-tokens'), null, 'a finished reply has its usage');

    await page.click('#chat-clear');
    assert.equal(await page.evaluate(() => document.querySelectorAll('#chat-log li').length), 0);

    // The JSON-schema box: the Generate panel's output is one value that validates.
    await page.fill('#max-tokens', '60');
    await page.fill('#json-schema', JSON.stringify(SCHEMA));
    await page.fill('#prompt', 'JSON:');
    await page.click('#gen-btn');
    await page.waitForFunction(() => !document.getElementById('output').classList.contains('running') && !document.getElementById('gen-btn').disabled, null, { timeout: 60000 });
    const out = await page.evaluate(() => document.getElementById('output').textContent.slice('JSON:'.length));
    const validate = new Ajv().compile(SCHEMA);
    assert.ok(validate(JSON.parse(out)), out);
    // a schema the grammar cannot express is named before anything runs
    await page.fill('#json-schema', '{"type": "string", "pattern": "a+"}');
    await page.click('#gen-btn');
    await page.waitForSelector('#gen-error:not([hidden])');
    assert.match(await page.textContent('#gen-error'), /pattern/);

    // Offline: the service worker has cached the template renderer with the package; the
    // reloaded page, on the cached model, gives the same first reply.
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 20000 });
    await srv.close();
    serverUp = false;
    await context.setOffline(true);
    await page.reload();
    await page.waitForFunction(() => !document.getElementById('cache-usage').textContent.startsWith('Checking'), null, { timeout: 20000 });
    await page.click('#load-btn');
    await page.waitForSelector('#model-card:not([hidden])', { timeout: 30000 });
    await page.fill('#temperature', '0');
    await page.fill('#top-p', '0.95');
    await page.fill('#max-tokens', String(SETTINGS.max_tokens));
    await page.fill('#seed', String(SETTINGS.seed));
    await page.fill('#chat-input', turns[0]);
    await page.click('#chat-send');
    await page.waitForSelector('#chat-log li.assistant[data-done]', { timeout: 60000 });
    assert.equal(await page.textContent('#chat-log li.assistant .body'), want[0], 'offline, the same reply');
  } finally {
    await context.close();
    if (serverUp) await srv.close();
  }
  assert.deepEqual(errors, [], 'no console errors');
});
