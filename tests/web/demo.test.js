// The demo page (web/) in Debian's Chromium, driven by playwright-core (never a downloaded
// browser), on the real package API — no stubs:
//  - cross-origin isolated (tools/serve.js): first visit loads the bundled model with the
//    progress bar reaching 100%, streams a generation whose text equals the API's own greedy
//    output computed in Node, Stop halts within one token, keyboard-only use, a broken URL and a
//    non-GGUF file each show a clear message, the cache panel lists / deletes entries; then the
//    server is stopped and the browser taken offline, and the reloaded page still loads the
//    cached model and generates.
//  - plain (no COOP/COEP, tests/browser/server.js) on a phone-sized viewport: a throttled
//    download cut at half way shows bytes, rate and time left, resumes with a Range request, and
//    the model generates.
// No console errors anywhere. Screenshots of the main states go to test-output/web/.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { startServe } from '../../tools/serve.js';
import { startServer } from '../browser/server.js';
import { makeRandomModel, SHAPES } from '../../tools/make_random_model.js';
import { MobileLLM } from '../../worker/index.js';
import { checkpoints } from '../ref/fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const FIX_DIR = path.join(ROOT, 'build/fixtures/web');
const FIX_URL = '/build/fixtures/web';
const SHOTS = path.join(ROOT, 'test-output/web');
const PROMPT = 'Once upon a time';
const GREEDY = { temperature: 0, topK: 40, topP: 0.95, seed: 1, maxTokens: 24 };
const PHONE = { width: 390, height: 844 };

let work, model, modelCopy, reference;

/** The tiny model's parameter count from its shape alone (tied head, no biases). */
function expectedParams() {
  const { nLayer, nEmbd, nFf, nHead, nHeadKv } = SHAPES.tiny;
  const kv = (nEmbd / nHead) * nHeadKv;
  const block = 2 * nEmbd * nEmbd + 2 * nEmbd * kv + 3 * nEmbd * nFf + 2 * nEmbd;
  return 32000 * nEmbd + nLayer * block + nEmbd;
}

/** What the page must show for the generation: the API's own text for the same settings, in Node. */
async function referenceText(source, options = { cache: false }) {
  const llm = await MobileLLM.load(source, options);
  try {
    let text = '';
    let tokens = 0;
    for await (const e of llm.generate(PROMPT, GREEDY)) { text += e.text; if (e.token !== null) tokens++; }
    return { text, tokens };
  } finally {
    await llm.unload();
  }
}

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (make deps does)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-web-'));
  fs.mkdirSync(FIX_DIR, { recursive: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  model = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 11 });
  modelCopy = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 12 });
  fs.writeFileSync(path.join(FIX_DIR, 'tiny.gguf'), model);
  fs.writeFileSync(path.join(FIX_DIR, 'tiny-copy.gguf'), modelCopy);
  reference = await referenceText(model.slice());
  assert.ok(reference.tokens >= 8 && reference.text.length > 0, 'the reference generation is long enough to stream');
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** Decimal megabytes with three significant digits, as a reader expects them. @param {number} n */
const mb = (n) => { const v = n / 1e6; return `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} MB`; };

/**
 * A fresh browser profile; collects console errors and page errors, and records (from before
 * the page's scripts run) every value the progress bar takes and every length the output has.
 * @param {{viewport?: {width: number, height: number}}} [o]
 */
