// memoryLimit: a model, or a context, that would grow the engine's wasm memory past the limit is
// refused with a NoMemoryError naming the sizes and the limit, before the memory grows; the
// default limit is the wasm32 space (1.5 GB for Safari on iPhone / iPad). The same check in the
// three browser engines is in tests/browser/browser.test.js.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MobileLLM, NoMemoryError } from '../../worker/index.js';
import { contextBytes, defaultMemoryLimit } from '../../worker/memory.js';
import { makeRandomModel, SHAPES } from '../../tools/make_random_model.js';

const model = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 21 });

test('defaultMemoryLimit: 1.5 GB where Safari runs on an iPhone or iPad, else the 4 GiB wasm32 space', () => {
  assert.equal(defaultMemoryLimit({ userAgent: 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1' }), 1.5e9);
  assert.equal(defaultMemoryLimit({ userAgent: 'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15' }), 1.5e9);
  assert.equal(defaultMemoryLimit({ userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0' }), 2 ** 32);
  assert.equal(defaultMemoryLimit({}), 2 ** 32);
});

test('contextBytes: the f32 K and V caches of every effective layer', () => {
  // 2 caches x 4 bytes x 30 layers x 2048 positions x 3 kv heads x 64 dims (MobileLLM-125M)
  assert.equal(contextBytes({ nLayerEffective: 30, nHeadKv: 3, headDim: 64 }, 2048), 2 * 4 * 30 * 2048 * 3 * 64);
});

test('a model past memoryLimit is refused with its size and the limit; one under it loads', async () => {
  await assert.rejects(MobileLLM.load(model.slice(), { memoryLimit: 20_000_000, cache: false }), (e) => {
    assert.ok(e instanceof NoMemoryError, String(e));
    assert.equal(e.code, 'nomem');
    assert.equal(e.limit, 20_000_000);
    assert.ok(e.needed > model.length + 32e6, `needed ${e.needed}: the model and the engine's initial heap`);
    assert.match(e.message, new RegExp(`^The model needs ${(model.length / 1e6).toFixed(1)} MB of memory; .* past the 20\\.0 MB this page may use \\(memoryLimit\\): a smaller model fits\\.$`));
    return true;
  });
  const llm = await MobileLLM.load(model.slice(), { cache: false });
  assert.equal(llm.info.memoryLimit, 2 ** 32);
  await llm.unload();
  await assert.rejects(MobileLLM.load(model.slice(), { memoryLimit: 1000, cache: false }), /memoryLimit must be an integer from 1048576 to 4294967296/);
});

test('a context past memoryLimit is refused, naming its length; a shorter one fits under the same limit', async () => {
  const { nLayer, nEmbd, nHead, nHeadKv } = SHAPES.tiny;
  const long = makeRandomModel({ shape: 'tiny', type: 'q8_0', seed: 21, nCtx: 8192 });
  const small = await MobileLLM.load(long.slice(), { nCtx: 64, cache: false });
  const heap = small.info.heapBytes; // at least the engine's heap when the model went in
  await small.unload();
  const big = contextBytes({ nLayerEffective: nLayer, nHeadKv, headDim: nEmbd / nHead }, 8192);
  assert.equal(big, 16_777_216);
  // Room for the model on top of that heap (the check assumes it all lands above), not for 8192 tokens.
  const limit = heap + long.length + 1_000_000;
  await assert.rejects(MobileLLM.load(long.slice(), { nCtx: 8192, memoryLimit: limit, cache: false }), (e) => {
    assert.equal(e.code, 'nomem', String(e));
    assert.equal(e.limit, limit);
    assert.match(e.message, /^Its context of 8192 tokens needs 16\.8 MB of memory; .*\(memoryLimit\): a shorter nCtx or a smaller model fits\.$/);
    return true;
  });
  const ok = await MobileLLM.load(long.slice(), { nCtx: 64, memoryLimit: limit, cache: false });
  assert.equal(ok.info.memoryLimit, limit);
  await ok.unload();
});
