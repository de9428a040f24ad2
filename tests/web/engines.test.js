// The demo page (web/) in all three engines — Chromium, Firefox and WebKit (Safari's engine),
// through tests/browser/driver.js — on the real API, on a plain static server that sends no
// COOP/COEP (as GitHub Pages): a throttled download cut at half way resumes with a Range
// request, generation streams the API's own greedy text, Stop halts within one token, a reload
// loads from IndexedDB with zero weight requests, the service worker's COOP/COEP make the
// reloaded page cross-origin isolated so the engine runs threads, and with the server gone the
// page reloads through the service worker and generates from the cache. And a storage quota
// error shown in the page (Chromium and Firefox; WebKit's driver has no quota to set).
// (tests/web/demo.test.js goes deeper in Chromium: keyboard, screenshots, files, cache panel.)

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ENGINES, ENGINE_BUILD, launch } from '../browser/driver.js';
import { startServer } from '../browser/server.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { MobileLLM } from '../../worker/index.js';

const PROMPT = 'Once upon a time';
const GREEDY = { temperature: 0, topK: 40, topP: 0.95, seed: 1, maxTokens: 24 };

let work, model, reference;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-engines-'));
  model = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 11 });
  // What the page must show: the API's own text for the same settings, in Node.
  const llm = await MobileLLM.load(model.slice(), { cache: false });
  try {
    let text = '';
    for await (const e of llm.generate(PROMPT, GREEDY)) text += e.text;
    reference = text;
  } finally {
    await llm.unload();
  }
  assert.ok(reference.length > 0);
});

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

// ---------------------------------------------------------------- the page, through the DOM

const appReady = (b) => b.waitFor(() => !!document.getElementById('cache-usage')
  && !document.getElementById('cache-usage').textContent.startsWith('Checking'), null, 30000);

const click = (b, sel) => b.evaluate((s) => { document.querySelector(s).click(); }, sel);

/** Load the page's chosen model; fails with the page's own message if it shows one. */
async function loadModel(b) {
  await click(b, '#load-btn');
  await b.waitFor(() => !document.getElementById('model-card').hidden || !document.getElementById('load-error').hidden, null, 60000);
  const err = await b.evaluate(() => { const e = document.getElementById('load-error'); return e.hidden ? '' : e.textContent; });
  assert.equal(err, '', 'the model loaded without an error message');
}

/** Set the sampling form as a user would (value, then an input event). */
const setSampling = (b, s) => b.evaluate(([prompt, s]) => {
  const set = (id, v) => { const el = document.getElementById(id); el.value = v; el.dispatchEvent(new Event('input', { bubbles: true })); };
  set('prompt', prompt);
  set('temperature', String(s.temperature));
  set('top-k', String(s.topK));
  set('top-p', String(s.topP));
  set('max-tokens', String(s.maxTokens));
  set('seed', s.seed === undefined ? '' : String(s.seed));
}, [PROMPT, s]);

const waitIdle = (b) => b.waitFor(() => !document.getElementById('output').classList.contains('running')
  && !document.getElementById('gen-btn').disabled, null, 60000);

/** Generate greedily; the page's text and how many distinct output lengths it went through. */
async function generateGreedy(b) {
  await setSampling(b, GREEDY);
  await b.evaluate(() => {
    const out = document.getElementById('output');
    const lengths = new Set();
    /** @type {any} */ (window).__lengths = lengths;
    new MutationObserver(() => lengths.add(out.textContent.length)).observe(out, { childList: true, characterData: true, subtree: true });
    document.getElementById('gen-btn').click();
  });
  await waitIdle(b);
  return b.evaluate((p) => ({
    text: document.getElementById('output').textContent.slice(p.length),
    steps: /** @type {any} */ (window).__lengths.size,
  }), PROMPT);
}

