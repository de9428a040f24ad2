// quantize.test.js — the converter's 4/5/6-bit output (`mobilellm convert --type ...`) against
// llama.cpp itself, through the libllama.so node-llama-cpp ships:
//   recipe     per-tensor types of every --type equal llama.cpp's llama_quant_compute_types
//              (tests/fixtures/llama_ref_quant_types.c) on the MobileLLM family's real shapes;
//   quantizer  for every --type, the converted file holds the same tensors, with the same types
//              and byte-identical data, as llama_model_quantize (llama-quantize without an
//              importance matrix; tests/fixtures/llama_ref_quantize.c) writes from the same
//              checkpoint converted to F32 — on a 256-wide model (K types in place) and a
//              192-wide untied one (llama.cpp's fallbacks), with edge rows (zero, outlier);
//   load       MobileLLM.load(checkpoint, {dtype: 'q4_k_m' | ...}) converts with the engine's
//              quantizer in the API's own path: the recipe's tensor types, the CLI's bytes and logits;
//   errors     the engine's mllm_quantize_rows refuses what it cannot write, in one sentence.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { MobileLLM } from '../../worker/index.js';
import { convertToFile, OUTPUT_TYPES } from '../../models/convert/convert.js';
import { planTensorTypes } from '../../models/convert/quant_recipe.js';
import { ggmlNBytes } from '../../models/convert/gguf_writer.js';
import { ggmlType } from '../../lib/ggml_types.js';
import { checkpoints, scratchDir, safetensorsBytes, llamaCppLib, nativeFixture } from '../ref/fixtures.js';

/** @param {number} t ggml's name of type id t */
const ggmlTypeName = (t) => ggmlType(t)?.name ?? `type ${t}`;

const LIBLLAMA = llamaCppLib('llama');
const LIBGGML = llamaCppLib('ggml-base');
const skip = LIBLLAMA && LIBGGML ? false : 'no libllama.so from @node-llama-cpp/linux-x64 on this host';

let eng;
let work;
let ck;

