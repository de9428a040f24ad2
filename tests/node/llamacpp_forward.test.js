// The wasm engine against llama.cpp (node-llama-cpp's prebuilt CPU binary) on converted F32
// files with a real SentencePiece vocabulary: teacher-forced argmax over 200 positions. For the
// layer-shared checkpoint, llama.cpp runs the same weights unrolled into separate blocks while
// our engine runs the shared file (DESIGN.md's recipe, since llama.cpp ignores layer_share).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { getLlama } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertHF } from '../../models/convert/convert.js';
import { checkpoints, scratchDir, relMaxDiff, argmax, llamaCppLogits, engineLogits } from '../ref/fixtures.js';

const MIN_AGREEMENT = 0.99;
const quiet = { onWarning: () => {} };

let ck;
let eng;
let llama;
let work;
before(async () => {
  ck = checkpoints();
  work = scratchDir('llamacpp-forward-test');
  eng = await Engine.create();
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** llama.cpp (default F16 KV cache), teacher-forced: logits of every position. */
function theirs(gguf, seq, name) {
  const file = path.join(work, `${name}.gguf`);
  fs.writeFileSync(file, gguf);
  return llamaCppLogits(llama, file, seq);
}

for (const [name, label] of [['untied_gqa', 'untied head, GQA 4/2, 8 padded vocab slots'],
  ['tied_mha_f16', 'tied head, MHA, from F16'], ['ls_tied_gqa', 'layer-shared x2 vs llama.cpp on the unrolled file']]) {
  test(`teacher-forced argmax equals llama.cpp's at >= ${MIN_AGREEMENT * 100}% of 200 positions: ${name} (${label})`, async (t) => {
    const seq = ck.tokens.seq200;
    assert.equal(seq.length, 200);
    const mine = engineLogits(eng, await convertHF(ck.dir(name), { type: 'f32', ...quiet }), seq, { chunk: 50, nCtx: 256 });
    // unroll is the identity for unshared checkpoints
    const ref = await theirs(await convertHF(ck.dir(name), { type: 'f32', unroll: true, ...quiet }), seq, name);
    let same = 0;
    let worst = 0;
    for (let p = 0; p < seq.length; p++) {
      assert.equal(mine[p].length, ref[p].length);
      if (argmax(mine[p]) === argmax(ref[p])) same++;
      worst = Math.max(worst, relMaxDiff(mine[p], ref[p]));
    }
    t.diagnostic(`${name}: argmax agreement ${same}/${seq.length}, max |diff| / range vs llama.cpp (F16 KV cache) ${worst.toExponential(2)}`);
    assert.ok(same / seq.length >= MIN_AGREEMENT, `${same}/${seq.length} positions agree`);
  });
}
