// eval_batch.test.js — Context.evalBatch (mllm_eval_batch) in the wasm builds: two documents,
// each a context and three continuations, in one forward pass give the logits each sequence
// gets evaluated alone (a context, then a continuation after it) bit for bit, in the SIMD, the
// scalar and the 2-thread build, and the SIMD build's equal the scalar build's.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Engine } from '../../wasm_build/engine.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

const docs = [
  { ctx: [1, 17, 5, 63, 42, 8, 8, 300], conts: [[30, 2, 11, 59], [40, 41, 9, 30, 2], [3, 3, 7]] },
  { ctx: [1, 9, 22, 35, 48, 61, 2, 14, 27, 700, 5], conts: [[5, 6], [33, 44, 55, 12, 13, 14], [60]] },
];
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Each document alone: the context's last row, then each continuation's rows after it. */
function alone(model) {
  const ctx = model.newContext({ nCtx: 64, nBatch: 16 });
  const rows = [];
  for (const d of docs) {
    ctx.rewind(0);
    ctx.eval(d.ctx);
    rows.push(bits(ctx.logitsView(-1)));
    for (const c of d.conts) {
      ctx.rewind(d.ctx.length);
      ctx.eval(c, { allLogits: true });
      c.forEach((_, i) => rows.push(bits(ctx.logitsView(i))));
    }
  }
  ctx.free();
  return rows;
}

/** Both documents in one batch after a cache holding 2 unrelated slots. */
function batched(model) {
  const ctx = model.newContext({ nCtx: 64, nBatch: 64 });
  ctx.eval([1, 2]);
  const b = { token: [], pos: [], seeFrom: [], seeTo: [], segFrom: [], logits: [] };
  const push = (...v) => ['token', 'pos', 'seeFrom', 'seeTo', 'segFrom', 'logits'].forEach((k, i) => b[k].push(v[i]));
  for (const d of docs) {
    const c0 = 2 + b.token.length;
    d.ctx.forEach((t, i) => push(t, i, c0, c0, c0, i === d.ctx.length - 1 ? 1 : 0));
    for (const c of d.conts) {
      const seg = 2 + b.token.length;
      c.forEach((t, i) => push(t, d.ctx.length + i, c0, c0 + d.ctx.length, seg, 1));
    }
  }
  ctx.evalBatch(b);
  const n = b.logits.filter((x) => x).length, rows = [];
  for (let k = 0; k < n; k++) rows.push(bits(ctx.logitsView(k)));
  assert.throws(() => ctx.eval([3]), /rewind/); // the batch's slots are not one sequence
  ctx.rewind(2);
  ctx.eval([3]);
  ctx.free();
  return rows;
}

test('evalBatch: two documents, each a context and its continuations, in one pass equal each sequence alone bit for bit, in the SIMD, scalar and 2-thread builds', async () => {
  const bytes = makeRandomModel({ shape: 'tiny-gqa3', type: 'q8_0', nVocab: 1000, seed: 11 });
  const results = {};
  for (const [name, opts] of [['simd', { simd: true }], ['scalar', { simd: false }], ['threads', { threads: 2 }]]) {
    const eng = await Engine.create(opts);
    const model = eng.loadModel(bytes);
    const a = alone(model), b = batched(model);
    assert.equal(b.length, a.length);
    a.forEach((row, i) => assert.deepEqual(b[i], row, `${name}: row ${i}, batched vs alone`));
    results[name] = b;
    model.free();
  }
  assert.deepEqual(results.simd, results.scalar, 'SIMD vs scalar build');
  assert.deepEqual(results.threads, results.simd, '2 threads vs 1');
});
