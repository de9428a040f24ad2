// The API in three browser engines — Chromium, Firefox and WebKit (Safari's engine), each a
// Debian build driven through tests/browser/driver.js, never a downloaded browser: the model
// runs in a module Web Worker, caches in IndexedDB, survives a page reload with zero weight
// requests, resumes a cut download with a Range request, refetches a corrupted entry, stops on
// abort, reports quota errors, converts a torch.save checkpoint in the worker, runs threads
// where the page is cross-origin isolated, and (where the engine reports long tasks) keeps the
// page's main thread free of them while generating. And the SIMD128 / relaxed-SIMD kernels,
// which only a browser runs here, against the scalar kernels.
//
// Everything is served by tests/browser/server.js on 127.0.0.1; nothing else is reachable.
// A case one engine's driver cannot do is skipped there with the reason printed.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';

import { ENGINES, ENGINE_BUILD as BUILD, launch } from './driver.js';
import { startServer } from './server.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { checkpoints, referenceLogits, relMaxDiff } from '../ref/fixtures.js';
import { KERNEL_SOURCES } from '../../tools/kernel_sources.js';

const GREEDY = { temperature: 0, repeatPenalty: 1, ignoreEos: true };

/** @type {import('./driver.js').Browser} */
let b;
let srv, work, tinyBytes, size;
let relaxedTestBuilt = false;
let x4TestBuilt = false;
/** Whether this CPU has AVX-VNNI, where V8 computes relaxed SIMD's int8 dot exactly. */
const VNNI = /\bavx_vnni\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-browser-'));
  tinyBytes = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 5, nCtx: 512 });
  size = tinyBytes.length;
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function openPage() {
  await b.goto(`${srv.url}/tests/browser/page.html`);
  await b.waitFor(() => window.apiReady === true);
}

/** Run fn(api, arg) in the page; errors come back as {error: {name, code, message, ...}}. */
function inPage(fn, arg) {
  return b.evaluate(async ([src, a]) => {
    const f = new Function(`return (${src})`)();
    try {
      return await f(window.api, a);
    } catch (e) {
      return { error: { name: e?.name, code: e?.code, message: e?.message, needed: e?.needed, free: e?.free, size: e?.size } };
    }
  }, [fn.toString(), arg]);
}

/** Load a URL, greedy-generate, unload; returns tokens and info. */
const loadAndGenerate = async (api, { url, opts, gen }) => {
  const llm = await api.MobileLLM.load(url, opts);
  const tokens = [];
  for await (const e of llm.generate('w300 w301', gen)) if (e.token !== null) tokens.push(e.token);
  const info = { fromCache: llm.info.fromCache, warnings: llm.info.warnings, nLayerStored: llm.info.nLayerStored, cacheKey: llm.info.cacheKey };
  await llm.unload();
  return { tokens, info };
};

const sha = (x) => crypto.createHash('sha256').update(x).digest('hex');

/** SHA-256 of a cache entry as the page reads it back. */
const entrySha = (key) => inPage(async (api, k) => {
  const buf = await api.MobileLLM.cache.read(k);
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
  return [...d].map((x) => x.toString(16).padStart(2, '0')).join('');
}, key);