async function launch(o = {}) {
  const context = await chromium.launchPersistentContext(path.join(work, `profile-${Math.random().toString(36).slice(2)}`), {
    executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: o.viewport ?? { width: 1280, height: 900 },
  });
  await context.addInitScript(() => {
    const rec = { progress: [], progressText: [], output: [] };
    /** @type {any} */ (window).__rec = rec;
    document.addEventListener('DOMContentLoaded', () => {
      const bar = document.getElementById('progress');
      const text = document.getElementById('progress-text');
      const out = document.getElementById('output');
      new MutationObserver(() => rec.progress.push(bar.getAttribute('value'))).observe(bar, { attributes: true, attributeFilter: ['value'] });
      new MutationObserver(() => rec.progressText.push(text.textContent)).observe(text, { childList: true, characterData: true, subtree: true });
      new MutationObserver(() => rec.output.push(out.textContent.length)).observe(out, { childList: true, characterData: true, subtree: true });
    });
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  /** Console errors a test provoked on purpose (a 404 it asked for), removed from `errors`. */
  const expectErrors = (re) => {
    for (let i = errors.length - 1; i >= 0; i--) if (re.test(errors[i])) errors.splice(i, 1);
  };
  // The page's console event carries its dedicated workers' messages too (the model worker).
  const onConsole = (where) => (m) => { if (m.type() === 'error') errors.push(`${where} console: ${m.text()}`); };
  page.on('console', onConsole('page'));
  page.on('pageerror', (e) => errors.push(`page error: ${e?.stack ?? e}`));
  context.on('serviceworker', (w) => w.on('console', onConsole('service worker')));
  for (const w of context.serviceWorkers()) w.on('console', onConsole('service worker'));
  return { context, page, errors, expectErrors };
}

/** Wait for the app to be ready (its module ran and drew the cache panel). */
async function appReady(page) {
  await page.waitForFunction(() => !document.getElementById('cache-usage').textContent.startsWith('Checking'), null, { timeout: 20000 });
}

async function loadAndWait(page) {
  await page.click('#load-btn');
  await page.waitForFunction(() => {
    const card = document.getElementById('model-card');
    const err = document.getElementById('load-error');
    return !card.hidden || !err.hidden;
  }, null, { timeout: 30000 });
  const err = await page.locator('#load-error').evaluate((e) => (e.hidden ? '' : e.textContent));
  assert.equal(err, '', 'the model loaded without an error message');
}

/** Set the sampling controls and the prompt. */
async function setSampling(page, s) {
  await page.fill('#prompt', PROMPT);
  await page.fill('#temperature', String(s.temperature));
  await page.fill('#top-k', String(s.topK));
  await page.fill('#top-p', String(s.topP));
  await page.fill('#max-tokens', String(s.maxTokens));
  await page.fill('#seed', s.seed === undefined ? '' : String(s.seed));
}

const generated = (page) => page.evaluate((p) => document.getElementById('output').textContent.slice(p.length), PROMPT);
const waitIdle = (page) => page.waitForFunction(() => !document.getElementById('output').classList.contains('running')
  && !document.getElementById('gen-btn').disabled, null, { timeout: 60000 });

/** Generate greedily; returns the page's text and how many distinct output lengths it went through. */
async function generateGreedy(page) {
  await setSampling(page, GREEDY);
  await page.evaluate(() => { /** @type {any} */ (window).__rec.output.length = 0; });
  await page.click('#gen-btn');
  await waitIdle(page);
  const lengths = await page.evaluate(() => /** @type {any} */ (window).__rec.output);
  return { text: await generated(page), steps: new Set(lengths).size };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

/** Every control has a label, and the page does not scroll sideways. */
async function checkAccessible(page, width) {
  const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, textarea, select, button, meter, progress')]
    .filter((el) => {
      const named = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (/** @type {any} */ (el).labels?.length > 0)
        || (el.tagName === 'BUTTON' && el.textContent.trim());
      return !named;
    }).map((el) => el.outerHTML.slice(0, 80)));
  assert.deepEqual(unlabelled, [], 'every control has an accessible name');
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `no horizontal scrolling at ${width} px (page is ${scrollWidth} px wide)`);
}

test('cross-origin isolated: first visit, streaming, stop, keyboard, errors, cache panel, then offline', async (t) => {
  const srv = await startServe({ port: 0, isolate: true });
  const { context, page, errors, expectErrors } = await launch();
  const pageUrl = `${srv.url}/web/?model=${FIX_URL}/tiny.gguf`;
  let serverUp = true;
  try {
    await t.test('first visit: the bundled model downloads with the bar reaching 100%, and generation streams', async () => {
      await page.goto(pageUrl);
      await appReady(page);
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'COOP/COEP make the page cross-origin isolated');
      assert.match(await page.textContent('#env-iso'), /cross-origin isolated/);
      await checkAccessible(page, 1280);
      assert.equal(await page.isChecked('input[name=source][value=bundled]'), true, 'the bundled model is the default choice');
      assert.equal(await page.isDisabled('#gen-btn'), true, 'nothing to generate with before a model is loaded');
      await shot(page, 'desktop-1-first-visit');

      await loadAndWait(page);
      const rec = await page.evaluate(() => /** @type {any} */ (window).__rec);
      assert.ok(rec.progress.includes('100'), `the progress bar reached 100% (values: ${rec.progress.join(',')})`);
      assert.equal(await page.getAttribute('#progress', 'value'), '100');
      assert.ok(rec.progressText.some((s) => s.includes(`${mb(model.length)} of ${mb(model.length)}`)),
        `the progress text showed the bytes of the download (${rec.progressText.join(' | ')})`);
      assert.match(await page.textContent('#load-status'), new RegExp(`downloaded ${mb(model.length)}`));

      // The model card against the shape the fixture was made with.
      const { nLayer, nEmbd } = SHAPES.tiny;
      assert.match(await page.textContent('#card-params'), new RegExp(`^${(expectedParams() / 1e6).toFixed(1)} M`));
      assert.equal(await page.textContent('#card-layers'), `${nLayer} stored / ${nLayer} effective`);
      assert.equal(await page.textContent('#card-share'), 'none');
      assert.equal(await page.textContent('#card-quant'), 'Q8_0');
      assert.match(await page.textContent('#card-ctx'), /^2048 tokens/);
      assert.match(await page.textContent('#card-shape'), new RegExp(`^d ${nEmbd} `));
      assert.equal(await page.textContent('#card-family'), 'other', 'general.name random-tiny names no MobileLLM family');
      assert.equal(await page.textContent('#card-layout'), 'llama');
      assert.equal(await page.textContent('#card-attn'), 'global (every layer sees the whole context)');
      assert.equal(await page.textContent('#card-rope'), 'every layer, base 10000');
      // the norms (2 per block + output_norm) are the F32 tensors; the rest Q8_0
      assert.match(await page.textContent('#card-types'), new RegExp(`^Q8_0 [0-9.]+% \\(\\d+ tensors\\) · F32 [0-9.]+% \\(${2 * nLayer + 1} tensors\\)$`));

      const g = await generateGreedy(page);
      assert.equal(g.text, reference.text, 'the page shows exactly the text the API generates for these settings');
      assert.ok(g.steps >= 4, `the output grew token by token (${g.steps} distinct lengths), not all at once`);
      assert.equal(await page.getAttribute('#output', 'data-tokens'), String(reference.tokens));
      for (const id of ['#stat-prefill', '#stat-decode']) {
        const v = Number(await page.textContent(id));
        assert.ok(v > 0, `${id} shows a tok/s figure (${v})`);
      }
      assert.match(await page.textContent('#stat-state'), /done/);
      await shot(page, 'desktop-2-generated');
    });

    await t.test('Stop halts the output within one token and leaves the model usable', async () => {
      await setSampling(page, { temperature: 0.9, topK: 40, topP: 0.95, seed: 3, maxTokens: 1500 });
      await page.click('#gen-btn');
      await page.waitForFunction(() => Number(document.getElementById('output').dataset.tokens) >= 5, null, { timeout: 30000 });
      assert.equal(await page.isEnabled('#stop-btn'), true);
      // Click and count in one task, so no token can land between the two.
      const atStop = await page.evaluate(() => {
        document.getElementById('stop-btn').click();
        return Number(document.getElementById('output').dataset.tokens);
      });
      await waitIdle(page);
      const after = Number(await page.getAttribute('#output', 'data-tokens'));
      assert.ok(after - atStop <= 1, `at most one token after Stop (${atStop} at the click, ${after} in the end)`);
      assert.ok(after < 1500, 'the generation did not simply run to its end');
      await page.waitForTimeout(300);
      assert.equal(Number(await page.getAttribute('#output', 'data-tokens')), after, 'nothing arrives later either');
      assert.match(await page.textContent('#stat-state'), new RegExp(`stopped after ${after} tokens`));
      await shot(page, 'desktop-3-stopped');

      const g = await generateGreedy(page);
      assert.equal(g.text, reference.text, 'after a stop the model generates the same text as before');
    });

    await t.test('keyboard only: Ctrl+Enter generates, Escape stops, Tab reaches every control', async () => {
      await setSampling(page, { temperature: 0.9, topK: 40, topP: 0.95, seed: 4, maxTokens: 1500 });
      await page.focus('#prompt');
      await page.keyboard.press('Control+Enter');
      await page.waitForFunction(() => Number(document.getElementById('output').dataset.tokens) >= 3, null, { timeout: 30000 });
      await page.keyboard.press('Escape');
      await waitIdle(page);
      assert.ok(Number(await page.getAttribute('#output', 'data-tokens')) < 1500, 'Escape stopped the generation');
      assert.match(await page.textContent('#stat-state'), /stopped after/);

      // Tab from the top of the page reaches the main controls in order, with a visible focus ring.
      await page.focus('a.skip'); // the first focusable element: Tab on from the top
      const seen = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await page.evaluate(() => {
          const el = document.activeElement;
          return { id: el?.id || el?.getAttribute('value') || el?.tagName, outline: el ? getComputedStyle(el).outlineStyle : '' };
        });
        seen.push(f.id);
        if (['load-btn', 'prompt', 'gen-btn'].includes(f.id)) assert.notEqual(f.outline, 'none', `${f.id} shows focus`);
      }
      for (const id of ['bundled', 'load-btn', 'prompt', 'temperature', 'top-k', 'top-p', 'max-tokens', 'seed', 'gen-btn']) {
        assert.ok(seen.includes(id), `Tab reaches ${id} (order: ${seen.join(' ')})`);
      }
      // An out-of-range setting is named in the page instead of being sent.
      await page.fill('#temperature', '150');
      await page.click('#gen-btn');
      await page.waitForSelector('#gen-error:not([hidden])');
      assert.match(await page.textContent('#gen-error'), /Temperature must be a number from 0 to 100, not '150'\./);
      await page.fill('#temperature', '0.8');
      assert.ok(seen.indexOf('load-btn') < seen.indexOf('prompt') && seen.indexOf('prompt') < seen.indexOf('gen-btn'), seen.join(' '));
    });

    await t.test('a broken URL and a non-GGUF file each show a clear message', async () => {
      await page.click('label:has(input[value=url])');
      const broken = `${srv.url}${FIX_URL}/no-such-model.gguf`;
      await page.fill('#url-input', broken);
      await page.click('#load-btn');
      await page.waitForSelector('#load-error:not([hidden])', { timeout: 20000 });
      const msg = await page.textContent('#load-error');
      assert.match(msg, /Could not load/);
      assert.match(msg, /no-such-model\.gguf/, 'the message names the URL');
      assert.match(msg, /404/, 'the message gives the HTTP status');
      assert.equal(await page.locator('#load-error').getAttribute('role'), 'alert');
      expectErrors(/no-such-model|404 \(Not Found\)/); // were the browser to log the failed request itself
      await shot(page, 'desktop-4-broken-url');

      // The failed load released the old model: load the bundled one again for what follows.
      await page.click('label:has(input[value=bundled])');
      await loadAndWait(page);

      await page.click('label:has(input[value=file])');
      await page.setInputFiles('#file-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('These are my notes, not a model.\n') });
      await page.waitForSelector('#load-error:not([hidden])', { timeout: 20000 });
      const msg2 = await page.textContent('#load-error');
      assert.match(msg2, /notes\.txt is not a GGUF model file/);
      assert.match(msg2, /GGUF' signature/);
      assert.equal(await page.isEnabled('#gen-btn'), true, 'a rejected file leaves the loaded model in place');
      await shot(page, 'desktop-5-not-gguf');

      // A file that says GGUF but is not a valid model gets the engine's own reason.
      const fake = Buffer.concat([Buffer.from('GGUF'), Buffer.alloc(60, 0xff)]);
      await page.setInputFiles('#file-input', { name: 'broken.gguf', mimeType: 'application/octet-stream', buffer: fake });
      await page.waitForFunction(() => /broken\.gguf/.test(document.getElementById('load-error').textContent), null, { timeout: 20000 });
      const msg3 = await page.textContent('#load-error');
      assert.match(msg3, /Could not load broken\.gguf\./);
      assert.match(msg3, /not a GGUF model \(or it is damaged\)|unsupported|version/i);
    });

    await t.test('the cache panel lists models with sizes and storage, and deletes one', async () => {
      await page.click('label:has(input[value=url])');
      await page.fill('#url-input', `${srv.url}${FIX_URL}/tiny-copy.gguf`);
      await loadAndWait(page);
      await page.waitForFunction(() => document.querySelectorAll('#cache-body tr').length === 2, null, { timeout: 10000 });
      const rows = await page.$$eval('#cache-body tr', (trs) => trs.map((tr) => ({ key: tr.dataset.key, text: tr.textContent })));
      const orig = rows.find((r) => r.key.endsWith('/tiny.gguf'));
      const copy = rows.find((r) => r.key.endsWith('/tiny-copy.gguf'));
      assert.ok(orig && copy, `both models are listed (${rows.map((r) => r.key).join(', ')})`);
      assert.ok(orig.text.includes(mb(model.length)), `the bundled model's size is shown (${orig.text})`);
      assert.ok(copy.text.includes(mb(modelCopy.length)), `the copy's size is shown (${copy.text})`);
      const usage = await page.textContent('#cache-usage');
      assert.ok(usage.includes(`${mb(model.length + modelCopy.length)} used by 2 models`), usage);
      assert.match(usage, /free of a [\d.]+ [kMGT]?B quota/);
      await shot(page, 'desktop-6-cache');

      await page.click('#cache-body tr[data-key$="/tiny-copy.gguf"] button:has-text("Delete")');
      await page.waitForFunction(() => document.querySelectorAll('#cache-body tr').length === 1, null, { timeout: 10000 });
      const keys = await page.evaluate(async () => (await (await import('/worker/index.js')).MobileLLM.cache.list()).map((e) => e.key));
      assert.equal(keys.length, 1, 'the entry is gone from the cache itself');
      assert.ok(keys[0].endsWith('/tiny.gguf'));
      assert.ok((await page.textContent('#cache-usage')).includes(`${mb(model.length)} used by 1 model`));
    });

    await t.test('offline: with the server stopped and the network off, the page reloads and generates from cache', async () => {
      assert.equal(await page.evaluate(() => !!navigator.serviceWorker.controller), true, 'the service worker controls the page');
      // Every engine build on disk is in the offline cache (whichever one this browser will pick).
      const cached = await page.evaluate(async () => {
        const keys = [];
        for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) keys.push(new URL(r.url).pathname);
        return keys;
      });
      const builds = fs.readdirSync(path.join(ROOT, 'dist')).filter((f) => /\.(js|wasm|cjs)$/.test(f)).map((f) => `/dist/${f}`);
      assert.ok(builds.length >= 2);
      for (const b of [...builds, '/worker/worker.js', '/wasm_build/engine.js', '/web/index.html']) assert.ok(cached.includes(b), `${b} is cached for offline use`);
      await srv.close();
      serverUp = false;
      await context.setOffline(true);
      await page.goto(pageUrl);
      await appReady(page);
      assert.equal(await page.textContent('#env-net'), 'offline');
      assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'still cross-origin isolated from the cached headers');
      // Keyboard only: Tab to the Load button and press Enter.
      await page.focus('input[name=source][value=bundled]');
      for (let i = 0; i < 10 && await page.evaluate(() => document.activeElement?.id) !== 'load-btn'; i++) await page.keyboard.press('Tab');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#model-card:not([hidden])', { timeout: 30000 });
      assert.match(await page.textContent('#load-status'), /from this browser's cache, no download/);
      const g = await generateGreedy(page);
      assert.equal(g.text, reference.text, 'offline, the cached model generates the same text');
      await shot(page, 'desktop-7-offline');

      await page.setViewportSize(PHONE);
      await checkAccessible(page, PHONE.width);
      await shot(page, 'phone-5-offline');
    });
  } finally {
    await context.close();
    if (serverUp) await srv.close();
  }
  assert.deepEqual(errors, [], 'no console errors');
});

