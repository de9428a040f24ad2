// failed_loads.test.js — a model loaded in an engine keeps generating exactly the same tokens
// and logits after any number of failed loads of damaged files in that same engine (the wasm
// heap is shared by every load): each failure is a coded MobileLLMError, and the heap does not
// keep growing with the failures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Engine, MobileLLMError, Sampler, Generator } from '../../wasm_build/engine.js';
import { makeRandomModel } from '../../tools/make_random_model.js';

/** A seeded sampled continuation of a prompt: the generated ids and the first step's logits. */
function sampled(model) {
  const ctx = model.newContext({ nCtx: 64 });
  const sampler = new Sampler(model, { temperature: 1, seed: 7 });
  ctx.eval(model.tokenize('w300 w301 w302', { addBos: true }));
  const logits = Float32Array.from(ctx.logitsView());
  const gen = new Generator(ctx, sampler, { maxTokens: 24, ignoreEos: true });
  const ids = [];
  for (;;) {
    const r = gen.step();
    if (r.token >= 0) ids.push(r.token);
    if (r.stop) break;
  }
  gen.free();
  sampler.free();
  ctx.free();
  return { ids, logits };
}

/** Index of the u32 value of metadata key `key` (its string, then a u32 type, then the value). */
function kvValueOffset(bytes, key) {
  const k = new TextEncoder().encode(key);
  outer: for (let i = 8; i + k.length + 8 <= bytes.length; i++) {
    for (let j = 0; j < k.length; j++) if (bytes[i + j] !== k[j]) continue outer;
    return i + k.length + 4;
  }
  throw new Error(`key ${key} not found`);
}

test('a loaded model generates identically after 120 failed loads in the same engine', async () => {
  const eng = await Engine.create();
  // F32 weights with rows of 512 bytes: every 4-aligned byte of the data section is an element
  const bytes = makeRandomModel({ shape: 'tiny', type: 'f32', nVocab: 400, seed: 3 });
  const model = eng.loadModel(bytes);
  const before = sampled(model);
  assert.equal(before.ids.length, 24);
  assert.ok(new Set(before.ids).size > 1, 'the sampled tokens vary');
  const blockCount = kvValueOffset(bytes, 'llama.block_count');
  let heapAfterFirst = 0;
  for (let k = 0; k < 120; k++) {
    const bad = Uint8Array.from(bytes);
    let size = bad.length, want;
    switch (k % 4) {
      case 0: size = (k * 7919) % bad.length; want = /GGUF|truncated|outside|bytes long/; break;
      case 1: bad[1] ^= 0x20; want = /not a GGUF file: bad magic/; break;
      case 2: { // a NaN in the last tensors' data
        const at = bad.length - 4 * (1 + ((k * 97) % 4000));
        new DataView(bad.buffer).setUint32(at, 0x7fc00000, true);
        want = /holds an inf or nan value/;
        break;
      }
      default: bad[blockCount] = 3; want = /the file stores tensor 'blk\.3\.[a-z_]+\.weight' but block_count is 3/; break;
    }
    assert.throws(() => eng.loadModel(bad.subarray(0, size)), (e) => {
      assert.ok(e instanceof MobileLLMError, String(e));
      assert.equal(e.code, 'format', e.message);
      assert.match(e.message, want);
      return true;
    });
    if (k === 0) heapAfterFirst = eng.heapBytes;
  }
  // failed loads give their bytes back: the heap may not grow by another file per failure
  assert.ok(eng.heapBytes <= heapAfterFirst + 2 * bytes.length, `heap ${eng.heapBytes} after ${heapAfterFirst}`);
  const after = sampled(model);
  assert.deepEqual(after.ids, before.ids);
  assert.deepEqual(after.logits, before.logits);
  // and a second copy of the same file still loads and agrees
  const again = eng.loadModel(bytes);
  assert.deepEqual(sampled(again).ids, before.ids);
  again.free();
  model.free();
});
