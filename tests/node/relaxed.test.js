// relaxed.test.js — the relaxed-SIMD kernels, prefill and decode (src/kernels_relaxed.c), under the
// current Node LTS (tools/node_lts.js; the system Node 20 has no relaxed SIMD), as the
// browser test checks it under Chromium: where the CPU has AVX-VNNI, V8 lowers the relaxed
// dot to vpdpbusd and the kernel must run; wherever it runs it must equal the scalar
// kernels bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { makeRandomModel } from '../../tools/make_random_model.js';
import { nodeLts } from '../../tools/node_lts.js';
import { KERNEL_SOURCES } from '../../tools/kernel_sources.js';
import { buildGGUF, convertToFile, dirFiles } from '../../models/convert/convert.js';
import { GGMLType } from '../../lib/ggml_types.js';
import { Engine } from '../../wasm_build/engine.js';
import { sharedMemoryImport } from '../../wasm_build/wasm_shared_memory.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = `${ROOT}build/relaxed_node_test`;
const NODE = nodeLts();
const vnni = process.arch === 'x64' && /\bavx_vnni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));

function run(args) {
  try {
    return execFileSync(NODE, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return assert.fail(`${NODE} ${args.join(' ')} failed:\n${e.stdout}\n${e.stderr}`);
  }
}

test('the Node LTS binary is Node 24 or later', () => {
  const v = run(['--version']).trim();
  assert.ok(Number(/^v(\d+)\./.exec(v)?.[1]) >= 24, v);
});

test('Node LTS: the SIMD kernel tests pass with the relaxed kernel linked in, and it runs iff the CPU has AVX-VNNI', () => {
  mkdirSync(OUT, { recursive: true });
  const src = ['tests/c/test_kernels_simd.c', ...KERNEL_SOURCES];
  execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-DMLLM_RELAXED_IMPORT', '--js-library', 'build/relaxed/library.js',
    '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=node', '-s', 'SINGLE_FILE=1',
    '-s', 'EXPORTED_RUNTIME_METHODS=[]', '-o', `${OUT}/test_kernels_simd.cjs`],
  { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
  // main runs the tests; then, whether the relaxed kernel was live in this thread
  const out = run(['-e', `const m = require(${JSON.stringify(`${OUT}/test_kernels_simd.cjs`)});
    process.once('beforeExit', () => console.log('relaxed active: ' + m.mllmRelaxedActive()));`]);
  assert.match(out, /kernels_simd: 15 passed, 0 failed/, out);
  assert.match(out, new RegExp(`relaxed active: ${vnni}`), out);
});

test('Node LTS: the relaxed matmuls of the 4/5/6-bit types equal the scalar references bit for bit, and run wherever relaxed SIMD compiles (IQ4_XS where the probe passes; tests/c/test_quant_simd.c)', () => {
  mkdirSync(OUT, { recursive: true });
  const src = ['tests/c/test_quant_simd.c', ...KERNEL_SOURCES];
  execFileSync('emcc', ['-std=c99', '-O2', '-msimd128', '-DMLLM_RELAXED_IMPORT', '--js-library', 'build/relaxed/library.js',
    '-Isrc', '-Itests/c', ...src, '-s', 'ALLOW_MEMORY_GROWTH=1', '-s', 'ENVIRONMENT=node', '-s', 'SINGLE_FILE=1',
    '-s', 'EXPORTED_RUNTIME_METHODS=[]', '-o', `${OUT}/test_quant_simd.cjs`],
  { cwd: ROOT, env: { ...process.env, NODE_PATH: '/usr/share/nodejs' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = run([`${OUT}/test_quant_simd.cjs`]);
  // Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K: their operands stay in 0..127, so no CPU feature gates them
  assert.match(out, /relaxed quant types taken: 9,/, out);
  // IQ4_XS's feeds operands above 127: it runs only where the probe passes (AVX-VNNI)
  assert.match(out, vnni ? /relaxed iq4_xs outputs compared: \d{5,}/ : /relaxed iq4_xs: not in this engine/, out);
  assert.match(out, /quant_simd: 8 passed, 0 failed/, out);
});

test('Node LTS: the engine gives bit-identical logits for every position with the relaxed kernel and without, weights repacked or not, prefill and decode, 1 and 2 threads', () => {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(`${OUT}/tiny.gguf`, makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 5, nVocab: 1000 }));
  const script = `
    import { Engine } from ${JSON.stringify(`${ROOT}wasm_build/engine.js`)};
    import { readFileSync } from 'node:fs';
    const bytes = new Uint8Array(readFileSync(${JSON.stringify(`${OUT}/tiny.gguf`)}));
    const ids = Array.from({ length: 43 }, (_, i) => 3 + ((i * 37) % 990));
    const one = await Engine.create({ simd: true }), two = await Engine.create({ threads: 2 });
    const runs = [];
    // the first run is the reference: the file's layout on the SIMD128 kernels; then repacked
    // weights (KERN_LAYOUT_Q8_0_X4) on SIMD128 and on the relaxed kernels, and the file's on relaxed
    const cases = [[one, 1, false, false], [one, 1, false, true], [one, 1, true, true], [two, 2, true, true],
      [one, 1, true, false]];
    const repacked = [];
    for (const [eng, threads, relaxedSimd, repack] of cases) {
      const model = eng.loadModel(bytes, { repack });
      repacked.push(model.info.repacked);
      const ctx = model.newContext({ nCtx: 64, nBatch: 43, threads, relaxedSimd });
      ctx.eval(ids.slice(0, 38), { allLogits: true }); // prefill: the relaxed tile
      const got = Array.from({ length: 38 }, (_, i) => Array.from(ctx.logits(i)));
      for (const id of ids.slice(38)) { ctx.eval([id]); got.push(Array.from(ctx.logits())); } // decode: its streams
      runs.push({ got });
      ctx.free(); model.free();
    }
    const diff = runs.slice(1).map(({ got }) => {
      let d = 0;
      for (let i = 0; i < 43; i++) for (let j = 0; j < got[i].length; j++) if (!Object.is(got[i][j], runs[0].got[i][j])) d++;
      return d;
    });
    console.log(JSON.stringify({ relaxed: [one.build.relaxed, two.build.relaxed], threads: two.build.threads, diff,
      n: runs[0].got[0].length, repacked }));
    process.exit(0);`;
  const r = JSON.parse(run(['--input-type=module', '-e', script]).trim().split('\n').pop());
  assert.deepEqual(r.relaxed, [vnni, vnni], `relaxed kernel active (1 thread, 2 threads): ${r.relaxed}, CPU has avx_vnni: ${vnni}`);
  assert.equal(r.threads, 2);
  assert.equal(r.n, 1000);
  // tiny: 4 blocks x 7 matrices and the tied head (1000 rows), every row count a multiple of 4;
  // repacked only where relaxed runs
  const x4 = vnni ? 29 : 0;
  assert.deepEqual(r.repacked, [0, x4, x4, x4, 0], 'matrices repacked in each run');
  assert.deepEqual(r.diff, [0, 0, 0, 0],
    'bit-identical logits against the file layout on SIMD128: repacked on SIMD128, repacked on relaxed (1 and 2 threads), file layout on relaxed');
});

// For the scripts below: the file's layout on SIMD128 (the reference), then repacked on relaxed
// SIMD with 1 and 2 threads and on SIMD128 again; a 38-token prefill and 5 decode steps each.
// Returns each model's info and, per later run, the count of logits that differ from the reference.
const FOUR_RUNS = `
  function fourRuns(one, two, bytes, ids) {
    const runs = [], infos = [];
    for (const [eng, threads, relaxedSimd, repack] of [[one, 1, false, false], [one, 1, true, true], [two, 2, true, true],
      [one, 1, false, true]]) {
      const model = eng.loadModel(bytes, { repack });
      infos.push(model.info);
      const ctx = model.newContext({ nCtx: 64, nBatch: 43, threads, relaxedSimd });
      ctx.eval(ids.slice(0, 38), { allLogits: true });
      const got = Array.from({ length: 38 }, (_, i) => Array.from(ctx.logits(i)));
      for (const id of ids.slice(38)) { ctx.eval([id]); got.push(Array.from(ctx.logits())); }
      runs.push(got);
      ctx.free(); model.free();
    }
    const diff = runs.slice(1).map((got) => {
      let d = 0;
      for (let i = 0; i < 43; i++) for (let j = 0; j < got[i].length; j++) if (!Object.is(got[i][j], runs[0][i][j])) d++;
      return d;
    });
    return { infos, diff };
  }`;

test('Node LTS: 4/5/6-bit files give bit-identical logits on the relaxed kernels and without, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL, Q4_K, Q5_K and Q6_K repacked or not, prefill and decode, 1 and 2 threads', async () => {
  mkdirSync(OUT, { recursive: true });
  // the bundled model (width 256, ffn 704): Q2_K..Q6_K where rows are 256, fallbacks for ffn_down
  const eng = await Engine.create({ simd: true });
  const quantizeRows = (t, d, r, c) => eng.quantizeRows(t, d, r, c);
  const types = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k_m', 'q4_k_m', 'q5_k_m', 'q6_k', 'iq4_nl', 'iq4_xs'];
  for (const t of types) {
    await convertToFile(`${ROOT}models/default`, `${OUT}/default-${t}.gguf`, { type: t, quantizeRows, onWarning: () => {} });
  }
  const script = `
    import { Engine } from ${JSON.stringify(`${ROOT}wasm_build/engine.js`)};
    import { readFileSync } from 'node:fs';
    ${FOUR_RUNS}
    const ids = Array.from({ length: 43 }, (_, i) => 3 + ((i * 37) % 4000));
    const one = await Engine.create({ simd: true }), two = await Engine.create({ threads: 2 });
    const out = { active: [one.mod.mllmRelaxedQuantActive(), two.mod.mllmRelaxedQuantActive()], diff: {}, repacked: {} };
    for (const t of ${JSON.stringify(types)}) {
      const bytes = new Uint8Array(readFileSync(${JSON.stringify(OUT)} + '/default-' + t + '.gguf'));
      // repacked where the type has a layout for it (Q4_0, IQ4_NL: KERN_LAYOUT_Q4_0_X4; Q5_0:
      // _Q5_0_X4; Q4_1, Q5_1: _Q4_1_X4, _Q5_1_X4; Q4_K, Q5_K, Q6_K: their x4 layouts)
      const { infos, diff } = fourRuns(one, two, bytes, ids);
      out.repacked[t] = infos.map((i) => i.repacked);
      out.diff[t] = diff;
    }
    console.log(JSON.stringify(out));
    process.exit(0);`;
  const r = JSON.parse(run(['--input-type=module', '-e', script]).trim().split('\n').pop());
  assert.deepEqual(r.active, [true, true], 'the relaxed 4/5/6-bit kernels run in the Node LTS, 1 and 2 threads');
  for (const t of types) {
    assert.deepEqual(r.diff[t], [0, 0, 0], `${t}: logits that differ from SIMD128's on the file layout (relaxed 1 thread, 2 threads, SIMD128 repacked)`);
    // the bundled model: 10 blocks x 7 matrices, each with rows in whole groups of four, and
    // the tied head, which these recipes write as Q6_K
    const x4 = t === 'q4_0' || t === 'q5_0' || t === 'q4_1' || t === 'q5_1';
    assert.equal(r.repacked[t][0], 0, `${t}: nothing repacked with repack: false`);
    if (x4) assert.deepEqual(r.repacked[t].slice(1), [71, 71, 71], `${t}: every block matrix and the head repacked`);
    // IQ4_NL's relaxed kernel feeds the dot operands above 127: its matrices are repacked (and run)
    // only where the probe passes (avx_vnni); its recipe keeps a few matrices in other types, and
    // the Q6_K head is repacked wherever the relaxed module runs
    if (t === 'iq4_nl') {
      const n = r.repacked[t][1];
      assert.ok(vnni ? n >= 40 && n <= 71 : n <= 1, `iq4_nl: ${n} matrices repacked (avx_vnni: ${vnni})`);
      assert.deepEqual(r.repacked[t].slice(1), [n, n, n], 'iq4_nl: the same matrices repacked in each run');
    }
  }
  // the layer blocks' Q4_K, Q5_K and Q6_K matrices (and such a head) are repacked where the relaxed module runs
  for (const t of ['q4_k_m', 'q5_k_m', 'q6_k']) {
    assert.ok(r.repacked[t][1] > 0, `${t} matrices repacked: ${r.repacked[t]}`);
    assert.deepEqual(r.repacked[t], [0, r.repacked[t][1], r.repacked[t][1], r.repacked[t][1]]);
  }
});

test('Node LTS: a tied head of Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 or IQ4_NL is repacked at load with its blocks and is read back as the embedding: bit-identical logits repacked or not, relaxed and SIMD128, prefill and decode, 1 and 2 threads', async () => {
  mkdirSync(OUT, { recursive: true });
  // the bundled model: at q8_0 its tied head is Q8_0; the other recipes write it as Q6_K, so
  // the q4_0, q5_0, q4_1, q5_1 and iq4_nl files get it in their own type (llama-quantize --pure does so)
  const eng = await Engine.create({ simd: true });
  const quantizeRows = (t, d, r, c) => eng.quantizeRows(t, d, r, c);
  const files = await dirFiles(`${ROOT}models/default`);
  const embd = (w) => w.tensors.find((t) => t.name === 'token_embd.weight');
  const f32 = embd(buildGGUF(files, { type: 'f32' }).writer);
  const values = new Float32Array(new Uint8Array(/** @type {Uint8Array} */ (/** @type {() => Uint8Array} */ (f32.bytes)())).buffer);
  const HEAD = { q8_0: GGMLType.Q8_0, q4_0: GGMLType.Q4_0, q5_0: GGMLType.Q5_0, q4_1: GGMLType.Q4_1, q5_1: GGMLType.Q5_1,
    iq4_nl: GGMLType.IQ4_NL };
  for (const [t, type] of Object.entries(HEAD)) {
    const { writer } = buildGGUF(files, { type: t, quantizeRows, onWarning: () => {} });
    const rec = embd(writer);
    if (rec.type !== type) {
      const bytes = quantizeRows(type, values, f32.ne[1], f32.ne[0]);
      Object.assign(rec, { type, nbytes: bytes.length, bytes });
    }
    writeFileSync(`${OUT}/head-${t}.gguf`, writer.toBuffer());
  }
  files.close?.();
  const script = `
    import { Engine } from ${JSON.stringify(`${ROOT}wasm_build/engine.js`)};
    import { readFileSync } from 'node:fs';
    ${FOUR_RUNS}
    const ids = Array.from({ length: 43 }, (_, i) => (i * 997) % 4096); // ids from every part of the vocabulary
    const one = await Engine.create({ simd: true }), two = await Engine.create({ threads: 2 });
    const out = { diff: {}, repacked: {}, types: {} };
    for (const t of ${JSON.stringify(Object.keys(HEAD))}) {
      const bytes = new Uint8Array(readFileSync(${JSON.stringify(OUT)} + '/head-' + t + '.gguf'));
      const { infos, diff } = fourRuns(one, two, bytes, ids);
      out.repacked[t] = infos.map((i) => i.repacked);
      out.types[t] = infos[0].weightTypes.map((u) => [u.type, u.tensors]);
      out.diff[t] = diff;
    }
    console.log(JSON.stringify(out));
    process.exit(0);`;
  const r = JSON.parse(run(['--input-type=module', '-e', script]).trim().split('\n').pop());
  // the types with an x4 layout; IQ4_NL's only where its relaxed kernel runs (the probe: avx_vnni)
  const X4 = new Set(['Q8_0', 'Q4_0', 'Q5_0', 'Q4_1', 'Q5_1', 'Q4_K', 'Q5_K', 'Q6_K', ...(vnni ? ['IQ4_NL'] : [])]);
  for (const t of Object.keys(HEAD)) {
    const type = t.toUpperCase();
    assert.deepEqual(r.diff[t], [0, 0, 0], `${t} head: logits that differ from SIMD128's on the file layout (relaxed 1 thread, 2 threads, SIMD128 repacked)`);
    const n = new Map(r.types[t]);
    assert.ok(n.get(type) >= 1, `${t} head: types ${JSON.stringify(r.types[t])}`);
    // every matrix of a type with an x4 layout is repacked, the head (of 4096 rows) with them
    const want = r.types[t].reduce((a, [ty, k]) => a + (X4.has(ty) ? k : 0), 0);
    assert.deepEqual(r.repacked[t], [0, want, want, want], `${t} head: matrices repacked (types ${JSON.stringify(r.types[t])})`);
  }
  for (const t of ['q8_0', 'q4_0', 'q5_0', 'q4_1', 'q5_1']) assert.equal(r.repacked[t][1], 71, JSON.stringify(r.repacked));
});

test('the SIMD builds embed the relaxed module once: the threads build makes the shared-memory copy wasm-ld links', () => {
  const plain = readFileSync(`${ROOT}build/relaxed/relaxed.wasm`), shared = readFileSync(`${ROOT}build/relaxed/relaxed-shared.wasm`);
  assert.notDeepEqual(plain, shared);
  assert.deepEqual(Buffer.from(sharedMemoryImport(new Uint8Array(plain), 65536)), shared, 'the derived copy is byte for byte the shared link');
  const count = (text, bytes) => text.split(bytes.toString('base64')).length - 1;
  for (const f of ['dist/mobilellm.js', 'dist/mobilellm-threads.js']) {
    const js = readFileSync(`${ROOT}${f}`, 'utf8');
    assert.deepEqual([count(js, plain), count(js, shared)], [1, 0], `${f}: copies of the plain and the shared module`);
  }
  // a module importing a function and then a memory of 1..2 pages: only the memory's limits change
  const mod = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 2, 22, 2, 1, 109, 1, 102, 0, 0, 3, 101, 110, 118,
    6, 109, 101, 109, 111, 114, 121, 2, 1, 1, 2]);
  assert.ok(WebAssembly.validate(mod));
  const out = sharedMemoryImport(mod, 300);
  assert.deepEqual([...out], [...mod.subarray(0, 14), 2, 23, ...mod.subarray(16, 35), 3, 1, 172, 2]);
  const mem = new WebAssembly.Memory({ initial: 1, maximum: 300, shared: true });
  assert.ok(new WebAssembly.Instance(new WebAssembly.Module(out), { m: { f() {} }, env: { memory: mem } }));
  assert.throws(() => sharedMemoryImport(out, 300), /shared already/);
  assert.throws(() => sharedMemoryImport(mod.subarray(0, 14), 300), /imports no memory/);
});
