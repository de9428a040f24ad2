// simd.test.js — the SIMD128 build computes exactly what the scalar build computes.
//  1. tests/c/test_kernels_simd.c, compiled with emcc -msimd128 and run here, compares every
//     SIMD kernel with its scalar reference on the same inputs, bit for bit.
//  2. The two wasm builds (dist/mobilellm.js with SIMD, dist/mobilellm-nosimd.js without),
//     forced through Engine.create({simd}), give identical logits on a random Q8_0 model,
//     batched and token by token, across shared-layer schedules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Engine, simdSupported } from '../../wasm_build/engine.js';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { KERNEL_SOURCES } from '../../tools/kernel_sources.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}build/simd_test`;

test('this Node runs WebAssembly SIMD128 (the feature probe accepts it)', () => {
  assert.equal(simdSupported(), true);
});

test('SIMD128 kernels equal the scalar kernels bit for bit (tests/c/test_kernels_simd.c)', () => {
  mkdirSync(OUT, { recursive: true });
  const src = ['tests/c/test_kernels_simd.c', ...KERNEL_SOURCES];
  execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1',
    '-s', 'ENVIRONMENT=node', '-s', 'SINGLE_FILE=1', '-o', `${OUT}/test_kernels_simd.cjs`],
  { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out;
  try {
    out = execFileSync(process.execPath, [`${OUT}/test_kernels_simd.cjs`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    assert.fail(`test_kernels_simd failed:\n${e.stdout}\n${e.stderr}`);
  }
  assert.match(out, /kernels_simd: 15 passed, 0 failed/);
});

/** Logits of every position of `ids`, evaluated in chunks of `batch` (all-logits evals). */
function allLogits(model, ids, batch) {
  const ctx = model.newContext({ nCtx: ids.length, nBatch: batch });
  const rows = [];
  for (let s = 0; s < ids.length; s += batch) {
    const chunk = ids.slice(s, s + batch);
    ctx.eval(chunk, { allLogits: true });
    for (let j = 0; j < chunk.length; j++) rows.push(ctx.logits(j));
  }
  ctx.free();
  return rows;
}

test('SIMD and scalar builds give identical logits, batched or token by token, in every share mode', async () => {
  const simd = await Engine.create({ simd: true });
  const scalar = await Engine.create({ simd: false });
  assert.match(simd.build.url, /mobilellm\.js$/);
  assert.match(scalar.build.url, /mobilellm-nosimd\.js$/);
  const ids = Array.from({ length: 23 }, (_, i) => 3 + ((i * 97) % 900));
  for (const [share, mode] of [[1, 'immediate'], [2, 'immediate'], [2, 'reverse']]) {
    const bytes = makeRandomModel({ shape: 'tiny', type: 'q8_0', share, mode, nVocab: 1000, seed: 7 });
    const ma = simd.loadModel(bytes), mb = scalar.loadModel(bytes);
    const a = allLogits(ma, ids, 8), b = allLogits(mb, ids, 8), one = allLogits(ma, ids, 1);
    for (let i = 0; i < ids.length; i++) {
      assert.deepEqual(new Uint32Array(a[i].buffer), new Uint32Array(b[i].buffer), `${mode}x${share}: position ${i}, SIMD vs scalar`);
      assert.deepEqual(new Uint32Array(one[i].buffer), new Uint32Array(a[i].buffer), `${mode}x${share}: position ${i}, batch 1 vs 8`);
    }
    ma.free(); mb.free();
  }
});

test('the pthreads build splits the work across 2 and 4 threads and gives the same logits as 1 thread', async () => {
  const one = await Engine.create({ simd: true });
  const two = await Engine.create({ threads: 2 });
  const four = await Engine.create({ threads: 4 }); // uneven head ranges: 6 heads as 2, 1, 2, 1
  assert.equal(two.build.threads, 2);
  assert.equal(four.build.threads, 4);
  assert.match(two.build.url, /mobilellm-threads\.js$/);
  const ids = Array.from({ length: 21 }, (_, i) => 3 + ((i * 131) % 990));
  for (const [shape, share, mode] of [['tiny', 1, 'immediate'], ['tiny', 2, 'repeat_all'], ['tiny-gqa3', 2, 'immediate']]) {
    const bytes = makeRandomModel({ shape, type: 'q8_0', share, mode, nVocab: 1000, seed: 11 });
    const rows = [];
    for (const [eng, threads] of [[one, 1], [two, 2], [four, 4]]) {
      const m = eng.loadModel(bytes);
      const ctx = m.newContext({ nCtx: 64, nBatch: 16, threads });
      const got = [];
      ctx.eval(ids.slice(0, 16), { allLogits: true }); // prefill: row tiles and attention items on every thread
      for (let j = 0; j < 16; j++) got.push(ctx.logits(j));
      for (const id of ids.slice(16)) { ctx.eval([id]); got.push(ctx.logits()); } // decode steps
      rows.push(got);
      ctx.free(); m.free();
    }
    for (let i = 0; i < ids.length; i++)
      for (const r of [1, 2])
        assert.deepEqual(new Uint32Array(rows[r][i].buffer), new Uint32Array(rows[0][i].buffer),
          `${shape} ${mode}x${share}, ${2 * r} threads: position ${i}`);
  }
});

test('every C test of the engine passes when built with -msimd128 (the SIMD kernels inside the whole engine)', async () => {
  const { execFile } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const run = (cmd, args) => new Promise((ok, fail) => execFile(cmd, args, { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' },
    maxBuffer: 1 << 24 }, (e, stdout, stderr) => (e ? fail(new Error(`${cmd} ${args.join(' ')}\n${stdout}\n${stderr}`)) : ok(stdout))));
  const two = async (items, fn) => { for (let i = 0; i < items.length; i += 2) await Promise.all(items.slice(i, i + 2).map(fn)); };
  const obj = `${OUT}/obj`;
  mkdirSync(obj, { recursive: true });
  const srcs = readdirSync(`${ROOT}src`).filter((f) => f.endsWith('.c'));
  await two(srcs, (f) => run('emcc', ['-std=c99', '-O2', '-msimd128', '-Isrc', '-c', `src/${f}`, '-o', `${obj}/${f}.o`]));
  // test_threads.c checks the pthreads pool itself, which this single-threaded build lacks:
  // the Makefile runs it natively and under ThreadSanitizer. test_quant_ggml.c compares with
  // x86 libggml through dlopen (native only; test_quant_simd.c and quant_forward.test.js
  // cover the quantized types in wasm).
  const tests = readdirSync(`${ROOT}tests/c`).filter((f) => /^test_.*\.c$/.test(f) && f !== 'test_threads.c'
    && f !== 'test_quant_ggml.c');
  const outputs = {};
  await two(tests, async (t) => {
    const js = `${OUT}/${t}.cjs`;
    await run('emcc', ['-std=c99', '-O2', '-msimd128', '-Isrc', '-Itests/c', `tests/c/${t}`, ...srcs.map((f) => `${obj}/${f}.o`),
      '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=node', '-s', 'NODERAWFS=1', '-s', 'TOTAL_STACK=4MB', '-s', 'SINGLE_FILE=1', '-o', js]);
    outputs[t] = await run(process.execPath, [js]);
  });
  assert.equal(Object.keys(outputs).length, tests.length);
  for (const [t, out] of Object.entries(outputs)) assert.match(out, / [1-9]\d* passed, 0 failed/, `${t}: ${out}`);
});
