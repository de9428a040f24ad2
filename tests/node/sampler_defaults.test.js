// lib/sampler_defaults.js (what the demo page's form starts at) against the engine's own
// defaults, mllm_sampler_params_init (src/sampler.c), read from the wasm module.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SAMPLER_DEFAULTS } from '../../lib/sampler_defaults.js';
import { Engine } from '../../wasm_build/engine.js';

test('the JS sampling defaults equal mllm_sampler_params_init\'s', async () => {
  const eng = await Engine.create();
  const p = eng.alloc(32);
  try {
    eng.mod._mllm_sampler_params_init(p);
    // mllm_sampler_params (src/mobilellm.h): f32 temperature, i32 top_k, f32 top_p, f32 min_p,
    // f32 repeat_penalty, i32 repeat_last_n, ...
    const dv = new DataView(eng.u8().buffer, p, 32);
    const engine = {
      temperature: dv.getFloat32(0, true), topK: dv.getInt32(4, true), topP: dv.getFloat32(8, true),
      minP: dv.getFloat32(12, true), repeatPenalty: dv.getFloat32(16, true), repeatLastN: dv.getInt32(20, true),
    };
    const js = Object.fromEntries(Object.entries(SAMPLER_DEFAULTS).map(([k, v]) => [k, Math.fround(v)]));
    assert.deepEqual(js, engine);
  } finally {
    eng.free(p);
  }
});