test('plain (not isolated) on a phone: a cancelled, then cut download shows bytes, rate and time left, resumes, and generates', async () => {
  const srv = await startServer();
  srv.serveFile('/m/tiny.gguf', { data: model, etag: '"tiny-v1"', throttle: 24 * 1024, cutAt: Math.floor(model.length / 2) });
  const { context, page, errors } = await launch({ viewport: PHONE });
  try {
    await page.goto(`${srv.url}/web/index.html?model=/m/tiny.gguf`); // this server lists no folders
    await appReady(page);
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    assert.match(await page.textContent('#env-iso'), /single thread/);
    await checkAccessible(page, PHONE.width);
    await shot(page, 'phone-1-first-visit');

    // Cancel part way: the page says so, and the cache panel shows the partial download.
    await page.click('#load-btn');
    await page.waitForFunction(() => Number(document.getElementById('progress').getAttribute('value')) >= 5, null, { timeout: 20000 });
    await page.click('#cancel-load-btn');
    await page.waitForFunction(() => /cancelled/.test(document.getElementById('load-status').textContent), null, { timeout: 20000 });
    assert.equal(await page.isHidden('#cancel-load-btn'), true);
    assert.equal(await page.isHidden('#load-error'), true, 'a cancel is not an error');
    await page.waitForFunction(() => /partial \(\d+%\)/.test(document.getElementById('cache-body').textContent), null, { timeout: 10000 });

    await shot(page, 'phone-2-cancelled');
    srv.setFile('/m/tiny.gguf', { cutTimes: 1 }); // the cancelled response used up the cut: cut the resumed one
    await page.click('#load-btn');
    await page.waitForFunction(() => /left/.test(document.getElementById('progress-text').textContent), null, { timeout: 20000 });
    const mid = await page.textContent('#progress-text');
    assert.match(mid, new RegExp(`^[\\d.]+ [kM]?B of ${mb(model.length).replace('.', '\\.')} · [\\d.]+ [kM]?B/s · [^·]+ left$`), mid);
    await shot(page, 'phone-3-downloading');
    await page.waitForSelector('#model-card:not([hidden])', { timeout: 60000 });
    assert.equal(await page.getAttribute('#progress', 'value'), '100');

    const reqs = srv.requests('/m/tiny.gguf').filter((r) => r.method === 'GET');
    assert.ok(reqs.some((r) => r.cut), `a response was cut off (${JSON.stringify(reqs)})`);
    const afterCut = reqs.slice(reqs.findIndex((r) => r.cut) + 1).find((r) => r.status === 206);
    assert.ok(afterCut && Number(/bytes=(\d+)-/.exec(afterCut.range)?.[1]) > 0,
      `after the cut the download resumed with a Range request for the rest (${JSON.stringify(reqs)})`);
    assert.equal(reqs.filter((r) => r.start === 0).length, 1, 'it never started over');

    const g = await generateGreedy(page);
    assert.equal(g.text, reference.text, 'the resumed download holds the same model');
    // The offline cache installs on this server too (it lists no folders, sends no wasm-specific headers).
    await page.waitForFunction(() => document.getElementById('env-sw').textContent === 'works offline', null, { timeout: 20000 });
    await checkAccessible(page, PHONE.width);
    await shot(page, 'phone-4-generated');
  } finally {
    await context.close();
    await srv.close();
  }
  assert.deepEqual(errors, [], 'no console errors');
});

