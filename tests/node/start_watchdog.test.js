// The engine's start under a time limit (worker/start_watchdog.js): a worker whose start never
// settles (Firefox can block one for good while the pthreads build starts) is terminated and a
// fresh one tries; after the last try the load fails with an UnsupportedError, never a hang. The
// load's AbortSignal ends the start at once: the starting worker is terminated, nothing is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { startWatched } from '../../worker/start_watchdog.js';
import { MobileLLM } from '../../worker/index.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

/** Workers whose start answers after delays[i] ms (Infinity: never), recording what happened. */
function fakeWorkers(delays, fail = -1, onOpen = () => {}) {
  const log = [];
  let n = 0;
  const open = async () => {
    const id = n++;
    log.push(`open ${id}`);
    onOpen(id);
    return { id, port: { terminate: async () => { log.push(`terminate ${id}`); } }, rpc: { close: (e) => log.push(`close ${id} ${e.name}`) } };
  };
  const start = (w) => new Promise((resolve, reject) => {
    if (w.id === fail) { reject(Object.assign(new Error('no engine'), { name: 'UnsupportedError' })); return; }
    if (Number.isFinite(delays[w.id])) setTimeout(resolve, delays[w.id]);
  });
  return { open, start, log };
}

test('a start that settles in time keeps its first worker', async () => {
  const f = fakeWorkers([5]);
  const w = await startWatched(f.open, f.start, { ms: 200, tries: 3 });
  assert.equal(w.id, 0);
  assert.deepEqual(f.log, ['open 0']);
});

test('a stalled start is terminated and a fresh worker tries again', async () => {
  const f = fakeWorkers([Infinity, Infinity, 5]);
  const w = await startWatched(f.open, f.start, { ms: 50, tries: 3 });
  assert.equal(w.id, 2);
  assert.deepEqual(f.log, ['open 0', 'close 0 InternalError', 'terminate 0', 'open 1', 'close 1 InternalError', 'terminate 1', 'open 2']);
});

test('after the last stalled try the start fails with an UnsupportedError naming threads: 1', async () => {
  const f = fakeWorkers([Infinity, Infinity]);
  const t0 = Date.now();
  await assert.rejects(startWatched(f.open, f.start, { ms: 40, tries: 2 }),
    (e) => e.name === 'UnsupportedError' && e.code === 'unsupported' && /did not start within 0\.04 s in 2 fresh workers; load with threads: 1\./.test(e.message));
  assert.ok(Date.now() - t0 >= 80, 'each try waited its limit');
  assert.deepEqual(f.log, ['open 0', 'close 0 InternalError', 'terminate 0', 'open 1', 'close 1 InternalError', 'terminate 1']);
});

test('a start that fails is not retried: its error comes back and its worker is terminated', async () => {
  const f = fakeWorkers([5], 0);
  await assert.rejects(startWatched(f.open, f.start, { ms: 200, tries: 3 }), /no engine/);
  assert.deepEqual(f.log, ['open 0', 'close 0 UnsupportedError', 'terminate 0']);
});

/** How many timers this process holds. */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('an abort during a stalled start terminates its worker at once and rejects with an AbortError; no listener or timer is left', async () => {
  const f = fakeWorkers([Infinity, 5]);
  const ctl = new AbortController();
  const before = timers();
  const t0 = Date.now();
  setTimeout(() => ctl.abort(), 30);
  await assert.rejects(startWatched(f.open, f.start, { ms: 20000, tries: 3 }, ctl.signal),
    (e) => e.name === 'AbortError' && e.code === 'aborted' && e.message === 'Loading the model was aborted while its engine started.');
  assert.ok(Date.now() - t0 < 10000, 'the abort did not wait for the start limit');
  assert.deepEqual(f.log, ['open 0', 'close 0 AbortError', 'terminate 0'], 'no fresh worker after an abort');
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 0);
  assert.equal(timers(), before, 'the stall timer is cleared');
});

test('an abort while the worker opens terminates it before its start is awaited', async () => {
  const ctl = new AbortController();
  const f = fakeWorkers([Infinity], -1, () => ctl.abort());
  await assert.rejects(startWatched(f.open, f.start, { ms: 20000, tries: 3 }, ctl.signal), { name: 'AbortError', code: 'aborted' });
  assert.deepEqual(f.log, ['open 0', 'close 0 AbortError', 'terminate 0']);
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 0);
});

test('a signal aborted before the start opens no worker; one aborted between tries opens no fresh one', async () => {
  const f = fakeWorkers([Infinity]);
  await assert.rejects(startWatched(f.open, f.start, { ms: 20, tries: 3 }, AbortSignal.abort()), { name: 'AbortError', code: 'aborted' });
  assert.deepEqual(f.log, []);
  const ctl = new AbortController();
  const g = fakeWorkers([Infinity, Infinity]);
  const w0 = g.open;
  g.open = async () => { const w = await w0(); return { ...w, port: { terminate: async () => { await w.port.terminate(); ctl.abort(); } } }; };
  await assert.rejects(startWatched(g.open, g.start, { ms: 20, tries: 3 }, ctl.signal), { name: 'AbortError', code: 'aborted' });
  assert.deepEqual(g.log, ['open 0', 'close 0 InternalError', 'terminate 0']);
});

test('a started worker keeps no abort listener: a later abort does not touch it', async () => {
  const f = fakeWorkers([5]);
  const ctl = new AbortController();
  const w = await startWatched(f.open, f.start, { ms: 2000, tries: 3 }, ctl.signal);
  assert.equal(w.id, 0);
  assert.equal(getEventListeners(ctl.signal, 'abort').length, 0);
  ctl.abort();
  assert.deepEqual(f.log, ['open 0']);
});

test('MobileLLM.load aborted while its worker starts rejects with an AbortError and keeps the caller\'s bytes', async () => {
  const bytes = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 3, nCtx: 64 });
  const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const ctl = new AbortController();
  const loading = MobileLLM.load(buf, { signal: ctl.signal, cache: false });
  ctl.abort(); // after load()'s first check, while the source is described and the worker opens
  await assert.rejects(loading, (e) => e.name === 'AbortError' && e.code === 'aborted' && /aborted while its worker started/.test(e.message));
  assert.equal(buf.byteLength, bytes.byteLength, 'the bytes were not transferred to a worker');
});