for (const engine of ENGINES) describe(engine, () => {
  before(async () => {
    // A fresh profile per engine: no IndexedDB from earlier runs.
    b = await launch(engine, { profileDir: path.join(work, `profile-${engine}`) });
    await openPage();
  });
  after(async () => {
    for (const e of b?.consoleErrors ?? []) console.error(`${engine}: ${e}`);
    await b?.close();
    b = undefined;
  });

  test('load -> generate -> reload the page -> generate again with zero weight requests', async () => {
    srv.serveFile('/b/tiny.gguf', { data: tinyBytes });
    const url = `${srv.url}/b/tiny.gguf`;
    const first = await inPage(loadAndGenerate, { url, gen: { ...GREEDY, maxTokens: 16 } });
    assert.ok(!first.error, JSON.stringify(first.error));
    assert.equal(first.tokens.length, 16);
    assert.equal(first.info.fromCache, false);
    assert.equal(srv.requests('/b/').length, 1);

    await b.reload();
    await b.waitFor(() => window.apiReady === true);
    srv.clearLog();
    const second = await inPage(loadAndGenerate, { url, gen: { ...GREEDY, maxTokens: 16 } });
    assert.ok(!second.error, JSON.stringify(second.error));
    assert.equal(srv.requests('/b/').length, 0, 'no weight request after the reload');
    assert.equal(second.info.fromCache, true);
    assert.deepEqual(second.tokens, first.tokens);
    // The engine's own files (wasm, glue) may be fetched again; the model never.
    assert.ok(srv.log.every((r) => !r.path.endsWith('.gguf')));
    // By its cache key (as the demo's cache panel does): the same model, still no request.
    const byKey = await inPage(loadAndGenerate, { url: { cacheKey: `url:${url}` }, gen: { ...GREEDY, maxTokens: 16 } });
    assert.ok(!byKey.error, JSON.stringify(byKey.error));
    assert.deepEqual([byKey.info.fromCache, byKey.info.cacheKey], [true, `url:${url}`]);
    assert.deepEqual(byKey.tokens, first.tokens);
    const unknown = await inPage((api) => api.MobileLLM.load({ cacheKey: 'url:https://example.invalid/none.gguf' }));
    assert.deepEqual([unknown.error?.name, unknown.error?.code], ['CacheError', 'cache']);
    assert.ok(srv.log.every((r) => !r.path.endsWith('.gguf')));
  });

  test('threads: a cross-origin-isolated page runs 2 threads with the same tokens and logits as 1, on workers the page starts and unload() ends (a missing thread script fails the load naming it); elsewhere 1 thread and a warning', async () => {
    const iso = await startServer({ isolated: true });
    try {
      await b.goto(`${iso.url}/tests/browser/page.html`);
      await b.waitFor(() => window.apiReady === true);
      assert.equal(await b.evaluate(() => globalThis.crossOriginIsolated), true);
      iso.serveFile('/t/tiny.gguf', { data: tinyBytes });
      const run = (api, { url, threads }) => (async () => {
        const llm = await api.MobileLLM.load(url, { threads, cache: false });
        const tokens = [];
        for await (const e of llm.generate('w300 w301 w302 w303', { temperature: 0, repeatPenalty: 1, ignoreEos: true, maxTokens: 12 })) tokens.push(e.token);
        const logits = await llm.logits([1, 700, 701, 702, 703, 704, 705, 706]);
        const info = { threads: llm.info.threads, simd: llm.info.simd, warnings: llm.info.warnings };
        const relaxedSimd = llm.info.relaxedSimd;
        await llm.unload();
        return { tokens, info, relaxedSimd, logitsHash: [...new Uint8Array(await crypto.subtle.digest('SHA-256', logits))].map((x) => x.toString(16).padStart(2, '0')).join(''), n: logits.length };
      })();
      const one = await inPage(run, { url: `${iso.url}/t/tiny.gguf`, threads: 1 });
      const two = await inPage(run, { url: `${iso.url}/t/tiny.gguf`, threads: 2 });
      assert.ok(!one.error && !two.error, JSON.stringify([one.error, two.error]));
      if (BUILD[engine].threads) {
        assert.deepEqual(two.info, { threads: 2, simd: BUILD[engine].simd, warnings: [] }, 'the threads build where the page is isolated');
      } else {
        assert.deepEqual([two.info.threads, two.info.simd], [1, BUILD[engine].simd]);
        assert.match(two.info.warnings.join(' '), /^2 threads were asked for but this browser offers no SharedArrayBuffer, even to a cross-origin-isolated page, so the model runs on one thread\.$/);
      }
      assert.equal(one.info.threads, 1);
      assert.deepEqual([one.info.simd, one.relaxedSimd], [BUILD[engine].simd, BUILD[engine].relaxed && VNNI], 'the build this engine allows');
      assert.equal(two.tokens.length, 12);
      assert.deepEqual(two.tokens, one.tokens);
      assert.equal(two.n, 8 * 32000);
      assert.equal(two.logitsHash, one.logitsHash, 'bit-identical logits');
      // The page starts the pool's workers (the engine's worker starts none: Firefox can block a
      // worker in its own new Worker() for good), and unload() ends every one of them.
      const workers = await b.evaluate(async (url) => {
        const made = [];
        const Real = window.Worker;
        window.Worker = class extends Real {
          constructor(u, o) { super(u, o); this.rec = { name: o?.name ?? '', live: true }; made.push(this.rec); }
          terminate() { this.rec.live = false; super.terminate(); }
        };
        try {
          const llm = await window.api.MobileLLM.load(url, { threads: 2, cache: false });
          const live = made.filter((r) => r.live).map((r) => r.name).sort();
          await llm.unload();
          return { threads: llm.info.threads, live, after: made.filter((r) => r.live).map((r) => r.name) };
        } finally {
          window.Worker = Real;
        }
      }, `${iso.url}/t/tiny.gguf`);
      assert.deepEqual(workers, BUILD[engine].threads
        ? { threads: 2, live: ['mobilellm', 'mobilellm-thread-1', 'mobilellm-thread-2'], after: [] }
        : { threads: 1, live: ['mobilellm'], after: [] });
      if (BUILD[engine].threads) {
        // A pthread script that is not there fails the load with its address, not a stalled start.
        const bad = await inPage(async (api, url) => {
          await api.MobileLLM.load(url, { threads: 2, cache: false, locateFile: { 'mobilellm-threads.worker.cjs': '/no/such.cjs' } });
          return {};
        }, `${iso.url}/t/tiny.gguf`);
        assert.equal(bad.error?.name, 'InternalError', JSON.stringify(bad));
        assert.match(bad.error.message, /^A thread worker of the engine failed: .*\/no\/such\.cjs: HTTP 404\.$/);
      }
    } finally {
      await openPage();
      await iso.close();
    }
    // The ordinary (not isolated) page has no SharedArrayBuffer: one thread, and info.warnings says why.
    srv.serveFile('/t1/tiny.gguf', { data: tinyBytes });
    const r = await inPage(async (api, url) => {
      const llm = await api.MobileLLM.load(url, { threads: 2, cache: false });
      const info = { threads: llm.info.threads, warnings: llm.info.warnings };
      await llm.unload();
      return info;
    }, `${srv.url}/t1/tiny.gguf`);
    assert.equal(r.threads, 1, JSON.stringify(r));
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0], /2 threads were asked for.*cross-origin-isolated.*one thread\.$/);
  });

  test('a download cut at ~50% resumes with a Range request, and the cached bytes are identical', async () => {
    // (throttled, so every engine hands the page bytes before the cut: unthrottled, WebKit once
    // reported the cut before any byte reached the page, and the retry rightly started over)
    srv.serveFile('/cut/tiny.gguf', { data: tinyBytes, cutAt: Math.floor(size / 2), throttle: 64 * 1024 });
    srv.clearLog();
    const url = `${srv.url}/cut/tiny.gguf`;
    const r = await inPage(async (api, { url, gen }) => {
      const dl = [];
      const llm = await api.MobileLLM.load(url, { onProgress: (p) => { if (p.phase === 'download') dl.push(p); } });
      const tokens = [];
      for await (const e of llm.generate('w300 w301', gen)) if (e.token !== null) tokens.push(e.token);
      await llm.unload();
      return { tokens, dl };
    }, { url, gen: { ...GREEDY, maxTokens: 4 } });
    assert.ok(!r.error, JSON.stringify(r.error));
    const reqs = srv.requests('/cut/');
    assert.equal(reqs.length, 2, JSON.stringify(reqs));
    assert.deepEqual([reqs[0].status, reqs[0].cut], [200, true]);
    // It resumes where the bytes that reached the client end (what was still in flight when the
    // connection broke is lost), validated by the ETag, and fetches only the rest.
    assert.equal(reqs[1].status, 206);
    const start = Number(/^bytes=(\d+)-$/.exec(reqs[1].range)?.[1]);
    assert.ok(start > 0 && start <= reqs[0].bytes, `resumed at ${start} after ${reqs[0].bytes} bytes were sent`);
    assert.match(reqs[1].ifRange ?? '', /^"/);
    assert.equal(reqs[1].bytes, size - start);
    assert.equal(await entrySha(`url:${url}`), sha(tinyBytes));
    // Progress flags the resumed transfer with where it resumed, and only that one.
    const resumed = r.dl.filter((p) => 'resumedFrom' in p);
    assert.ok(resumed.length >= 1 && resumed.length < r.dl.length, JSON.stringify(r.dl));
    assert.ok(resumed.every((p) => p.resumedFrom === start && p.loaded >= start), JSON.stringify(resumed));
    assert.equal(r.dl.at(-1).resumedFrom, start);
  });

  test('a corrupted IndexedDB entry is detected and refetched, never loaded', async () => {
    srv.serveFile('/bad/tiny.gguf', { data: tinyBytes });
    const url = `${srv.url}/bad/tiny.gguf`;
    const clean = await inPage(loadAndGenerate, { url, gen: { ...GREEDY, maxTokens: 8 } });
    assert.ok(!clean.error, JSON.stringify(clean.error));
    // Flip one byte of the stored first chunk, behind the API's back.
    const flipped = await b.evaluate(async (id) => {
      const db = await new Promise((res, rej) => { const r = indexedDB.open('mobilellm-wasm'); r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error); });
      const tx = db.transaction('chunks', 'readwrite');
      const store = tx.objectStore('chunks');
      const buf = await new Promise((res) => { store.get([id, 0]).onsuccess = (e) => res(e.target.result); });
      const u8 = new Uint8Array(buf);
      u8[12345] ^= 0x20;
      store.put(u8.buffer, [id, 0]);
      await new Promise((res) => { tx.oncomplete = res; });
      db.close();
      return u8.length;
    }, `url:${url}`);
    assert.ok(flipped > 12345);
    await b.reload();
    await b.waitFor(() => window.apiReady === true);
    srv.clearLog();
    const again = await inPage(loadAndGenerate, { url, gen: { ...GREEDY, maxTokens: 8 } });
    assert.ok(!again.error, JSON.stringify(again.error));
    assert.deepEqual(srv.requests('/bad/').map((q) => [q.status, q.range]), [[200, null]], 'refetched whole');
    assert.equal(again.info.fromCache, false);
    assert.match(again.info.warnings.join(' '), /damaged/);
    assert.deepEqual(again.tokens, clean.tokens);
    assert.equal(await entrySha(`url:${url}`), sha(tinyBytes));
  });

  test('abort mid-generation: an AbortError within one token, and the model generates again afterwards', async () => {
    srv.serveFile('/ab/tiny.gguf', { data: tinyBytes });
    const r = await inPage(async (api, url) => {
      const llm = await api.MobileLLM.load(url);
      const ctl = new AbortController();
      let n = 0;
      let after = 0;
      let error = null;
      try {
        for await (const e of llm.generate('w5', { maxTokens: 400, ignoreEos: true, signal: ctl.signal })) {
          void e;
          if (++n === 6) ctl.abort(); else if (n > 6) after++;
        }
      } catch (e) {
        error = { name: e.name, code: e.code };
      }
      const stats = llm.lastStats;
      const tokens = [];
      for await (const e of llm.generate('w5', { temperature: 0, maxTokens: 5, ignoreEos: true })) tokens.push(e.token);
      await llm.unload();
      return { error, after, workerTokens: stats.generatedTokens, stop: stats.stopReason, again: tokens.length };
    }, `${srv.url}/ab/tiny.gguf`);
    assert.deepEqual(r.error, { name: 'AbortError', code: 'aborted' });
    assert.equal(r.after, 0);
    assert.ok(r.workerTokens >= 6 && r.workerTokens <= 7, `the worker computed ${r.workerTokens - 6} tokens after the abort`);
    assert.equal(r.stop, 'aborted');
    assert.equal(r.again, 5);
  });

  test('the main thread stays responsive while the worker generates: no long task', async (t) => {
    if (!b.can.longTasks) return t.skip(`${engine} has no 'longtask' performance entries to observe blocking with`);
    srv.serveFile('/rt/tiny.gguf', { data: tinyBytes });
    const attempt = () => inPage(async (api, url) => {
      const settle = () => new Promise((res) => setTimeout(res, 150)); // long-task entries arrive asynchronously
      // The instrument works here: a 120 ms busy loop on the main thread is reported.
      await settle();
      const c0 = performance.now();
      while (performance.now() - c0 < 120) { /* busy */ }
      // On a loaded machine the entry can take a while to be delivered: wait for it (up to 5 s).
      for (let i = 0; i < 50 && !window.longTasks.some((x) => x.start >= c0 - 1); i++) await settle();
      const control = window.longTasks.filter((x) => x.start >= c0 - 1).length;

      const llm = await api.MobileLLM.load(url);
      await settle();
      const t0 = performance.now();
      let last = t0;
      let maxGap = 0;
      const hb = setInterval(() => { const now = performance.now(); maxGap = Math.max(maxGap, now - last); last = now; }, 10);
      let n = 0;
      for await (const e of llm.generate('w1 w2 w3', { maxTokens: 300, ignoreEos: true })) { void e; n++; }
      const t1 = performance.now();
      clearInterval(hb);
      await settle();
      const during = window.longTasks.filter((x) => x.start >= t0 && x.start <= t1);
      const stats = llm.lastStats;
      await llm.unload();
      return { control, n, ms: t1 - t0, during, maxGap, tokPerS: stats.decodeTokPerS };
    }, `${srv.url}/rt/tiny.gguf`);
    // A main thread that blocks does so on every run; one that other processes preempt on a
    // loaded machine shows a long task now and then. Up to three runs: one must have none.
    let r;
    for (let i = 0; i < 3; i++) {
      r = await attempt();
      assert.ok(!r.error, JSON.stringify(r.error));
      t.diagnostic(`run ${i + 1}: 300 tokens in ${r.ms.toFixed(0)} ms (${r.tokPerS} tok/s in the worker); main-thread long tasks: ${JSON.stringify(r.during)}; largest 10 ms-timer gap ${r.maxGap.toFixed(1)} ms`);
      assert.ok(r.control >= 1, 'the long-task observer sees a main-thread busy loop');
      assert.equal(r.n, 300);
      if (r.during.length === 0) break;
    }
    assert.deepEqual(r.during, [], 'no long task on the main thread during generation, in any of three runs');
    // (The timer gap is reported, not asserted: on a loaded machine it measures CPU contention,
    // not blocking; long tasks are what blocking looks like.)
  });

  test('memory where it is tight: a model past memoryLimit is refused with a NoMemoryError naming its size and the limit; the page lives on', async () => {
    srv.serveFile('/mem/tiny.gguf', { data: tinyBytes });
    const url = `${srv.url}/mem/tiny.gguf`;
    const r = await inPage(async (api, u) => {
      let refused = null;
      try {
        await api.MobileLLM.load(u, { memoryLimit: 20_000_000, cache: false }); // below even the engine's initial 32 MB heap
      } catch (e) {
        refused = { name: e.name, code: e.code, message: e.message, needed: e.needed, limit: e.limit };
      }
      const llm = await api.MobileLLM.load(u, { cache: false });
      let n = 0;
      for await (const e of llm.generate('w1', { maxTokens: 4, ignoreEos: true })) { void e; n++; }
      const info = { memoryLimit: llm.info.memoryLimit, heapBytes: llm.info.heapBytes };
      await llm.unload();
      return { refused, n, info };
    }, url);
    assert.ok(!r.error, JSON.stringify(r.error));
    assert.deepEqual([r.refused?.name, r.refused?.code], ['NoMemoryError', 'nomem'], JSON.stringify(r.refused));
    assert.equal(r.refused.limit, 20_000_000);
    assert.ok(r.refused.needed >= size + (32 << 20), `needed ${r.refused.needed}: the model and the heap it joins`);
    assert.match(r.refused.message, new RegExp(`^The model ${url.replace(/[.]/g, '\\.')} needs ${(size / 1e6).toFixed(1)} MB of memory; .* past the 20\\.0 MB this page may use \\(memoryLimit\\): a smaller model fits\\.$`));
    // The same page, without the limit: the default here (a desktop engine) is the wasm32 space.
    assert.equal(r.n, 4);
    assert.equal(r.info.memoryLimit, 2 ** 32);
    assert.ok(r.info.heapBytes > size);
  });

  test('storage quota: a refused write rejects with the bytes needed and free; once space is back the download resumes', async (t) => {
    if (!b.can.quotaOverride && engine !== 'firefox') {
      return t.skip(`${engine} over W3C WebDriver has no storage quota to set (no per-origin override, no quota preference)`);
    }
    // Chromium: a per-origin override over CDP, on a fresh origin (a second server) so it applies
    // before that origin's storage is first opened. Firefox: a second browser whose profile has a
    // 5 MB storage limit (a preference), restarted on the same profile with 100 MB for "space again".
    const srv2 = await startServer();
    const main = b;
    const fxProfile = path.join(work, `firefox-quota-${Math.random().toString(36).slice(2)}`);
    try {
      if (engine === 'chromium') await b.setQuota(srv2.url, 5_000_000); // a few 1 MiB chunks fit
      else b = await launch('firefox', { profileDir: fxProfile, quotaKiB: Math.floor(5_000_000 / 1024) });
      await b.goto(`${srv2.url}/tests/browser/page.html`);
      await b.waitFor(() => window.apiReady === true);
      srv2.serveFile('/q/tiny.gguf', { data: tinyBytes });
      srv2.serveFile('/q2/tiny.gguf', { data: tinyBytes, noLength: true });
      // Size unknown (no Content-Length): the error says at least what the refused write needed.
      const r2 = await inPage((api, url) => api.MobileLLM.load(url), `${srv2.url}/q2/tiny.gguf`);
      assert.equal(r2.error?.code, 'quota', JSON.stringify(r2));
      assert.match(r2.error.message, /needs at least/);
      // Its partial entry is evicted by the next model's load rather than blocking it.
      const r = await inPage((api, url) => api.MobileLLM.load(url), `${srv2.url}/q/tiny.gguf`);
      assert.equal(r.error?.code, 'quota', JSON.stringify(r));
      assert.equal(r.error.name, 'QuotaError');
      let stored = 0;
      if (engine === 'chromium') {
        // Chromium pads navigator.storage.estimate(), so the up-front check cannot see a small
        // quota: the refusal comes from IndexedDB itself, and the error still says what was needed.
        const [part, ...rest] = await inPage((api) => api.MobileLLM.cache.list());
        assert.deepEqual([part.key, rest], [`url:${srv2.url}/q/tiny.gguf`, []]);
        assert.ok(part.storedBytes > 0 && part.storedBytes < size && !part.complete, JSON.stringify(part));
        stored = part.storedBytes;
        assert.equal(r.error.needed, size - stored, 'what is missing after the chunks that fit');
        assert.equal(r.error.size, size);
        assert.ok(r.error.free < 5_000_000, JSON.stringify(r.error));
        assert.match(r.error.message, /\(5\.9 MB\) in the cache failed for lack of space: [\d.]+ (kB|MB) of it is stored, it needs [\d.]+ (bytes|kB|MB) more and the storage has .* free; no other cache entry is left to delete\.$/);
      } else {
        // Firefox's estimate is the real limit (less what the browser itself keeps there): the
        // up-front check refuses before any byte is stored, after evicting the other partial.
        assert.equal(r.error.needed, size);
        assert.ok(r.error.free >= 0 && r.error.free < 5_000_000, JSON.stringify(r.error));
        assert.match(r.error.message, /needs 5\.9 MB of storage but only [\d.]+ ([kM]B|bytes) is free\.$/);
        assert.deepEqual(await inPage((api) => api.MobileLLM.cache.list()), []);
      }

      // Space again: the stored part is kept and the download continues from it.
      if (engine === 'chromium') await b.setQuota(srv2.url, 100_000_000);
      else {
        await b.close();
        b = await launch('firefox', { profileDir: fxProfile, quotaKiB: Math.floor(100_000_000 / 1024) }); // (the profile keeps its prefs)
        await b.goto(`${srv2.url}/tests/browser/page.html`);
        await b.waitFor(() => window.apiReady === true);
      }
      srv2.clearLog();
      const ok = await inPage(loadAndGenerate, { url: `${srv2.url}/q/tiny.gguf`, gen: { ...GREEDY, maxTokens: 2 } });
      assert.ok(!ok.error, JSON.stringify(ok.error));
      // Chromium continues from the stored chunk; in Firefox nothing was stored.
      assert.deepEqual(srv2.requests('/q/').map((q) => [q.status, q.range]), engine === 'chromium' ? [[206, `bytes=${stored}-`]] : [[200, null]]);
      assert.equal(await entrySha(`url:${srv2.url}/q/tiny.gguf`), sha(tinyBytes));
    } finally {
      if (b !== main) await b.close();
      b = main;
      if (engine === 'chromium') await b.setQuota(srv2.url);
      await openPage();
      await srv2.close();
    }
  });
  test('SIMD kernels: the SIMD128 (and, in Chromium on an x86 with AVX-VNNI, relaxed-SIMD) prefill and decode kernels equal the scalar kernels bit for bit (tests/c/test_kernels_simd.c)', async () => {
    // The SIMD kernel tests, built as the dist SIMD builds are: with the relaxed module linked
    // in (build/relaxed/library.js, from `make wasm`). Node 20 has no relaxed SIMD, so this is
    // where that kernel is tested.
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
    const out = path.join(root, 'build', 'relaxed_test');
    fs.mkdirSync(out, { recursive: true });
    const src = ['tests/c/test_kernels_simd.c', ...KERNEL_SOURCES];
    if (!fs.existsSync(path.join(out, 'test_kernels_simd.mjs')) || !relaxedTestBuilt) execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-DMLLM_RELAXED_IMPORT', '--js-library', 'build/relaxed/library.js',
      '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=web', '-s', 'SINGLE_FILE=1',
      '-s', 'MODULARIZE=1', '-s', 'EXPORT_ES6=1', '-o', path.join(out, 'test_kernels_simd.mjs')],
    { cwd: root, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
    relaxedTestBuilt = true; // once per run, whichever engine comes first
    const r = await b.evaluate(async (url) => {
      const lines = [];
      const m = await (await import(url)).default({ print: (s) => lines.push(s), printErr: (s) => lines.push(s) });
      return { lines, relaxed: m.mllmRelaxedActive() };
    }, `${srv.url}/build/relaxed_test/test_kernels_simd.mjs`);
    assert.match(r.lines.join('\n'), /kernels_simd: 15 passed, 0 failed/, r.lines.join('\n'));
    // V8 lowers the relaxed dot to one vpdpbusd (unsigned x signed, exact) where the CPU has
    // AVX-VNNI, as this one does; there the kernel must have run.
    // Firefox and WebKit do not compute relaxed SIMD's dot exactly (or at all) here: the probe
    // keeps them on the SIMD128 kernels.
    const vnni = BUILD[engine].relaxed && VNNI;
    assert.equal(r.relaxed, vnni, `relaxed kernel active in ${engine}: ${r.relaxed}, expected ${vnni}`);

    // End to end, the engine (dist/mobilellm.js) gives the same logits for every position of
    // a 38-token prompt and 5 decode steps with the relaxed kernel and without it (context
    // option relaxedSimd).
    srv.serveFile('/rx/tiny.gguf', { data: tinyBytes });
    const e2e = await b.evaluate(async ([engineUrl, modelUrl]) => {
      const { Engine } = await import(engineUrl);
      const eng = await Engine.create({ simd: true });
      const model = eng.loadModel(new Uint8Array(await (await fetch(modelUrl)).arrayBuffer()));
      const ids = Array.from({ length: 43 }, (_, i) => 300 + ((i * 37) % 900));
      const rows = [];
      for (const relaxedSimd of [true, false]) {
        const ctx = model.newContext({ nCtx: 64, nBatch: 43, relaxedSimd });
        ctx.eval(ids.slice(0, 38), { allLogits: true }); // prefill: the relaxed tile
        const got = Array.from({ length: 38 }, (_, i) => ctx.logits(i));
        for (const id of ids.slice(38)) { ctx.eval([id]); got.push(ctx.logits()); } // decode: its streams
        rows.push(got);
        ctx.free();
      }
      let diff = 0;
      for (let i = 0; i < 43; i++) for (let j = 0; j < rows[0][i].length; j++) if (!Object.is(rows[0][i][j], rows[1][i][j])) diff++;
      return { relaxed: eng.build.relaxed, diff, n: rows[0][0].length };
    }, [`${srv.url}/wasm_build/engine.js`, `${srv.url}/rx/tiny.gguf`]);
    assert.equal(e2e.relaxed, vnni);
    assert.equal(e2e.n, 32000);
    assert.equal(e2e.diff, 0, 'bit-identical logits with and without the relaxed kernel');
  });

  test('x4 kernels: the scalar, SIMD128 and (where the relaxed module compiles) relaxed-SIMD matmuls of Q4_0, Q5_0 and IQ4_NL on their x4 layouts equal the file layout bit for bit (tests/c/test_quant_x4.c)', async () => {
    // Built once per run as the SIMD builds link the relaxed module; Q4_0's and Q5_0's operands
    // stay in 0..127, so no CPU feature gates them: in Chromium they must run. IQ4_NL's go up to
    // 241: it runs where mllm_relaxed_probe passes (AVX-VNNI).
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
    const out = path.join(root, 'build', 'relaxed_test');
    fs.mkdirSync(out, { recursive: true });
    if (!x4TestBuilt) execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-DMLLM_RELAXED_IMPORT', '--js-library', 'build/relaxed/library.js',
      '-Isrc', '-Itests/c', 'tests/c/test_quant_x4.c', ...KERNEL_SOURCES, '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=web',
      '-s', 'SINGLE_FILE=1', '-s', 'MODULARIZE=1', '-s', 'EXPORT_ES6=1', '-o', path.join(out, 'test_quant_x4.mjs')],
    { cwd: root, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
    x4TestBuilt = true;
    const lines = await b.evaluate(async (url) => {
      const got = [];
      await (await import(url)).default({ print: (s) => got.push(s), printErr: (s) => got.push(s) });
      return got;
    }, `${srv.url}/build/relaxed_test/test_quant_x4.mjs`);
    const text = lines.join('\n');
    assert.match(text, /quant_x4: 6 passed, 0 failed/, text);
    if (engine === 'chromium') {
      assert.match(text, /relaxed x4 outputs compared: \d{6,}/, text);
      assert.match(text, BUILD[engine].relaxed && VNNI ? /IQ4_NL included/ : /IQ4_NL not in this engine/, text);
    }
  });

  test('a Hugging Face torch.save checkpoint converts in the worker and matches the PyTorch logits', async () => {
    const ck = checkpoints();
    srv.addRepo('test/bin-fp16', ck.dir('ls_tied_gqa_bin')); // (again per engine: the same files)
    const seq = ck.tokens.seq40;
    const [ref] = referenceLogits([{ dir: ck.dir('ls_tied_gqa_bin'), tokens: seq }]);
    const r = await inPage(async (api, { endpoint, seq }) => {
      const phases = [];
      const llm = await api.MobileLLM.load('test/bin-fp16', { hfEndpoint: endpoint, dtype: 'f32', onProgress: (p) => phases.push(p.phase) });
      const logits = await llm.logits(seq);
      const info = { nLayerEffective: llm.info.nLayerEffective, nVocab: llm.info.nVocab, quant: llm.info.quant };
      await llm.unload();
      return { info, phases, logits: Array.from(logits), kinds: (await api.MobileLLM.cache.list()).map((e) => e.kind) };
    }, { endpoint: srv.url, seq });
    assert.ok(!r.error, JSON.stringify(r.error));
    assert.deepEqual(r.info, { nLayerEffective: 8, nVocab: ref.length / seq.length, quant: 'F32' });
    assert.ok(['download', 'convert', 'load'].every((p) => r.phases.includes(p)), r.phases.join());
    assert.ok(r.kinds.every((k) => k === 'gguf'), 'the raw download was dropped after conversion');
    const ours = Float32Array.from(r.logits);
    const n = r.info.nVocab;
    for (let p = 0; p < seq.length; p++) {
      const d = relMaxDiff(ours.subarray(p * n, (p + 1) * n), ref.subarray(p * n, (p + 1) * n));
      assert.ok(d <= 1e-5, `position ${p}: max |diff| / range = ${d}`);
    }
  });
});
