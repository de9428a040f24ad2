// quant_forward.test.js — the engine runs llama.cpp's 4/5/6-bit files like llama.cpp does: the
// bundled trained model (models/default, written as F32 with its shared blocks unrolled, since
// llama.cpp ignores layer sharing) quantized by llama.cpp itself (llama_model_quantize,
// tests/fixtures/llama_ref_quantize.c) to each type; on real text, the engine's teacher-forced
// argmax equals llama.cpp's (node-llama-cpp, its native CPU kernels, one thread) on the same
// file at >= 98% of the positions. And the engine's own builds agree bit for bit on such files:
// SIMD128 and scalar, batched and token by token, 1 and 2 threads.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { getLlama } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertToFile, OUTPUT_TYPES } from '../../models/convert/convert.js';
import { scratchDir, argmax, llamaCppLogits, engineLogits, llamaCppLib, nativeFixture } from '../ref/fixtures.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIN_AGREEMENT = 0.98;
const LIBLLAMA = llamaCppLib('llama');
const skip = LIBLLAMA ? false : 'no libllama.so from @node-llama-cpp/linux-x64 on this host';

// Genesis 1:1-10 (King James Version, public domain): text like the model's training corpus.
const TEXT = 'In the beginning God created the heaven and the earth. And the earth was without form, and void; '
  + 'and darkness was upon the face of the deep. And the Spirit of God moved upon the face of the waters. '
  + 'And God said, Let there be light: and there was light. And God saw the light, that it was good: and God '
  + 'divided the light from the darkness. And God called the light Day, and the darkness he called Night. And '
  + 'the evening and the morning were the first day. And God said, Let there be a firmament in the midst of the '
  + 'waters, and let it divide the waters from the waters. And God made the firmament, and divided the waters '
  + 'which were under the firmament from the waters which were above the firmament: and it was so. And God '
  + 'called the firmament Heaven. And the evening and the morning were the second day. And God said, Let the '
  + 'waters under the heaven be gathered together unto one place, and let the dry land appear: and it was so. '
  + 'And God called the dry land Earth; and the gathering together of the waters called he Seas: and God saw '
  + 'that it was good.';

const TYPES = ['q4_0', 'q4_1', 'q5_0', 'q5_1', 'q2_k', 'q3_k_m', 'q4_k_m', 'q5_k_m', 'q6_k', 'iq4_nl', 'iq4_xs'];

let eng;
let llama;
let work;
let f32;
let seq;

before(async () => {
  eng = await Engine.create();
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  work = scratchDir('quant-forward-test');
  f32 = path.join(work, 'default-unrolled-f32.gguf');
  await convertToFile(path.join(ROOT, 'models', 'default'), f32, { type: 'f32', unroll: true, onWarning: () => {} });
  const model = eng.loadModel(fs.readFileSync(path.join(ROOT, 'models', 'default.gguf')));
  try {
    seq = Array.from(model.tokenize(new TextEncoder().encode(TEXT), { addBos: true })).slice(0, 200);
  } finally {
    model.free();
  }
});

after(async () => {
  await llama?.dispose();
  fs.rmSync(work, { recursive: true, force: true });
});

for (const type of TYPES) {
  test(`teacher-forced argmax equals llama.cpp's at >= ${MIN_AGREEMENT * 100}% on the bundled model quantized by llama.cpp to ${type}`, { skip }, async (t) => {
    const file = path.join(work, `default-${type}.gguf`);
    const r = spawnSync(nativeFixture('llama_ref_quantize'), [LIBLLAMA, f32, file, String(OUTPUT_TYPES[type].ftype)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `llama_model_quantize ${type}: ${r.stderr}`);
    assert.ok(seq.length >= 150, `${seq.length} tokens of text`);
    const mine = engineLogits(eng, fs.readFileSync(file), seq, { chunk: 50, nCtx: 256 });
    const ref = await llamaCppLogits(llama, file, seq);
    let same = 0;
    for (let p = 0; p < seq.length; p++) {
      assert.equal(mine[p].length, ref[p].length);
      if (argmax(mine[p]) === argmax(ref[p])) same++;
    }
    t.diagnostic(`${type}: argmax agreement ${same}/${seq.length}`);
    fs.rmSync(file);
    assert.ok(same / seq.length >= MIN_AGREEMENT, `${type}: ${same}/${seq.length} positions agree`);
  });
}

/** Logits of every position of seq (all-logits evals of `batch` tokens, `threads` threads). */
function allLogits(eng, bytes, ids, batch, threads = 1) {
  const model = eng.loadModel(bytes);
  const ctx = model.newContext({ nCtx: 256, nBatch: batch, threads });
  const rows = [];
  for (let s = 0; s < ids.length; s += batch) {
    const chunk = ids.slice(s, s + batch);
    ctx.eval(chunk, { allLogits: true });
    for (let j = 0; j < chunk.length; j++) rows.push(ctx.logits(j));
  }
  ctx.free();
  model.free();
  return rows;
}

test('quantized files give bit-identical logits in the SIMD and scalar builds, batched or token by token, on 1 and 2 threads', async () => {
  const simd = await Engine.create({ simd: true });
  const scalar = await Engine.create({ simd: false });
  const two = await Engine.create({ threads: 2 });
  assert.match(scalar.build.url, /mobilellm-nosimd\.js$/);
  assert.equal(two.build.threads, 2);
  const ids = seq.slice(0, 40);
  // the bundled (layer-shared) model as the converter writes it: every type and activation
  // format (Q8_0, Q8_1, Q8_K) between the two files
  for (const type of ['q4_k_m', 'q4_1', 'q2_k', 'iq4_xs']) {
    const file = path.join(work, `shared-${type}.gguf`);
    await convertToFile(path.join(ROOT, 'models', 'default'), file, {
      type, quantizeRows: (t, d, r, c) => eng.quantizeRows(t, d, r, c), onWarning: () => {} });
    const bytes = fs.readFileSync(file);
    const a = allLogits(simd, bytes, ids, 16);
    const b = allLogits(scalar, bytes, ids, 16);
    const one = allLogits(simd, bytes, ids, 1);
    const threaded = allLogits(two, bytes, ids, 16, 2);
    for (let i = 0; i < ids.length; i++) {
      const bits = (r) => new Uint32Array(r[i].buffer);
      assert.deepEqual(bits(b), bits(a), `${type}: position ${i}, scalar vs SIMD`);
      assert.deepEqual(bits(one), bits(a), `${type}: position ${i}, batch 1 vs 16`);
      assert.deepEqual(bits(threaded), bits(a), `${type}: position ${i}, 2 threads vs 1`);
    }
    fs.rmSync(file);
  }
});
