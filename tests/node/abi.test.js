// The wasm module's struct layout as the JS binding uses it (wasm_build/abi.js): Model.info
// is read field by field at the module's own offsets (a tiny random model whose dimensions
// all differ, so two fields read from each other's places would show), every field of
// mllm_model_info reaches Model.info, and StructAbi reads where the layout table says.

import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Engine, modelInfo } from '../../wasm_build/engine.js';
import { StructAbi } from '../../wasm_build/abi.js';
import { makeRandomModel, SHAPES } from '../../tools/make_random_model.js';

test('Model.info holds each hyperparameter of a model whose dimensions all differ', async () => {
  const eng = await Engine.create({ simd: true });
  const model = eng.loadModel(makeRandomModel({ shape: 'tiny', type: 'f16', nVocab: 1000, nCtx: 96, share: 3,
    mode: 'reverse' }));
  const sh = SHAPES.tiny, info = model.info;
  assert.equal(info.nVocab, 1000);
  assert.equal(info.nEmbd, sh.nEmbd);
  assert.equal(info.nFf, sh.nFf);
  assert.equal(info.nHead, sh.nHead);
  assert.equal(info.nHeadKv, sh.nHeadKv);
  assert.equal(info.headDim, sh.nEmbd / sh.nHead);
  assert.equal(info.nLayerStored, sh.nLayer);
  assert.equal(info.nLayerEffective, 3 * sh.nLayer);
  assert.equal(info.shareRepeat, 3);
  assert.equal(info.shareMode, 'reverse');
  assert.equal(info.nCtxTrain, 96);
  assert.equal(info.weightType, 'F16');
  assert.equal(info.tokenizer, 'llama');
  assert.equal(info.ropeTheta, 10000);
  assert.equal(info.repacked, 0);
  model.free();
});

test('every field of mllm_model_info reaches Model.info, under its own name', async () => {
  const eng = await Engine.create({ simd: false });
  const fields = Object.keys(eng.abi.layout.mllm_model_info.fields);
  const values = Object.fromEntries(fields.map((f, i) => [f, i]));
  const info = modelInfo(eng, values);
  assert.equal(Object.keys(info).length, fields.length);
  assert.equal(new Set(Object.keys(info)).size, fields.length);
});

test('StructAbi reads and writes each field at the offset its layout table gives', async () => {
  const eng = await Engine.create({ simd: false });
  const real = eng.abi.layout;
  // the same table with two int32 fields' places swapped, as a rebuilt module would report
  const swapped = structuredClone(real);
  const f = swapped.mllm_model_info.fields;
  [f.n_vocab.offset, f.n_embd.offset] = [f.n_embd.offset, f.n_vocab.offset];
  const p = eng.alloc(real.mllm_model_info.size);
  const dv = () => new DataView(eng.mod.HEAPU8.buffer);
  dv().setInt32(p + real.mllm_model_info.fields.n_vocab.offset, 111, true);
  dv().setInt32(p + real.mllm_model_info.fields.n_embd.offset, 222, true);
  const a = new StructAbi(eng.mod, real).read(p, 'mllm_model_info');
  const b = new StructAbi(eng.mod, swapped).read(p, 'mllm_model_info');
  assert.deepEqual([a.n_vocab, a.n_embd, b.n_vocab, b.n_embd], [111, 222, 222, 111]);
  new StructAbi(eng.mod, swapped).set(p, 'mllm_model_info', 'n_vocab', 333);
  assert.equal(dv().getInt32(p + real.mllm_model_info.fields.n_embd.offset, true), 333);
  assert.throws(() => eng.abi.get(p, 'mllm_model_info', 'no_such_field'), /has no field no_such_field/);
  eng.free(p);
});
