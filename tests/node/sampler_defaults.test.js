// lib/sampler_defaults.js (what the demo page's form starts at) against the engine's own
// defaults, mllm_sampler_params_init (src/sampler.c), read from the wasm module by field name.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SAMPLER_DEFAULTS } from '../../lib/sampler_defaults.js';
import { Engine } from '../../wasm_build/engine.js';

/** The C field of each default. */
const FIELD = { temperature: 'temperature', topK: 'top_k', topP: 'top_p', minP: 'min_p', repeatPenalty: 'repeat_penalty',
  repeatLastN: 'repeat_last_n' };

test('the JS sampling defaults equal mllm_sampler_params_init\'s', async () => {
  const eng = await Engine.create();
  const p = eng.alloc(eng.abi.size('mllm_sampler_params'));
  try {
    eng.mod._mllm_sampler_params_init(p);
    assert.deepEqual(Object.keys(SAMPLER_DEFAULTS), Object.keys(FIELD));
    for (const [k, v] of Object.entries(SAMPLER_DEFAULTS)) {
      assert.equal(Math.fround(v), eng.abi.get(p, 'mllm_sampler_params', FIELD[k]), k);
    }
  } finally {
    eng.free(p);
  }
});
