#!/usr/bin/env node
// threads_start.js — how often the threads build's start stalls in a browser, and how long a
// normal start takes (PERF_NOTES.md, "Firefox: the threads build's start"). Each try starts a
// fresh engine worker and asks it to 'start' the threads build (worker/host.js), its pool's
// workers started either by the page (worker/thread_pool.js, what MobileLLM.load does) or by the
// engine's worker itself (Emscripten's own way); a start not answered within --limit ms counts as
// stalled and its workers are terminated.
//   node tools/threads_start.js [--engine firefox|chromium] [--n 100] [--threads 2] [--limit 8000] [--pool page|worker]
import path from 'node:path';
import os from 'node:os';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { launch } from '../tests/browser/driver.js';
import { startServer } from '../tests/browser/server.js';

const { values: a } = parseArgs({ options: {
  engine: { type: 'string', default: 'firefox' }, n: { type: 'string', default: '100' }, threads: { type: 'string', default: '2' },
  limit: { type: 'string', default: '8000' }, pool: { type: 'string', default: 'page' },
} });
if (!['page', 'worker'].includes(a.pool)) throw new Error('--pool is page or worker');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'threads-start-'));
const b = await launch(a.engine, { profileDir: path.join(work, 'profile') });
const iso = await startServer({ isolated: true });
const openPage = async () => { await b.goto(`${iso.url}/tests/browser/page.html`); await b.waitFor(() => window.apiReady === true); };
try {
  await openPage();
  const times = [];
  let stalls = 0;
  for (let i = 0; i < +a.n; i++) {
    const r = await b.evaluate(async ([threads, limit, byPage]) => {
      const { openPort } = await import('/worker/port.js');
      const { RpcClient } = await import('/worker/protocol.js');
      const { openThreadPool, engineThreads } = await import('/worker/thread_pool.js');
      const t0 = performance.now();
      const pool = byPage ? openThreadPool(engineThreads(threads) - 1) : null;
      const port = await openPort(true, undefined);
      const rpc = new RpcClient(port);
      let timer;
      const args = pool ? { threads, threadPorts: pool.ports } : { threads };
      const res = await Promise.race([
        rpc.call('start', args, { transfer: pool ? pool.ports : [] }).done.then((x) => (x.threads > 1 ? 'ok' : 'one thread'), (e) => `error ${e.message}`),
        new Promise((resolve) => { timer = setTimeout(() => resolve('stalled'), limit); })]);
      clearTimeout(timer);
      const ms = Math.round(performance.now() - t0);
      rpc.close(new Error('done'));
      port.terminate();
      pool?.terminate();
      return { res, ms };
    }, [+a.threads, +a.limit, a.pool === 'page']);
    if (r.res === 'ok') times.push(r.ms);
    else if (r.res === 'stalled') stalls++;
    else throw new Error(`try ${i}: ${r.res}`);
    if (i % 10 === 9) await openPage(); // a fresh page now and then, as users reload
  }
  times.sort((x, y) => x - y);
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
  console.log(JSON.stringify({ engine: b.version, pool: a.pool, threads: +a.threads, tries: +a.n, stalled: stalls,
    startMs: { min: times[0], p50: q(0.5), p90: q(0.9), p99: q(0.99), max: times.at(-1) }, loadavg: os.loadavg().map((x) => +x.toFixed(1)) }));
} finally {
  await b.close();
  await iso.close();
  fs.rmSync(work, { recursive: true, force: true });
}
