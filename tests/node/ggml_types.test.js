// lib/ggml_types.js, the JS side's table of weight types, against its two references: ggml
// itself (node-llama-cpp's prebuilt libggml: type ids, names, block sizes, llama_ftype names)
// and the engine's C table (src/dtype.c), asked at run time: its names (mllm_dtype_name), and
// what it does with a model of each type.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { getLlama, GgmlType, GgufFileType } from 'node-llama-cpp';

import { GGML_TYPES, GGMLType, ggmlType, OUTPUT_TYPES } from '../../lib/ggml_types.js';
import { GGUFWriter, GGUFValueType, ggmlNBytes } from '../../models/convert/gguf_writer.js';
import { addLlamaMeta } from '../../models/convert/llama_meta.js';
import { GGUF_KEY } from '../../lib/gguf_keys.js';
import { Engine } from '../../wasm_build/engine.js';

let llama;
let eng;
before(async () => {
  llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  eng = await Engine.create();
});
after(async () => { await llama?.dispose(); });

test('every ggml type id has its ggml name, elements and bytes per block; retired ids have no row', () => {
  const ids = Object.values(GgmlType).filter((v) => typeof v === 'number');
  assert.ok(ids.length >= 40, `node-llama-cpp lists ${ids.length} ggml types`);
  for (const id of ids) {
    const elems = llama._bindings.getBlockSizeForGgmlType(id);
    const bytes = llama._bindings.getTypeSizeForGgmlType(id);
    const row = ggmlType(id);
    if (!elems) { // ggml keeps a blank entry for ids it retired
      assert.equal(row, null, `id ${id} (${GgmlType[id]}) is retired in ggml`);
      continue;
    }
    assert.ok(row, `id ${id} (${GgmlType[id]}) has a row`);
    assert.deepEqual([row.name, row.blockElems, row.blockBytes], [GgmlType[id], elems, bytes], `id ${id}`);
    assert.equal(row.quantized, elems > 1, `${row.name} is quantized exactly when its blocks hold several values`);
  }
  assert.deepEqual(GGML_TYPES.filter((t) => !ids.includes(t.id)), [], 'no id ggml does not define');
  assert.deepEqual(Object.entries(GGMLType), GGML_TYPES.map((t) => [t.name, t.id]));
});

test('the converter\'s output types carry llama.cpp\'s general.file_type for a file of that type', () => {
  assert.deepEqual(Object.keys(OUTPUT_TYPES), ['f32', 'f16', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'q8_0', 'q2_k', 'q6_k', 'iq4_nl', 'iq4_xs', 'bf16']);
  for (const t of Object.values(OUTPUT_TYPES)) {
    assert.equal(GgufFileType[t.ftype], t.name === 'F32' ? 'ALL_F32' : `MOSTLY_${t.name}`, t.name);
    assert.ok(t.engine, `the engine runs ${t.name}, which the converter writes`);
  }
});

test('the engine names every ggml type id as the table does', () => {
  for (let id = 0; id < 64; id++) {
    const c = eng.cstr(eng.mod._mllm_dtype_name(id));
    const row = ggmlType(id);
    if (row) assert.equal(c, row.name, `id ${id}`);
    else assert.ok(c === 'unknown' || llama._bindings.getBlockSizeForGgmlType(id) === 0, `id ${id}: the engine names ${c}, a type ggml has not retired`);
  }
});

/**
 * A one-block model whose attn_q matrix has ggml type `type` (zero bytes, sized by the JS table)
 * and every other tensor F32. Width 256 is a whole number of blocks of every ggml type.
 * @param {number} type
 */
function modelWithType(type) {
  const d = 256, tokens = ['<unk>', '<s>', '</s>', 'a'];
  const w = new GGUFWriter();
  addLlamaMeta(w, { name: `type ${type}`, ftype: 0, nCtx: 16, nEmbd: d, nLayer: 1, nFf: d, nHead: 4, nHeadKv: 4,
    headDim: d / 4, ropeTheta: 10000, rmsEps: 1e-5, nVocab: tokens.length });
  w.addString(GGUF_KEY.TOKENIZER_MODEL, 'llama');
  w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, tokens);
  const F32 = GGMLType.F32;
  const tensors = [['token_embd', F32, [d, tokens.length]], ['output_norm', F32, [d]], ['blk.0.attn_norm', F32, [d]],
    ['blk.0.attn_q', type, [d, d]], ['blk.0.attn_k', F32, [d, d]], ['blk.0.attn_v', F32, [d, d]],
    ['blk.0.attn_output', F32, [d, d]], ['blk.0.ffn_norm', F32, [d]], ['blk.0.ffn_gate', F32, [d, d]],
    ['blk.0.ffn_up', F32, [d, d]], ['blk.0.ffn_down', F32, [d, d]]];
  for (const [name, t, ne] of tensors) w.addTensor(`${name}.weight`, t, ne, new Uint8Array(ggmlNBytes(t, ne)));
  return w.toBuffer();
}

test('the engine computes exactly the types the table marks: those load at the table\'s block sizes, any other is refused by name', () => {
  for (const t of GGML_TYPES) {
    const bytes = modelWithType(t.id);
    if (t.engine) {
      const m = eng.loadModel(bytes);
      m.free();
      continue;
    }
    assert.throws(() => eng.loadModel(bytes), (e) => {
      assert.equal(e.code, 'unsupported', `${t.name}: ${e.message}`);
      assert.match(e.message, new RegExp(`\\b${t.name}\\b`), `the refusal of ${t.name} names it`);
      return true;
    });
  }
});
