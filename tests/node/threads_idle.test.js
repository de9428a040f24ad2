// The thread pool of the pthreads build at rest (src/threads.c): a forward pass keeps the
// helper threads polling between its jobs, and once it ends they sleep within a fraction of a
// millisecond, so an idle loaded engine costs no CPU. A helper left polling would burn a core
// for as long as the page stays open.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Engine } from '../../wasm_build/engine.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = () => {
  const u = process.cpuUsage(); // every thread of the process: the pool's workers too
  return (u.user + u.system) / 1000;
};

test('an idle engine on 2 and 4 threads uses no CPU after decoding: its helper threads sleep', async () => {
  const bytes = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 5, nCtx: 128 });
  for (const threads of [2, 4]) {
    const eng = await Engine.create({ threads });
    assert.equal(eng.build.threads, threads);
    const model = eng.loadModel(bytes);
    const ctx = model.newContext({ nCtx: 128, nBatch: 16, threads });
    try {
      ctx.eval(Int32Array.from({ length: 16 }, (_, i) => 10 + i));
      for (let i = 0; i < 40; i++) ctx.eval(Int32Array.of(200 + i)); // decode steps, as a generation makes
      await sleep(100);
      const c0 = cpuMs(), t0 = performance.now();
      await sleep(500);
      const idle = cpuMs() - c0, wall = performance.now() - t0;
      // a polling helper takes a core (or the share of one a busy machine leaves it); Node's
      // own timers and GC take a few milliseconds
      assert.ok(idle < 0.2 * wall, `${threads} threads: the idle engine used ${idle.toFixed(1)} ms of CPU in ${wall.toFixed(0)} ms`);
    } finally {
      ctx.free();
      model.free();
    }
  }
});
