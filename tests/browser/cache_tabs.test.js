// The model cache with several tabs of one Chromium profile (issue 25): a delete or clear in one
// tab while another downloads or loads, an abort while waiting for another tab's download, full
// storage under a forced origin quota (CDP Storage.overrideQuotaForOrigin), and reload storms.
// Bytes transferred come from the local server's log; list() / usage() are checked against the
// records IndexedDB really holds (read raw in the page, not through the package).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';

import { startServer } from './server.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const MiB = 1 << 20;
const CHUNK = MiB; // worker/cache_entry.js CHUNK_SIZE, asserted through the stored records below

let srv, context, work, big, small;

before(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (make deps does)`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-tabs-'));
  big = makeRandomModel({ shape: 'tiny', type: 'f32', seed: 31, nCtx: 64 }); // ~20 MB
  small = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 32, nCtx: 64 }); // ~5.9 MB
  srv = await startServer();
  context = await chromium.launchPersistentContext(path.join(work, 'profile'), { executablePath: CHROMIUM, headless: true, args: FLAGS });
});

after(async () => {
  await context?.close();
  await srv?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** A new tab of the shared profile on `base`'s test page. */
async function tab(base = srv.url) {
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e));
  await page.goto(`${base}/tests/browser/page.html`);
  await page.waitForFunction(() => window.apiReady === true);
  return page;
}

/** Run fn(api, arg) in a tab; errors come back as {error: {name, code, message, ...}}. */
function inPage(page, fn, arg) {
  return page.evaluate(async ([src, a]) => {
    const f = new Function(`return (${src})`)();
    try {
      return await f(window.api, a);
    } catch (e) {
      return { error: { name: e?.name, code: e?.code, message: e?.message, needed: e?.needed, free: e?.free, size: e?.size } };
    }
  }, [fn.toString(), arg]);
}

/** Load a URL (options may ask for progress events, kept in window.progress), generate 2 tokens, unload. */
const loadOnce = async (api, { url, persist }) => {
  window.progress = [];
  const llm = await api.MobileLLM.load(url, { persist, onProgress: (p) => window.progress.push(p) });
  const tokens = [];
  for await (const e of llm.generate('w300', { temperature: 0, maxTokens: 2, ignoreEos: true })) tokens.push(e.token);
  const info = { fromCache: llm.info.fromCache, warnings: llm.info.warnings, persisted: llm.info.persisted };
  await llm.unload();
  return { tokens, info };
};

/** What IndexedDB really holds for `key`, read raw (the package's schema: entries, chunks [id, index]). */
const idbTruth = (page, key) => page.evaluate(async (k) => {
  const db = await new Promise((res, rej) => {
    const r = indexedDB.open('mobilellm-wasm', 1);
    r.onupgradeneeded = () => { r.result.createObjectStore('entries', { keyPath: 'id' }); r.result.createObjectStore('chunks'); };
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  const got = (req) => new Promise((res, rej) => { req.onsuccess = () => res(req.result); req.onerror = () => rej(req.error); });
  const tx = db.transaction(['entries', 'chunks']);
  const meta = await got(tx.objectStore('entries').get(k));
  const chunks = await got(tx.objectStore('chunks').getAll(IDBKeyRange.bound([k, 0], [k, Infinity])));
  const allChunks = await got(tx.objectStore('chunks').count());
  db.close();
  return { record: !!meta, stored: meta?.stored ?? null, complete: meta?.complete ?? null, chunks: chunks.map((c) => c.byteLength), allChunks };
}, key);

/** list() and usage() as a tab sees them. */
const listing = (page) => inPage(page, async (api) => ({ list: await api.MobileLLM.cache.list(), usage: await api.MobileLLM.cache.usage() }));

/** Poll fn until it returns a truthy value. */
async function until(fn, what, ms = 30_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const storedOf = async (page, key) => (await listing(page)).list.find((e) => e.key === key)?.storedBytes ?? 0;
const sum = (a) => a.reduce((s, x) => s + x, 0);
const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const pageSha = (page, key) => page.evaluate(async (k) => {
  const b = await window.api.MobileLLM.cache.read(k);
  return [...new Uint8Array(await crypto.subtle.digest('SHA-256', b))].map((x) => x.toString(16).padStart(2, '0')).join('');
}, key);

test('case 1: a delete or clear in tab B while tab A downloads stops A with a cache error and leaves no record, no chunk and no false listing', async () => {
  const a = await tab();
  const b = await tab();
  try {
    await inPage(b, (api) => api.MobileLLM.cache.clear());
    srv.serveFile('/c1/big.gguf', { data: big, throttle: 32 * 1024 }); // 3.2 MB/s
    const url = `${srv.url}/c1/big.gguf`;
    const key = `url:${url}`;
    srv.clearLog();
    const pending = inPage(a, loadOnce, { url });
    const at = await until(async () => { const s = await storedOf(b, key); return s >= 0.3 * big.length && s; }, '30% stored');
    assert.equal(await inPage(b, (api, k) => api.MobileLLM.cache.delete(k), key), true);
    const r = await pending;
    assert.deepEqual([r.error?.name, r.error?.code], ['CacheError', 'cache'], JSON.stringify(r));
    assert.match(r.error.message, /^The cache entry 'url:.*' was deleted while it was being written\.$/);
    // A stopped at its next write: it did not go on downloading the whole file.
    const [req] = srv.requests('/c1/');
    assert.ok(req.bytes < at + 4 * MiB && req.bytes < big.length, `sent ${req.bytes} of ${big.length} after the delete at ${at}`);
    await new Promise((res) => setTimeout(res, 500)); // any late write of A's would land by now
    const truth = await idbTruth(b, key);
    assert.deepEqual([truth.record, truth.chunks.length], [false, 0], JSON.stringify(truth));
    const l = await listing(b);
    assert.deepEqual([l.list.length, l.usage.usage, l.usage.entries], [0, 0, 0], JSON.stringify(l));

    // Clear in B, and A's tab closed right after (its download never reports back).
    const pending2 = inPage(a, loadOnce, { url }).catch(() => ({ closed: true }));
    await until(async () => (await storedOf(b, key)) >= 0.3 * big.length, '30% stored again');
    assert.equal(await inPage(b, (api) => api.MobileLLM.cache.clear()), 1);
    await a.close();
    await pending2;
    await new Promise((res) => setTimeout(res, 500));
    const truth2 = await idbTruth(b, key);
    assert.deepEqual([truth2.record, truth2.chunks.length, truth2.allChunks], [false, 0, 0], JSON.stringify(truth2));
    assert.deepEqual((await listing(b)).list, []);
    // The next load fetches the file once, whole, and it is intact.
    srv.setFile('/c1/big.gguf', { throttle: undefined });
    srv.clearLog();
    const ok = await inPage(b, loadOnce, { url });
    assert.ok(!ok.error, JSON.stringify(ok.error));
    assert.deepEqual(srv.requests('/c1/').map((q) => [q.status, q.range, q.bytes]), [[200, null, big.length]]);
    assert.equal(await pageSha(b, key), sha(big));
  } finally {
    if (!a.isClosed()) await a.close();
    await b.close();
  }
});

test('case 2: deleting an entry another tab holds or is reading leaves no ghost; a loaded model keeps working; a delete mid-read fails that load instead of refetching', async () => {
  const a = await tab();
  const b = await tab();
  try {
    await inPage(b, (api) => api.MobileLLM.cache.clear());
    srv.serveFile('/c2/small.gguf', { data: small });
    const url = `${srv.url}/c2/small.gguf`;
    const key = `url:${url}`;
    // Deleted the moment A has read the last chunk (A's "last used" update comes right after).
    for (let i = 0; i < 3; i++) {
      assert.ok(!(await inPage(b, loadOnce, { url })).error); // (re)cache it
      srv.clearLog();
      const r = await inPage(a, async (api, { url: u, k }) => {
        let asked = null;
        const llm = await api.MobileLLM.load(u, { onProgress: (p) => { if (p.phase === 'load' && p.loaded === p.total) asked ??= api.MobileLLM.cache.delete(k); } });
        const deleted = await asked;
        const t = [];
        for await (const e of llm.generate('w300', { temperature: 0, maxTokens: 2, ignoreEos: true })) t.push(e.token);
        await llm.unload();
        return { deleted, tokens: t.length, fromCache: llm.info.fromCache };
      }, { url, k: key });
      assert.deepEqual(r, { deleted: true, tokens: 2, fromCache: true }, JSON.stringify(r));
      await new Promise((res) => setTimeout(res, 300));
      const truth = await idbTruth(b, key);
      assert.deepEqual([truth.record, truth.chunks.length], [false, 0], `try ${i}: ${JSON.stringify(truth)}`);
      assert.deepEqual((await listing(b)).list, [], `try ${i}`);
      assert.deepEqual(srv.requests('/c2/'), [], 'no request: the model came from the cache');
    }
    // The next load of the URL downloads it once, with no "damaged" warning.
    srv.clearLog();
    const again = await inPage(b, loadOnce, { url });
    assert.deepEqual([again.info.fromCache, again.info.warnings], [false, []]);
    assert.equal(srv.requests('/c2/').length, 1);

    // A model loaded in A keeps generating after B deletes its entry.
    const held = await inPage(a, async (api, u) => { window.held = await api.MobileLLM.load(u); return window.held.info.fromCache; }, url);
    assert.equal(held, true);
    assert.equal(await inPage(b, (api, k) => api.MobileLLM.cache.delete(k), key), true);
    const gen = await inPage(a, async () => {
      const t = [];
      for await (const e of window.held.generate('w300', { temperature: 0, maxTokens: 4, ignoreEos: true })) t.push(e.token);
      await window.held.unload();
      return t.length;
    });
    assert.equal(gen, 4);
    assert.deepEqual((await listing(b)).list, []);

    // A delete while A reads the entry into the heap: that load fails with a cache error (it
    // never refetches, never re-creates the entry). The reader is fast, so a try may finish
    // first; one of a few must catch it mid-read.
    srv.serveFile('/c2/big.gguf', { data: big });
    const bigUrl = `${srv.url}/c2/big.gguf`;
    let caught = null;
    for (let i = 0; i < 4 && !caught; i++) {
      assert.ok(!(await inPage(b, loadOnce, { url: bigUrl })).error);
      srv.clearLog();
      const r = await inPage(a, async (api, k) => {
        let asked = null;
        const llm = await api.MobileLLM.load({ cacheKey: k }, { onProgress: (p) => { if (p.phase === 'load' && p.loaded > 0) asked ??= api.MobileLLM.cache.delete(k); } });
        await asked;
        await llm.unload();
        return { loaded: true };
      }, `url:${bigUrl}`);
      if (r.error) caught = r.error;
      assert.deepEqual(srv.requests('/c2/'), [], 'never refetched');
      await new Promise((res) => setTimeout(res, 300));
      const truth = await idbTruth(b, `url:${bigUrl}`);
      assert.deepEqual([truth.record, truth.chunks.length], [false, 0], JSON.stringify(truth));
    }
    assert.ok(caught, 'one of the tries deleted the entry mid-read');
    assert.deepEqual([caught.name, caught.code], ['CacheError', 'cache']);
    assert.match(caught.message, /was deleted while it was being read\.$/);
  } finally {
    await a.close();
    await b.close();
  }
});

test('case 3: a load waiting for another tab\'s download shows its progress, aborts at once, and a waiter that gets the model reports fromCache', async () => {
  const a = await tab();
  const b = await tab();
  const c = await tab();
  try {
    await inPage(b, (api) => api.MobileLLM.cache.clear());
    srv.serveFile('/c3/big.gguf', { data: big, throttle: 2048 }); // ~200 kB/s: a stalling download
    const url = `${srv.url}/c3/big.gguf`;
    const key = `url:${url}`;
    srv.clearLog();
    const first = inPage(a, loadOnce, { url }).catch((e) => ({ error: { message: String(e) } }));
    await until(async () => (await storedOf(b, key)) > 0, 'A storing');
    const waitC = inPage(c, loadOnce, { url }).catch((e) => ({ error: { message: String(e) } }));
    const aborted = await inPage(b, async (api, u) => {
      const ctl = new AbortController();
      const ev = [];
      let seen;
      const three = new Promise((r) => { seen = r; });
      const p = api.MobileLLM.load(u, { signal: ctl.signal, onProgress: (e) => { ev.push(e); if (ev.filter((x) => x.waiting).length >= 3) seen(); } });
      await Promise.race([three, new Promise((r) => setTimeout(r, 10_000))]);
      const t0 = performance.now();
      ctl.abort();
      const err = await p.then(() => null, (e) => ({ name: e.name, code: e.code, message: e.message }));
      return { err, ms: performance.now() - t0, ev };
    }, url);
    assert.deepEqual([aborted.err?.name, aborted.err?.code], ['AbortError', 'aborted'], JSON.stringify(aborted.err));
    assert.ok(aborted.ms < 1000, `the waiting load ended ${aborted.ms} ms after the abort`);
    const waiting = aborted.ev.filter((e) => e.waiting);
    assert.ok(waiting.length >= 3, JSON.stringify(aborted.ev));
    assert.ok(waiting.every((e) => e.phase === 'download' && e.total === big.length && e.loaded > 0 && e.loaded <= big.length), JSON.stringify(waiting));
    assert.ok(waiting.at(-1).loaded >= waiting[0].loaded);

    srv.setFile('/c3/big.gguf', { throttle: undefined });
    const [ra, rc] = await Promise.all([first, waitC]);
    assert.ok(!ra.error && !rc.error, JSON.stringify([ra.error, rc.error]));
    assert.equal(ra.info.fromCache, false);
    assert.equal(rc.info.fromCache, true, 'C downloaded nothing itself');
    assert.deepEqual(ra.tokens, rc.tokens);
    assert.deepEqual(srv.requests('/c3/').map((q) => [q.status, q.bytes]), [[200, big.length]], 'one download for three tabs');
    const cEvents = await c.evaluate(() => window.progress);
    assert.ok(cEvents.some((e) => e.waiting && e.loaded > 0), 'C saw A\'s progress');
  } finally {
    await a.close();
    await b.close();
    await c.close();
  }
});

test('case 4: under a small origin quota the error names the model\'s size, a retry downloads nothing it cannot store, a smaller model evicts the failed partial, evict() and persist work', async () => {
  const srv2 = await startServer(); // a fresh origin, so the quota override applies from its first use
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  try {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: srv2.url, quotaSize: 14_000_000 });
    await page.goto(`${srv2.url}/tests/browser/page.html`);
    await page.waitForFunction(() => window.apiReady === true);
    srv2.serveFile('/q/big.gguf', { data: big, throttle: 32 * 1024 });
    srv2.serveFile('/q/small.gguf', { data: small });
    const bigUrl = `${srv2.url}/q/big.gguf`;
    const smallUrl = `${srv2.url}/q/small.gguf`;
    const r = await inPage(page, loadOnce, { url: bigUrl });
    assert.deepEqual([r.error?.name, r.error?.code], ['QuotaError', 'quota'], JSON.stringify(r));
    const mb = (n) => `${(n / 1e6).toFixed(1)} MB`;
    const truth = await idbTruth(page, `url:${bigUrl}`);
    const stored = sum(truth.chunks);
    assert.ok(stored > 0 && stored < big.length, JSON.stringify(truth));
    assert.equal(truth.stored, stored, 'the record claims what its chunks hold');
    assert.equal(r.error.size, big.length);
    assert.equal(r.error.needed, big.length - stored);
    assert.ok(r.error.message.startsWith(`Storing ${bigUrl} (${mb(big.length)}) in the cache failed for lack of space: ${mb(stored)} of it is stored, it needs ${mb(big.length - stored)} more`), r.error.message);
    const first = srv2.requests('/q/big');
    assert.equal(first.length, 1);
    assert.ok(first[0].bytes <= stored + 3 * MiB, `sent ${first[0].bytes}, stored ${stored}`);
    let l = await listing(page);
    assert.deepEqual(l.list.map((e) => [e.key, e.storedBytes, e.complete]), [[`url:${bigUrl}`, stored, false]]);
    assert.equal(l.usage.usage, stored);

    // A retry cannot store more: it stops before reading the body.
    srv2.clearLog();
    const again = await inPage(page, loadOnce, { url: bigUrl });
    assert.equal(again.error?.code, 'quota', JSON.stringify(again));
    // A one-chunk storage probe (incompressible bytes) precedes the request: nothing is
    // transferred that could not be stored. Before, each retry moved 10-12 MB.
    assert.deepEqual(srv2.requests('/q/big'), [], 'no request at all');
    assert.match(again.error.message, /^Storing .* \(19\.9 MB\) in the cache failed for lack of space: /);
    assert.equal(sum((await idbTruth(page, `url:${bigUrl}`)).chunks), stored, 'the partial entry is kept for when space is back');

    // The smaller model is not blocked by the failed partial: that is evicted to make room.
    srv2.clearLog();
    const s = await inPage(page, loadOnce, { url: smallUrl, persist: true });
    assert.ok(!s.error, JSON.stringify(s.error));
    assert.deepEqual(srv2.requests('/q/small').map((q) => [q.status, q.bytes]), [[200, small.length]]);
    assert.equal(s.info.persisted, await page.evaluate(() => navigator.storage.persisted()), 'info.persisted is the browser\'s answer');
    assert.equal(typeof s.info.persisted, 'boolean');
    l = await listing(page);
    assert.deepEqual(l.list.map((e) => [e.key, e.storedBytes, e.complete]), [[`url:${smallUrl}`, small.length, true]]);
    assert.deepEqual([(await idbTruth(page, `url:${bigUrl}`)).chunks.length, sum((await idbTruth(page, `url:${smallUrl}`)).chunks)], [0, small.length]);
    assert.equal(l.usage.usage, small.length);

    // evict({ keep }): least recently used first, down to what may be kept.
    const kept = await inPage(page, (api, n) => api.MobileLLM.cache.evict({ keep: n }), small.length);
    assert.deepEqual(kept, { evicted: [], freedBytes: 0, usage: small.length });
    const ev = await inPage(page, (api) => api.MobileLLM.cache.evict({ keep: 0 }));
    assert.deepEqual(ev, { evicted: [`url:${smallUrl}`], freedBytes: small.length, usage: 0 });
    assert.equal((await idbTruth(page, `url:${smallUrl}`)).allChunks, 0);
    const bad = await inPage(page, (api) => api.MobileLLM.cache.evict({ keep: -1 }));
    assert.equal(bad.error?.code, 'argument');
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: srv2.url });
    await cdp.detach();
    await page.close();
    await srv2.close();
  }
});

test('case 5: reloads lose less than one 1 MiB chunk each (plus what is in flight), and a reload before anything was stored leaves no entry', async () => {
  const page = await tab();
  try {
    await inPage(page, (api) => api.MobileLLM.cache.clear());
    srv.serveFile('/c5/big.gguf', { data: big, throttle: 32 * 1024 }); // 3.2 MB/s
    const url = `${srv.url}/c5/big.gguf`;
    const key = `url:${url}`;
    const start = () => page.evaluate((u) => { window.api.MobileLLM.load(u).catch(() => {}); }, url);
    // Reloaded before the first commit: nothing is listed (no storedBytes: 0 entries).
    srv.clearLog();
    await start();
    await until(() => srv.requests('/c5/').some((q) => q.bytes > 0), 'the transfer starting');
    await page.reload();
    await page.waitForFunction(() => window.apiReady === true);
    assert.deepEqual((await listing(page)).list, []);
    await inPage(page, (api) => api.MobileLLM.cache.clear());

    // A storm of reloads, each ~1.5 s into the download.
    srv.clearLog();
    const RELOADS = 5;
    for (let i = 0; i < RELOADS; i++) {
      await start();
      await new Promise((r) => setTimeout(r, 1500));
      await page.reload();
      await page.waitForFunction(() => window.apiReady === true);
    }
    srv.setFile('/c5/big.gguf', { throttle: undefined });
    const ok = await inPage(page, loadOnce, { url });
    assert.ok(!ok.error, JSON.stringify(ok.error));
    const reqs = srv.requests('/c5/');
    const sent = sum(reqs.map((q) => q.bytes));
    const lost = sent - big.length;
    console.log(`# ${RELOADS} reloads of a ${big.length}-byte download: ${sent} bytes sent, ${lost} lost (${(lost / RELOADS / MiB).toFixed(2)} MiB per reload)`);
    // What a reload loses: the received bytes not yet committed (less than one chunk) plus what
    // was still in flight (the server counts bytes in socket buffers as sent). With 4 MiB chunks
    // and no partial commits that was 2.0-2.8 MB per reload (issue 25).
    assert.ok(lost < RELOADS * 2 * CHUNK, `lost ${lost} bytes over ${RELOADS} reloads`);
    assert.equal(await pageSha(page, key), sha(big));
    const truth = await idbTruth(page, key);
    assert.deepEqual([truth.chunks.length, sum(truth.chunks), truth.complete], [Math.ceil(big.length / CHUNK), big.length, true]);
  } finally {
    await page.close();
  }
});