for (const engine of ENGINES) describe(engine, () => {
  test('the demo page on a plain static host: resume after a cut, stream, stop, reload from IndexedDB, threads through the service worker, offline', async (t) => {
    const srv = await startServer();
    // Throttled to 6.4 MB/s: WebKit drops bytes it holds but the page has not read when the
    // connection breaks, so a fast cut can leave nothing stored and the retry rightly starts over.
    srv.serveFile('/m/tiny.gguf', { data: model, etag: '"tiny-v1"', throttle: 64 * 1024, cutAt: Math.floor(model.length / 2) });
    const pageUrl = `${srv.url}/web/index.html?model=/m/tiny.gguf`;
    const b = await launch(engine, { profileDir: path.join(work, `profile-${engine}`) });
    let serverUp = true;
    try {
      await t.test('first visit: not isolated; a download cut at half way resumes with a Range request; the text streams', async () => {
        await b.goto(pageUrl);
        await appReady(b);
        assert.equal(await b.evaluate(() => crossOriginIsolated), false, 'the server sends no COOP/COEP');
        await loadModel(b);
        assert.equal(await b.evaluate(() => document.getElementById('progress').getAttribute('value')), '100');
        const reqs = srv.requests('/m/tiny.gguf').filter((r) => r.method === 'GET');
        assert.ok(reqs.some((r) => r.cut), `a response was cut off (${JSON.stringify(reqs)})`);
        const afterCut = reqs.slice(reqs.findIndex((r) => r.cut) + 1);
        assert.ok(afterCut.length >= 1 && afterCut.every((r) => r.status === 206 && Number(/bytes=(\d+)-/.exec(r.range)?.[1]) > 0),
          `after the cut the download resumed with a Range request (${JSON.stringify(reqs)})`);
        assert.match(await b.evaluate(() => document.getElementById('card-engine').textContent), /· 1 thread$/);

        const g = await generateGreedy(b);
        assert.equal(g.text, reference, 'the page shows exactly the text the API generates for these settings');
        assert.ok(g.steps >= 4, `the output grew token by token (${g.steps} distinct lengths)`);
      });

      await t.test('Stop halts the output within one token', async () => {
        await setSampling(b, { temperature: 0.9, topK: 40, topP: 0.95, seed: 3, maxTokens: 1500 });
        await click(b, '#gen-btn');
        await b.waitFor(() => Number(document.getElementById('output').dataset.tokens) >= 5, null, 30000);
        const atStop = await b.evaluate(() => { // click and count in one task: no token can land between
          document.getElementById('stop-btn').click();
          return Number(document.getElementById('output').dataset.tokens);
        });
        await waitIdle(b);
        const end = await b.evaluate(() => Number(document.getElementById('output').dataset.tokens));
        assert.ok(end - atStop <= 1, `at most one token after Stop (${atStop} at the click, ${end} in the end)`);
        assert.match(await b.evaluate(() => document.getElementById('stat-state').textContent), new RegExp(`stopped after ${end} tokens`));
      });

      await t.test('reloaded: cross-origin isolated through the service worker, threads, and the model from IndexedDB with zero weight requests', async () => {
        await b.waitFor(() => !!navigator.serviceWorker.controller, null, 30000);
        srv.clearLog();
        await b.reload();
        await appReady(b);
        assert.equal(await b.evaluate(() => crossOriginIsolated), true, 'the service worker added COOP/COEP');
        await loadModel(b);
        assert.match(await b.evaluate(() => document.getElementById('load-status').textContent), /from this browser's cache, no download/);
        assert.deepEqual(srv.requests('/m/'), [], 'no weight request after the reload');
        // The page asks for a thread per core (at most 8); the engine runs them where it can.
        const hc = ENGINE_BUILD[engine].threads ? await b.evaluate(() => Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8))) : 1;
        assert.match(await b.evaluate(() => document.getElementById('card-engine').textContent),
          new RegExp(`SIMD128 · ${hc} thread${hc === 1 ? '' : 's'}$`), 'the build this engine allows runs in the isolated page');
        const g = await generateGreedy(b);
        assert.equal(g.text, reference, 'with threads, the same text');
      });

      await t.test('offline: with the server gone, the page reloads through the service worker and generates from the cache', async () => {
        await srv.close();
        serverUp = false;
        await b.goto(pageUrl);
        await appReady(b);
        await loadModel(b);
        assert.match(await b.evaluate(() => document.getElementById('load-status').textContent), /from this browser's cache, no download/);
        const g = await generateGreedy(b);
        assert.equal(g.text, reference, 'offline, the cached model generates the same text');
      });
    } finally {
      const errors = b.consoleErrors.slice();
      await b.close();
      if (serverUp) await srv.close();
      if (b.can.console) assert.deepEqual(errors, [], 'no console errors');
      else t.diagnostic(`${engine}: console errors are not visible to its driver (W3C WebDriver has no console events)`);
    }
  });

  test('the page shows a storage quota error with the sizes and what to do, and stays usable', async (t) => {
    if (engine === 'webkit') return t.skip('WebKitGTK over W3C WebDriver has no storage quota to set (no per-origin override, no quota preference)');
    const srv = await startServer();
    srv.serveFile('/q/tiny.gguf', { data: model });
    // Chromium: a per-origin override (CDP) before the origin's storage opens; Firefox: a profile
    // whose storage is limited to 5 MB (a preference). The model is 5.9 MB.
    const b = await launch(engine, { profileDir: path.join(work, `quota-${engine}`), quotaKiB: Math.floor(5_000_000 / 1024) });
    try {
      if (engine === 'chromium') await b.setQuota(srv.url, 5_000_000);
      await b.goto(`${srv.url}/web/index.html?model=/q/tiny.gguf`);
      await appReady(b);
      await click(b, '#load-btn');
      await b.waitFor(() => !document.getElementById('load-error').hidden, null, 60000);
      const msg = await b.evaluate(() => document.getElementById('load-error').textContent);
      assert.match(msg, /needs (at least )?[\d.]+ MB (of storage|more)/, msg);
      assert.match(msg, /Free some space: delete cached models below\.$/, msg);
      assert.equal(await b.evaluate(() => document.getElementById('load-btn').disabled), false, 'the page can load again');
    } finally {
      await b.close();
      await srv.close();
    }
  });
});