test('other sources: a checkpoint folder (converted in the page) and a Hugging Face repo id, reloaded from the cache panel', async () => {
  const dir = checkpoints().dir('ls_tied_gqa'); // a random MobileLLM checkpoint written by PyTorch, with layer sharing
  const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(config.layer_sharing, true);
  const ref = await referenceText(dir, { cacheDir: path.join(work, 'node-cache') });
  const srv = await startServer();
  srv.addRepo('test/ls-tiny', dir);
  const { context, page, errors } = await launch();
  /** The card of a layer-shared MobileLLM: each stored block runs twice, in place (DESIGN.md). */
  const checkCard = async () => {
    const L = config.num_hidden_layers;
    assert.equal(await page.textContent('#card-layers'), `${L} stored / ${2 * L} effective`);
    assert.equal(await page.textContent('#card-share'), 'each block runs ×2, immediate');
    assert.equal(await page.textContent('#card-quant'), 'Q8_0');
    assert.match(await page.textContent('#card-ctx'), new RegExp(`^${config.max_position_embeddings} tokens`));
    assert.match(await page.textContent('#card-shape'), new RegExp(`^d ${config.hidden_size} .* vocab ${config.vocab_size}$`));
  };
  try {
    // No bundled model on this server (as before `make model`): the page says how to get one.
    await page.goto(`${srv.url}/web/index.html?model=/models/absent.gguf&hf=${encodeURIComponent(srv.url)}`);
    await appReady(page);
    await page.click('#load-btn');
    await page.waitForSelector('#load-error:not([hidden])', { timeout: 20000 });
    assert.match(await page.textContent('#load-error'), /Could not load the bundled model\..*404.*make model/);

    await page.click('label:has(input[value=file])');
    await page.setInputFiles('#dir-input', dir);
    await page.waitForSelector('#model-card:not([hidden])', { timeout: 60000 });
    assert.match(await page.textContent('#file-chosen'), /Chosen: folder ls_tied_gqa \(4 files/);
    await checkCard();
    const g1 = await generateGreedy(page);
    assert.equal(g1.text, ref.text, 'the folder converted in the browser generates what the API generates in Node');
    await shot(page, 'desktop-8-checkpoint-folder');

    await page.click('label:has(input[value=hf])');
    await page.fill('#hf-input', 'test/ls-tiny');
    await loadAndWait(page);
    await checkCard();
    assert.equal(await page.textContent('#card-source'), 'test/ls-tiny');
    assert.ok(srv.requests('/api/models/test/ls-tiny').length >= 1, 'the repo was listed on the (imitated) Hub');
    const g2 = await generateGreedy(page);
    assert.equal(g2.text, ref.text, 'the repo converted in the browser generates the same text');

    // Its converted entry can be loaded from the cache panel without any request for it.
    srv.clearLog();
    const row = page.locator('#cache-body tr', { hasText: 'test/ls-tiny' });
    await row.locator('button:has-text("Load")').click();
    await page.waitForFunction(() => /from this browser's cache/.test(document.getElementById('load-status').textContent), null, { timeout: 30000 });
    await checkCard();
    assert.deepEqual(srv.log.filter((r) => !/^\/(web|worker|lib|wasm_build|dist|models\/convert)\//.test(r.path)), [],
      'loading the cached repo made no request for it');
    await shot(page, 'desktop-9-hf-from-cache');
  } finally {
    await context.close();
    await srv.close();
  }
  assert.deepEqual(errors, [], 'no console errors');
});
