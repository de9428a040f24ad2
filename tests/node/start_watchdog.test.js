// The engine's start under a time limit (worker/start_watchdog.js): a worker whose start never
// settles (Firefox can block one for good while the pthreads build starts) is terminated and a
// fresh one tries; after the last try the load fails with an UnsupportedError, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startWatched } from '../../worker/start_watchdog.js';

/** Workers whose start answers after delays[i] ms (Infinity: never), recording what happened. */
function fakeWorkers(delays, fail = -1) {
  const log = [];
  let n = 0;
  const open = async () => {
    const id = n++;
    log.push(`open ${id}`);
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