before(async () => {
  eng = await Engine.create();
  work = scratchDir('quantize-test');
  ck = checkpoints();
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

// ------------------------------------------------------------------ recipe

/** The tensors a llama-architecture GGUF of this shape holds: [name, ne0, ne1]. */
function llamaTensors({ nLayer, nEmbd, nFf, nHead, nHeadKv, headDim, nVocab, tied }) {
  const t = [['token_embd.weight', nEmbd, nVocab], ['output_norm.weight', nEmbd, 1]];
  if (!tied) t.push(['output.weight', nEmbd, nVocab]);
  for (let i = 0; i < nLayer; i++) {
    const b = `blk.${i}.`;
    t.push([b + 'attn_norm.weight', nEmbd, 1], [b + 'attn_q.weight', nEmbd, nHead * headDim],
      [b + 'attn_k.weight', nEmbd, nHeadKv * headDim], [b + 'attn_v.weight', nEmbd, nHeadKv * headDim],
      [b + 'attn_output.weight', nHead * headDim, nEmbd], [b + 'ffn_norm.weight', nEmbd, 1],
      [b + 'ffn_gate.weight', nEmbd, nFf], [b + 'ffn_up.weight', nEmbd, nFf], [b + 'ffn_down.weight', nFf, nEmbd]);
  }
  return t;
}

/** llama-quantize's tensor order (llama_model_loader's weights_map): block number, then name. */
function llamaOrder(tensors) {
  const layer = (n) => (/^blk\.(\d+)\./.exec(n) ? Number(/^blk\.(\d+)\./.exec(n)[1]) : -1);
  return [...tensors].sort((a, b) => layer(a[0]) - layer(b[0]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

const SHAPES = {
  // DESIGN.md: MobileLLM (LLaMA-2 vocabulary), MobileLLM-R1 (Llama-3's), one untied shape with n_gqa 4
  '125M': { nLayer: 30, nEmbd: 576, nFf: 1536, nHead: 9, nHeadKv: 3, headDim: 64, nVocab: 32000, tied: true },
  '350M': { nLayer: 32, nEmbd: 960, nFf: 2560, nHead: 15, nHeadKv: 5, headDim: 64, nVocab: 32000, tied: true },
  '600M': { nLayer: 40, nEmbd: 1152, nFf: 3072, nHead: 18, nHeadKv: 6, headDim: 64, nVocab: 32000, tied: true },
  '1B': { nLayer: 54, nEmbd: 1280, nFf: 3584, nHead: 20, nHeadKv: 5, headDim: 64, nVocab: 32000, tied: true },
  '1.5B': { nLayer: 54, nEmbd: 1600, nFf: 4352, nHead: 25, nHeadKv: 5, headDim: 64, nVocab: 32000, tied: true },
  'R1-140M': { nLayer: 15, nEmbd: 576, nFf: 2048, nHead: 9, nHeadKv: 3, headDim: 64, nVocab: 128256, tied: true },
  'R1-360M': { nLayer: 15, nEmbd: 1024, nFf: 4096, nHead: 16, nHeadKv: 4, headDim: 64, nVocab: 128256, tied: true },
  'R1-950M': { nLayer: 22, nEmbd: 1536, nFf: 6144, nHead: 24, nHeadKv: 6, headDim: 64, nVocab: 128256, tied: true },
  'untied-gqa4': { nLayer: 16, nEmbd: 512, nFf: 1408, nHead: 8, nHeadKv: 2, headDim: 64, nVocab: 1000, tied: false },
};

test('recipe: every --type gives each tensor the type llama.cpp chooses, on the MobileLLM family shapes', { skip }, () => {
  const bin = nativeFixture('llama_ref_quant_types');
  let checked = 0;
  for (const [shapeName, s] of Object.entries(SHAPES)) {
    const tensors = llamaTensors(s);
    const req = `${s.nEmbd} ${s.nFf} ${s.nLayer} ${s.nHead} ${s.nHeadKv} ${s.headDim}\n`
      + llamaOrder(tensors).map(([n, a, b]) => `${n} ${a} ${b}`).join('\n') + '\n';
    const ftypes = Object.values(OUTPUT_TYPES).map((t) => String(t.ftype));
    const lines = execFileSync(bin, [LIBLLAMA, LIBGGML, ...ftypes], { input: req }).toString().trim().split('\n');
    for (const [fileType, { ftype }] of Object.entries(OUTPUT_TYPES)) {
      const theirs = new Map(lines.map((l) => l.split(' ')).filter(([f]) => Number(f) === ftype).map(([, n, t]) => [n, Number(t)]));
      const ours = planTensorTypes(fileType, tensors.map(([name, a, b]) => ({ name, ne: [a, b] })), s);
      assert.equal(ours.size, theirs.size);
      for (const [name, t] of theirs) {
        assert.equal(ggmlTypeName(ours.get(name)), ggmlTypeName(t), `${shapeName} ${fileType} ${name}`);
        checked++;
      }
    }
  }
  assert.equal(checked, Object.values(SHAPES).reduce((a, s) => a + llamaTensors(s).length, 0) * Object.keys(OUTPUT_TYPES).length);
});

// ------------------------------------------------------------------ quantizer bytes

/** Seeded weights: per-row scales over 4 orders of magnitude, heavy tails, a zero row, an outlier. */
function weights(rows, cols, seed) {
  let st = seed >>> 0 || 1;
  const rnd = () => { st ^= st << 13; st >>>= 0; st ^= st >>> 17; st ^= st << 5; st >>>= 0; return st / 4294967296; };
  const w = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const scale = 0.001 * 10 ** (4 * rnd());
    for (let c = 0; c < cols; c++) {
      const g = rnd() + rnd() + rnd() - 1.5;
      w[r * cols + c] = r === 1 ? 0 : scale * g * g * g * (rnd() < 0.01 ? 30 : 1);
    }
  }
  if (rows > 3) w[3 * cols + 5] = 40; // one outlier
  return w;
}

/** A checkpoint with llama shapes of choice (tokenizer from a fixture), F32 safetensors. */
function makeCheckpoint(name, s, { poison } = {}) {
  const d = path.join(work, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.cpSync(ck.dir('untied_gqa'), d, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
  Object.assign(cfg, { hidden_size: s.nEmbd, intermediate_size: s.nFf, num_attention_heads: s.nHead,
    num_key_value_heads: s.nHeadKv, head_dim: s.headDim, num_hidden_layers: s.nLayer, share_embedding: s.tied,
    layer_sharing: false });
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
  const nVocab = cfg.vocab_size;
  const entries = [];
  let seed = 7;
  const add = (n, rows, cols) => {
    const w = weights(rows, cols, seed++);
    if (n === poison) w[cols + 7] = NaN;
    entries.push([n, 'F32', [rows, cols], new Uint8Array(w.buffer)]);
  };
  const norm = (n) => entries.push([n, 'F32', [s.nEmbd], new Uint8Array(new Float32Array(s.nEmbd).fill(1).buffer)]);
  add('model.embed_tokens.weight', nVocab, s.nEmbd);
  for (let i = 0; i < s.nLayer; i++) {
    const p = `model.layers.${i}.`;
    norm(p + 'input_layernorm.weight');
    add(p + 'self_attn.q_proj.weight', s.nHead * s.headDim, s.nEmbd);
    add(p + 'self_attn.k_proj.weight', s.nHeadKv * s.headDim, s.nEmbd);
    add(p + 'self_attn.v_proj.weight', s.nHeadKv * s.headDim, s.nEmbd);
    add(p + 'self_attn.o_proj.weight', s.nEmbd, s.nHead * s.headDim);
    norm(p + 'post_attention_layernorm.weight');
    add(p + 'mlp.gate_proj.weight', s.nFf, s.nEmbd);
    add(p + 'mlp.up_proj.weight', s.nFf, s.nEmbd);
    add(p + 'mlp.down_proj.weight', s.nEmbd, s.nFf);
  }
  norm('model.norm.weight');
  if (!s.tied) add('lm_head.weight', nVocab, s.nEmbd);
  fs.writeFileSync(path.join(d, 'model.safetensors'), safetensorsBytes(entries));
  return d;
}

/** name -> {type, bytes} of every tensor of a GGUF file. */
async function tensorData(file) {
  const info = await readGgufFileInfo(file);
  const fd = fs.openSync(file, 'r');
  try {
    const m = new Map();
    for (const t of info.fullTensorInfo) {
      const ne = t.dimensions.map(Number);
      const buf = Buffer.alloc(ggmlNBytes(t.ggmlType, ne));
      fs.readSync(fd, buf, 0, buf.length, Number(t.fileOffset));
      m.set(t.name, { type: t.ggmlType, ne, bytes: buf });
    }
    return { md: info.metadata, tensors: m };
  } finally {
    fs.closeSync(fd);
  }
}

const QUANT_SHAPES = {
  // K types in place; n_gqa 4 (the Q2_K and IQ4 attn_v rules); 8 blocks (use_more_bits, n/8)
  wide256: { nLayer: 8, nEmbd: 256, nFf: 256, nHead: 4, nHeadKv: 1, headDim: 64, tied: true },
  // rows of 192 and 320: every 256-block type takes llama.cpp's fallback; an untied head
  narrow192: { nLayer: 4, nEmbd: 192, nFf: 320, nHead: 3, nHeadKv: 1, headDim: 64, tied: false },
};

for (const [shapeName, s] of Object.entries(QUANT_SHAPES)) {
  test(`quantizer: every --type writes llama-quantize's bytes, tensor by tensor (${shapeName})`, { skip }, async () => {
    const bin = nativeFixture('llama_ref_quantize');
    const dir = makeCheckpoint(shapeName, s);
    const f32 = path.join(work, `${shapeName}-f32.gguf`);
    await convertToFile(dir, f32, { type: 'f32', onWarning: () => {} });
    const quantizeRows = (t, d, r, c) => eng.quantizeRows(t, d, r, c);
    const seen = new Set();
    for (const [fileType, { ftype }] of Object.entries(OUTPUT_TYPES)) {
      if (fileType === 'f32') continue;
      const ours = path.join(work, `${shapeName}-${fileType}.gguf`);
      const ref = path.join(work, `${shapeName}-${fileType}-llama.gguf`);
      await convertToFile(dir, ours, { type: fileType, quantizeRows, onWarning: () => {} });
      const r = spawnSync(bin, [LIBLLAMA, f32, ref, String(ftype)], { encoding: 'utf8' });
      assert.equal(r.status, 0, `llama_model_quantize ${fileType}: ${r.stderr}`);
      const a = await tensorData(ours);
      const b = await tensorData(ref);
      assert.equal(a.md.general.file_type, b.md.general.file_type, fileType);
      assert.deepEqual([...a.tensors.keys()].sort(), [...b.tensors.keys()].sort(), fileType);
      for (const [name, tb] of b.tensors) {
        const ta = a.tensors.get(name);
        assert.equal(ggmlTypeName(ta.type), ggmlTypeName(tb.type), `${fileType} ${name}`);
        assert.ok(ta.bytes.equals(tb.bytes), `${fileType} ${name} (${ggmlTypeName(tb.type)}): bytes differ from llama-quantize's`);
        seen.add(ggmlTypeName(tb.type));
      }
      fs.rmSync(ours);
      fs.rmSync(ref);
    }
    // the files exercised every type the engine writes (what each shape can reach)
    const want = shapeName === 'wide256'
      ? ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_NL', 'IQ4_XS']
      : ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'IQ4_NL'];
    assert.deepEqual([...seen].sort(), want.sort());
  });
}

// ------------------------------------------------------------------ load(checkpoint, {dtype})

test('MobileLLM.load(checkpoint, {dtype: q4_k_m | q5_k_m | q6_k}) quantizes as the recipe says, to the CLI convert\'s bytes and logits', async () => {
  const s = QUANT_SHAPES.wide256;
  const dir = makeCheckpoint('load-dtype', s);
  const cacheDir = path.join(work, 'load-dtype-cache');
  const seq = ck.tokens.seq40;
  const want = { q4_k_m: ['Q4_K', 'Q6_K'], q5_k_m: ['Q5_K', 'Q6_K'], q6_k: ['Q6_K'] };
  for (const [dtype, types] of Object.entries(want)) {
    const llm = await MobileLLM.load(dir, { cacheDir, dtype });
    let loaded, logits;
    try {
      assert.equal(llm.info.fromCache, false, dtype);
      loaded = path.join(work, `load-${dtype}.gguf`);
      fs.writeFileSync(loaded, await MobileLLM.cache.read(/** @type {string} */ (llm.info.cacheKey), { cacheDir }));
      logits = await llm.logits(seq);
    } finally {
      await llm.unload();
    }
    // per-tensor types: the recipe's for this file's tensors, and the K types it promises are there
    const got = await tensorData(loaded);
    const plan = planTensorTypes(dtype, [...got.tensors].map(([name, t]) => ({ name, ne: t.ne })),
      { nLayer: s.nLayer, nHead: s.nHead, nHeadKv: s.nHeadKv });
    for (const [name, t] of got.tensors) assert.equal(ggmlTypeName(t.type), ggmlTypeName(/** @type {number} */ (plan.get(name))), `${dtype} ${name}`);
    const seen = new Set([...got.tensors.values()].map((t) => ggmlTypeName(t.type)));
    for (const t of types) assert.ok(seen.has(t), `${dtype} holds ${t} tensors (${[...seen]})`);
    // the CLI's conversion of the same checkpoint: same tensors, bytes and logits
    const cli = path.join(work, `cli-${dtype}.gguf`);
    execFileSync(process.execPath, [path.join('bin', 'mobilellm.js'), 'convert', dir, '-o', cli, '--type', dtype], { stdio: 'pipe' });
    const ref = await tensorData(cli);
    assert.deepEqual([...got.tensors.keys()].sort(), [...ref.tensors.keys()].sort(), dtype);
    for (const [name, t] of ref.tensors) assert.ok(got.tensors.get(name)?.bytes.equals(t.bytes), `${dtype} ${name}: bytes differ from the CLI's`);
    const again = await MobileLLM.load(cli, { cacheDir });
    try {
      const refLogits = await again.logits(seq);
      assert.equal(refLogits.length, logits.length);
      assert.ok(logits.some((v) => v !== 0) && Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength)
        .equals(Buffer.from(refLogits.buffer, refLogits.byteOffset, refLogits.byteLength)), `${dtype}: logits equal the CLI file's`);
    } finally {
      await again.unload();
    }
    fs.rmSync(loaded);
    fs.rmSync(cli);
  }
});

// ------------------------------------------------------------------ errors

test('mllm_quantize_rows refuses a type it does not write and a row of partial blocks, in one sentence', () => {
  const x = new Float32Array(256);
  assert.throws(() => eng.quantizeRows(16 /* IQ2_XXS */, x, 1, 256), (e) => e.code === 'unsupported' && /IQ2_XXS/.test(e.message));
  assert.throws(() => eng.quantizeRows(15 /* Q8_K: activations only */, x, 1, 256), (e) => e.code === 'unsupported');
  assert.throws(() => eng.quantizeRows(12 /* Q4_K */, new Float32Array(192), 1, 192),
    (e) => e.code === 'argument' && /192 values is not a multiple of the 256-value block of type Q4_K/.test(e.message));
  assert.throws(() => eng.quantizeRows(2, x, 2, 256), (e) => e.code === 'argument');
  const bad = new Float32Array(512);
  bad[300] = NaN;
  assert.throws(() => eng.quantizeRows(12, bad, 2, 256), (e) => e.code === 'argument' && /Value 44 of row 1 is NaN/.test(e.message));
  bad[300] = -Infinity;
  assert.throws(() => eng.quantizeRows(6, bad, 2, 256), (e) => e.code === 'argument' && /infinite/.test(e.message));
  assert.equal(eng.quantizeRows(2, x, 1, 256).length, 8 * 18); // 8 Q4_0 blocks of 18 bytes
});

test('convert refuses a 4-bit type without a quantizer, before writing anything', async () => {
  const out = path.join(work, 'noq.gguf');
  await assert.rejects(convertToFile(ck.dir('untied_gqa'), out, { type: 'q4_0', onWarning: () => {} }),
    (e) => e.code === 'unsupported' && /needs the engine's quantizer/.test(e.message));
  assert.equal(fs.existsSync(out), false);
});

test('a non-finite weight is refused naming the tensor, the row and the value, and no file is left', async () => {
  const dir = makeCheckpoint('nan', QUANT_SHAPES.narrow192, { poison: 'model.layers.2.mlp.up_proj.weight' });
  const out = path.join(work, 'nan.gguf');
  await assert.rejects(convertToFile(dir, out, { type: 'q4_k_m', quantizeRows: (t, d, r, c) => eng.quantizeRows(t, d, r, c) }),
    (e) => e.code === 'format' && /'model\.layers\.2\.mlp\.up_proj\.weight' cannot be quantized to Q5_0: value 7 of row 1 is NaN/.test(e.message));
  assert.equal(fs.existsSync(out), false);
  assert.equal(fs.existsSync(`${out}.partial`), false);
});
