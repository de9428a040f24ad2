// Sliding-window attention with a per-layer pattern (attention.sliding_window and
// attention.sliding_window_pattern, llama.cpp's key names) against the PyTorch reference
// (tests/ref/mobilellm_ref.py with its window mask: a query sees itself and the window - 1
// positions before it) on the random MobileLLM-layout checkpoints, at positions far past the
// window: the ring-buffer KV cache of windowed layers (memory by the window, not the context)
// and the plain cache, prompt chunks and token-by-token decode, and the rewind the ring allows.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import { Engine } from '../../wasm_build/engine.js';
import { buildGGUF, dirFiles } from '../../models/convert/convert.js';
import { GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGUF_ARCH, archKey } from '../../lib/gguf_keys.js';
import { checkpoints, referenceLogits, relMaxDiff, scratchDir } from '../ref/fixtures.js';

const TOL = 1e-5; // max |ours - ref| over a position's logits, as a fraction of that position's logit range
const WINDOW = 16;
let ck;
let eng;
let work;

before(async () => {
  ck = checkpoints();
  work = scratchDir('sliding-window-test');
  eng = await Engine.create();
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** The checkpoint as an F32 GGUF with a window of `window` on the stored blocks `pattern` marks (null: no pattern key). */
async function windowed(name, window, pattern) {
  const files = await dirFiles(ck.dir(name));
  try {
    const { writer } = buildGGUF(files, { type: 'f32', onWarning: () => {} });
    writer.addU32(archKey('llama', GGUF_ARCH.SLIDING_WINDOW), window);
    if (pattern) writer.addArray(archKey('llama', GGUF_ARCH.SLIDING_WINDOW_PATTERN), GGUFValueType.BOOL, pattern.map(Boolean));
    return writer.toBuffer();
  } finally {
    files.close?.();
  }
}

/** Teacher-forced logits: a prompt of `prefill` tokens in chunks of nBatch, then one token at a time. */
function run(gguf, seq, { nCtx, nBatch, prefill }) {
  const model = eng.loadModel(gguf);
  const ctx = model.newContext({ nCtx, nBatch });
  try {
    const rows = [];
    for (let s = 0; s < prefill; s += nBatch) {
      const part = seq.slice(s, Math.min(prefill, s + nBatch));
      ctx.eval(part, { allLogits: true });
      for (let i = 0; i < part.length; i++) rows.push(ctx.logits(i));
    }
    for (let p = prefill; p < seq.length; p++) {
      ctx.eval([seq[p]]);
      rows.push(ctx.logits(-1));
    }
    return rows;
  } finally {
    ctx.free();
    model.free();
  }
}

function worstDiff(rows, ref, label) {
  const nVocab = ref.length / rows.length;
  let worst = 0;
  rows.forEach((row, p) => {
    const d = relMaxDiff(row, ref.subarray(p * nVocab, (p + 1) * nVocab));
    assert.ok(d <= TOL, `${label} position ${p}: max |diff| / range = ${d}`);
    worst = Math.max(worst, d);
  });
  return worst;
}

test(`windowed layers (window ${WINDOW}, positions 0-299) equal the reference: ring and plain cache, chunks and decode`, async (t) => {
  const seq = ck.tokens.seq300;
  const cases = [
    // [checkpoint, pattern per stored block (null: every block), engine runs]
    ['untied_gqa', [1, 0, 1, 1]],
    ['ls_tied_gqa', null], // layer sharing: each effective layer follows its stored block
  ];
  const refs = referenceLogits(cases.map(([name, pattern]) => ({ dir: ck.dir(name), tokens: seq, window: WINDOW, ...(pattern ? { window_blocks: pattern } : {}) })));
  for (const [i, [name, pattern]] of cases.entries()) {
    const gguf = await windowed(name, WINDOW, pattern);
    const runs = {
      'ring cache, chunks of 16 then decode': { nCtx: 512, nBatch: 16, prefill: 200 },
      'ring cache, chunks of 7 then decode': { nCtx: 512, nBatch: 7, prefill: 100 },
      'plain cache (a ring of window + batch would not be smaller), chunks of 150': { nCtx: 320, nBatch: 150, prefill: 300 },
    };
    for (const [label, opts] of Object.entries(runs)) {
      const worst = worstDiff(run(gguf, seq, opts), refs[i], `${name} ${label}`);
      t.diagnostic(`${name}, ${label}: max |diff| / range = ${worst.toExponential(2)}`);
    }
  }
  // The window matters: the same weights with full attention are far from the windowed reference.
  const full = run(await windowed('untied_gqa', 0, null), seq, { nCtx: 512, nBatch: 64, prefill: 300 });
  const nVocab = refs[0].length / seq.length;
  assert.ok(relMaxDiff(full[299], refs[0].subarray(299 * nVocab)) > 1000 * TOL);
});

test('a rewind within a batch is served by the ring cache; one it cannot serve is refused with a reason', async () => {
  const seq = ck.tokens.seq300;
  const gguf = await windowed('untied_gqa', WINDOW, null);
  const model = eng.loadModel(gguf);
  try {
    const ctx = model.newContext({ nCtx: 512, nBatch: 8 });
    try {
      ctx.eval(seq.slice(0, 100));
      ctx.rewind(92); // within a batch: the ring still holds every position the next token's window needs
      ctx.eval(seq.slice(92, 100));
      const a = ctx.logits(-1);
      assert.throws(() => ctx.rewind(50), /cannot go back from 100 to 50 positions: the sliding-window layers no longer hold the window before it/);
      assert.equal(ctx.nPast, 100, 'a refused rewind changes nothing');
      ctx.rewind(0); // a fresh start needs nothing from the ring
      ctx.eval(seq.slice(0, 100));
      assert.ok(relMaxDiff(ctx.logits(-1), a) <= TOL, 'the same 100 tokens again give the same logits');
      const ref = run(gguf, seq.slice(0, 100), { nCtx: 512, nBatch: 8, prefill: 96 });
      assert.ok(relMaxDiff(a, ref[99]) <= TOL);
    } finally {
      ctx.free();
    }
  } finally {
    model.free();
  }
});

test('the prompt cache falls back to the whole prompt when a windowed context cannot go back to the shared prefix', async () => {
  const { PromptCache } = await import('../../worker/prompt_cache.js');
  const seq = Int32Array.from(ck.tokens.seq300.slice(0, 120));
  const gguf = await windowed('untied_gqa', WINDOW, null);
  const model = eng.loadModel(gguf);
  try {
    const ctx = model.newContext({ nCtx: 512, nBatch: 8 });
    try {
      const cache = new PromptCache(ctx);
      assert.equal(cache.begin(seq.subarray(0, 100), true), 0);
      ctx.eval(Array.from(seq.subarray(0, 100)));
      cache.commit(seq.subarray(0, 100), []);
      // shares 60 tokens: too far back for the ring, so nothing is reused and the run is right
      const edited = Int32Array.from(seq);
      edited[60] = (edited[60] + 1) % 300;
      assert.equal(cache.begin(edited, true), 0);
      assert.equal(ctx.nPast, 0);
      ctx.eval(Array.from(edited));
      const ref = run(gguf, Array.from(edited), { nCtx: 512, nBatch: 8, prefill: 120 });
      assert.ok(relMaxDiff(ctx.logits(-1), ref[119]) <= TOL);
    } finally {
      ctx.free();
    }
  } finally {
    model.free();
  }
});
