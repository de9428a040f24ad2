// The wasm engine against the PyTorch reference (tests/ref/mobilellm_ref.py, float64) on random
// MobileLLM-layout checkpoints converted by models/convert: every position's logits, every
// layer-sharing order, and the KV-cached decode path. Q8_0 is held to llama.cpp's own Q8_0-vs-F32
// top-1 agreement on the same files.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { getLlama } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertHF } from '../../models/convert/convert.js';
import { checkpoints, referenceLogits, relMaxDiff, argmax, scratchDir, llamaCppLogits, engineLogits, compareRows } from '../ref/fixtures.js';

const TOL = 1e-5; // max |ours - ref| over a position's logits, as a fraction of that position's logit range
const CONFIGS = ['ls_tied_gqa', 'tied_mha_f16', 'untied_gqa', 'ls_untied_mha_bf16'];
const SHARED = ['ls_tied_gqa', 'ls_untied_mha_bf16'];
const quiet = { onWarning: () => {} };

let ck;
let eng;
let work;
before(async () => {
  ck = checkpoints();
  work = scratchDir('reference-test');
  eng = await Engine.create();
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

test(`F32 engine logits equal the PyTorch reference at every position: max |diff| <= ${TOL} x logit range`, async (t) => {
  const seq = ck.tokens.seq40;
  const refs = referenceLogits(CONFIGS.map((n) => ({ dir: ck.dir(n), tokens: seq })));
  for (const [i, name] of CONFIGS.entries()) {
    const worst = compareRows(engineLogits(eng, await convertHF(ck.dir(name), { type: 'f32', ...quiet }), seq), refs[i], name, TOL);
    t.diagnostic(`${name}: max |diff| / range = ${worst.toExponential(2)}`);
  }
});

test(`layer-sharing orders repeat_all and reverse match the reference run in the same order (<= ${TOL} x range)`, async (t) => {
  const seq = ck.tokens.seq40;
  const cases = SHARED.flatMap((n) => ['repeat_all', 'reverse'].map((mode) => [n, mode]));
  const refs = referenceLogits(cases.map(([n, mode]) => ({ dir: ck.dir(n), tokens: seq, mode })));
  for (const [i, [name, mode]] of cases.entries()) {
    const gguf = await convertHF(ck.dir(name), { type: 'f32', shareMode: mode, ...quiet });
    const worst = compareRows(engineLogits(eng, gguf, seq), refs[i], `${name} ${mode}`, TOL);
    t.diagnostic(`${name} ${mode}: max |diff| / range = ${worst.toExponential(2)}`);
  }
  // The orders really differ: the same file read as immediate gives other logits.
  const imm = engineLogits(eng, await convertHF(ck.dir(SHARED[0]), { type: 'f32', ...quiet }), seq);
  const nVocab = refs[0].length / seq.length;
  assert.ok(relMaxDiff(imm[seq.length - 1], refs[0].subarray((seq.length - 1) * nVocab)) > 100 * TOL);
});

test(`KV-cached decode (prefill 10, then one token at a time) equals the full reference run (<= ${TOL} x range)`, async (t) => {
  const seq = ck.tokens.seq40;
  const refs = referenceLogits(CONFIGS.map((n) => ({ dir: ck.dir(n), tokens: seq })));
  for (const [i, name] of CONFIGS.entries()) {
    const model = eng.loadModel(await convertHF(ck.dir(name), { type: 'f32', ...quiet }));
    const ctx = model.newContext({ nCtx: 64, nBatch: 16 });
    try {
      const rows = [];
      ctx.eval(seq.slice(0, 10), { allLogits: true });
      for (let p = 0; p < 10; p++) rows.push(ctx.logits(p));
      for (let p = 10; p < seq.length; p++) {
        ctx.eval([seq[p]]);
        assert.equal(ctx.nPast, p + 1);
        rows.push(ctx.logits(-1));
      }
      const worst = compareRows(rows, refs[i], `${name} decode`, TOL);
      t.diagnostic(`${name} decode: max |diff| / range = ${worst.toExponential(2)}`);
    } finally {
      ctx.free();
      model.free();
    }
  }
});

// Top-1 agreement under quantization is decided by near-ties, so two correct W8A8 engines
// differ by a few positions in 300 either way (measured: ours 290 vs llama.cpp 293 of 300 on
// tied_mha_f16, 287 vs 287 on untied_gqa, at equal KL). The agreement check is therefore
// paired: positions only we get wrong may exceed those only llama.cpp gets wrong by at most
// two standard deviations of that difference. What a broken Q8_0 path would change, the size
// of the error, is held to llama.cpp's own: mean KL(F32 || Q8_0) within 5% (measured within
// 0.7%). Logit-by-logit comparison with another W8A8 computation is not a test: one activation
// rounding that lands the other way changes that position's K/V, and later positions drift
// apart until they differ by as much as Q8_0 differs from F32.
test('Q8_0 vs F32: top-1 agreement (paired with llama.cpp\'s) and mean KL (<= 1.05 x llama.cpp\'s) as good as llama.cpp\'s own Q8_0', async (t) => {
  const seq = ck.tokens.seq300;
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const llamaRows = (bytes) => llamaCppLogits(llama, tmpFile(bytes), seq, { f32Kv: true }); // f32 KV cache like ours
  for (const name of ['untied_gqa', 'tied_mha_f16']) {
    const f32 = await convertHF(ck.dir(name), { type: 'f32', ...quiet });
    const q8 = await convertHF(ck.dir(name), { type: 'q8_0', ...quiet });
    const oursF = engineLogits(eng, f32, seq, { chunk: 100 });
    const oursQ = engineLogits(eng, q8, seq, { chunk: 100 });
    const theirF = await llamaRows(f32);
    const theirQ = await llamaRows(q8);
    let oursOk = 0, theirOk = 0, onlyOurs = 0, onlyTheirs = 0, klOurs = 0, klTheirs = 0;
    for (let p = 0; p < seq.length; p++) {
      const a = argmax(oursQ[p]) === argmax(oursF[p]);
      const b = argmax(theirQ[p]) === argmax(theirF[p]);
      oursOk += a; theirOk += b;
      onlyOurs += !a && b; onlyTheirs += a && !b;
      klOurs += kl(oursF[p], oursQ[p]);
      klTheirs += kl(theirF[p], theirQ[p]);
    }
    t.diagnostic(`${name}: Q8_0 vs F32 top-1 agreement over ${seq.length} positions: ours ${(100 * oursOk / seq.length).toFixed(2)}%, `
      + `llama.cpp ${(100 * theirOk / seq.length).toFixed(2)}% (only ours wrong ${onlyOurs}, only llama.cpp wrong ${onlyTheirs}); `
      + `mean KL ours ${(klOurs / seq.length).toExponential(3)}, llama.cpp ${(klTheirs / seq.length).toExponential(3)}`);
    assert.ok(onlyOurs - onlyTheirs <= 2 * Math.sqrt(onlyOurs + onlyTheirs),
      `${name}: ${onlyOurs} positions only we get wrong vs ${onlyTheirs} only llama.cpp gets wrong`);
    assert.ok(klOurs <= 1.05 * klTheirs, `${name}: mean KL ours ${klOurs / seq.length} vs llama.cpp ${klTheirs / seq.length}`);
    assert.ok(klOurs > 0, 'the Q8_0 file really is quantized');
  }
});

/** KL(softmax(p) || softmax(q)) in float64. */
function kl(p, q) {
  const logSoftmax = (a) => {
    let m = -Infinity;
    for (const x of a) m = Math.max(m, x);
    let s = 0;
    for (const x of a) s += Math.exp(x - m);
    const lse = m + Math.log(s);
    return Float64Array.from(a, (x) => x - lse);
  };
  const lp = logSoftmax(p);
  const lq = logSoftmax(q);
  let k = 0;
  for (let i = 0; i < lp.length; i++) k += Math.exp(lp[i]) * (lp[i] - lq[i]);
  return k;
}

let nTmp = 0;
/** node-llama-cpp loads from a path: park the bytes in the scratch dir. */
function tmpFile(bytes) {
  const p = path.join(work, `m${nTmp++}.gguf`);
  fs.writeFileSync(p, bytes);
  return p;
}
