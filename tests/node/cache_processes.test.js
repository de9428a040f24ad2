// The Node cache directory shared by processes (issue 25): two processes loading one URL download
// it once (the second waits on the entry's lock file, shows the first's progress and reports
// fromCache); a delete from another process stops a writer without leaving a directory behind
// and fails a reader mid-read with a 'cache' error; a waiting load aborts at once. Children are
// real processes (child_process.spawn); bytes transferred come from the local server's log.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { startServer } from '../browser/server.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { MobileLLM, resolveModelFile, AbortError } from '../../worker/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const mod = (p) => pathToFileURL(path.join(ROOT, p)).href;

let srv, work, big;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mobilellm-procs-'));
  big = makeRandomModel({ shape: 'tiny', type: 'f16', seed: 41, nCtx: 64 }); // ~10 MB
  srv = await startServer();
});

after(async () => {
  await srv?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * A child process running `code` (an ES module body with `arg` parsed from argv) that prints one
 * JSON line as its result; lines before it are messages to the parent.
 */
function child(code, arg) {
  const p = spawn(process.execPath, ['--input-type=module', '-e', code, JSON.stringify(arg)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  let buf = '';
  const waiters = [];
  p.stdout.on('data', (d) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
      for (const w of waiters.splice(0)) w();
    }
  });
  const done = new Promise((resolve, reject) => {
    p.on('error', reject);
    p.on('exit', (status) => {
      try { resolve({ status, result: JSON.parse(lines.at(-1)) }); } catch { reject(new Error(`child exited ${status}: ${lines.join('\n')}`)); }
    });
  });
  return {
    proc: p, done,
    /** resolves once the child printed `line` */
    async saw(line) { while (!lines.includes(line)) await new Promise((r) => waiters.push(r)); },
  };
}

const LOAD = `
  const { resolveModelFile } = await import(${JSON.stringify(mod('worker/node_api.js'))});
  const a = JSON.parse(process.argv.at(-1));
  const progress = [];
  try {
    const r = await resolveModelFile(a.url, { cacheDir: a.cacheDir, onProgress: (p) => progress.push(p) });
    console.log(JSON.stringify({ ok: true, fromCache: r.fromCache, path: r.path, waited: progress.filter((p) => p.waiting).map((p) => p.loaded) }));
  } catch (e) {
    console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message }));
  }
`;

test('two processes loading one URL into one cache directory download it once; the second waits, sees the first\'s progress and reports fromCache', async () => {
  const cacheDir = path.join(work, 'two');
  srv.serveFile('/p/two.gguf', { data: big, throttle: 16 * 1024 }); // ~1.6 MB/s: ~6 s
  const url = `${srv.url}/p/two.gguf`;
  srv.clearLog();
  const first = child(LOAD, { url, cacheDir });
  await waitFor(() => srv.requests('/p/two').some((q) => q.bytes > 0), 'the first download');
  const second = child(LOAD, { url, cacheDir });
  const [r1, r2] = await Promise.all([first.done, second.done]);
  assert.deepEqual([r1.result.ok, r2.result.ok], [true, true], JSON.stringify([r1.result, r2.result]));
  assert.equal(r1.result.fromCache, false);
  assert.equal(r2.result.fromCache, true);
  assert.ok(r2.result.waited.length >= 2 && r2.result.waited.at(-1) > 0, JSON.stringify(r2.result.waited));
  assert.deepEqual(srv.requests('/p/two').map((q) => [q.status, q.bytes]), [[200, big.length]], 'one transfer of the file');
  assert.equal(r1.result.path, r2.result.path);
  assert.equal(sha(fs.readFileSync(r1.result.path)), sha(big));
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'locks')), [], 'no lock left behind');
});

test('a delete from another process stops a writer, which leaves no entry behind; a waiting load aborts at once', async () => {
  const cacheDir = path.join(work, 'del');
  srv.serveFile('/p/del.gguf', { data: big, throttle: 16 * 1024 });
  const url = `${srv.url}/p/del.gguf`;
  const key = `url:${url}`;
  srv.clearLog();
  const writer = child(LOAD, { url, cacheDir });
  const stored = async () => (await MobileLLM.cache.list({ cacheDir })).find((e) => e.key === key)?.storedBytes ?? 0;
  await waitFor(async () => (await stored()) >= 2 << 20, '2 MiB stored');

  // Meanwhile a load in this process waits for the writer's lock: an abort ends it at once.
  const ctl = new AbortController();
  const seen = [];
  const waiting = resolveModelFile(url, { cacheDir, signal: ctl.signal, onProgress: (p) => seen.push(p) });
  await waitFor(() => seen.some((p) => p.waiting), 'a waiting progress event');
  const t0 = Date.now();
  ctl.abort();
  await assert.rejects(waiting, (e) => e instanceof AbortError && /waited for another tab's or process's download/.test(e.message));
  assert.ok(Date.now() - t0 < 1000, `aborted after ${Date.now() - t0} ms`);

  const at = await stored();
  assert.equal(await MobileLLM.cache.delete(key, { cacheDir }), true);
  const { result } = await writer.done;
  assert.deepEqual([result.ok, result.name, result.code], [false, 'CacheError', 'cache'], JSON.stringify(result));
  assert.match(result.message, /was deleted while it was being written\.$/);
  const [req] = srv.requests('/p/del');
  assert.ok(req.bytes < at + (3 << 20) && req.bytes < big.length, `sent ${req.bytes} after the delete at ${at}`);
  await sleep(300);
  assert.deepEqual(await MobileLLM.cache.list({ cacheDir }), []);
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'entries')), [], 'no entry directory re-created');
});

test('a delete from another process while a process reads the entry fails that read with a cache error, never wrong bytes', async () => {
  const cacheDir = path.join(work, 'read');
  srv.serveFile('/p/read.gguf', { data: big });
  const url = `${srv.url}/p/read.gguf`;
  const key = `url:${url}`;
  await resolveModelFile(url, { cacheDir });
  // The reader stops after its first chunk until this process has deleted the entry.
  const reader = child(`
    const fs = await import('node:fs');
    const { FsStore } = await import(${JSON.stringify(mod('worker/cache_fs.js'))});
    const { readEntryInto } = await import(${JSON.stringify(mod('worker/cache_reader.js'))});
    const a = JSON.parse(process.argv.at(-1));
    const store = new FsStore(a.cacheDir);
    const meta = await store.getMeta(a.key);
    const bytes = new Uint8Array(meta.size);
    try {
      await readEntryInto(store, meta, (off, len) => {
        if (off === meta.chunkSize) { // chunk 1: tell the parent, wait for its go
          fs.writeSync(1, 'paused\\n');
          fs.readSync(0, new Uint8Array(1));
        }
        return bytes.subarray(off, off + len);
      });
      console.log(JSON.stringify({ ok: true }));
    } catch (e) {
      console.log(JSON.stringify({ ok: false, name: e.name, code: e.code, message: e.message }));
    }
  `, { cacheDir, key });
  await reader.saw('paused');
  assert.equal(await MobileLLM.cache.delete(key, { cacheDir }), true);
  reader.proc.stdin.end('g');
  const { result } = await reader.done;
  assert.deepEqual([result.ok, result.code], [false, 'cache'], JSON.stringify(result));
  assert.match(result.message, /^The cache entry 'url:.*' was deleted while it was being read\.$/);
  assert.deepEqual(await MobileLLM.cache.list({ cacheDir }), []);
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'entries')), []);
});

async function waitFor(fn, what, ms = 30_000) {
  const t0 = Date.now();
  while (!(await fn())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
