// MobileLLM-Pro's layout (Hugging Face MobileLLMP1ForCausalLM → GGUF architecture mobilellm-p1,
// this project's key set: models/README.md) against the PyTorch reference (tests/ref/pro_ref.py,
// float64) on random Pro-shaped checkpoints (tests/ref/pro_make_checkpoint.py: Pro's layer
// pattern, global on layers 0, 4 and the last, a window of 8): every position's logits to five
// windows, the KV-cached decode to twelve (ring caches on the windowed layers), the windowed
// layers' own RoPE base and q/k norm, every output weight type, and what the converter refuses.
// llama.cpp has no Pro architecture, so it cannot be the reference.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertHF, OUTPUT_TYPES } from '../../models/convert/convert.js';
import { GGUF_ARCH, GGUF_ARCHITECTURE, archKey } from '../../lib/gguf_keys.js';
import { proCheckpoints, referenceLogits, relMaxDiff, argmax, scratchDir, engineLogits, PRO_REF, compareRows, safetensorsBytes, checkQuantizedTypes, cachedDecodeLogits } from '../ref/fixtures.js';

const TOL = 1e-5; // max |ours - ref| over a position's logits, as a fraction of that position's logit range
const PRESETS = ['pro_f32', 'pro_local_base_bf16']; // pro_int4 has its own test
const quiet = { onWarning: () => {} };

let ck;
let eng;
let work;
before(async () => {
  ck = proCheckpoints();
  work = scratchDir('pro-reference-test');
  eng = await Engine.create();
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

/** A copy of preset `name` with config.json edited by `edit` (keys set to undefined are dropped). */
function variant(name, label, edit) {
  const d = path.join(work, `variant-${label}`);
  fs.rmSync(d, { recursive: true, force: true });
  fs.cpSync(ck.dir(name), d, { recursive: true });
  const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg, ...edit }));
  return d;
}

test('the converter writes a Pro checkpoint as mobilellm-p1: window, per-layer pattern, RoPE bases, q/k norm, stop ids, chat template', async () => {
  const file = path.join(work, 'pro.gguf');
  fs.writeFileSync(file, await convertHF(ck.dir('pro_f32'), { type: 'f32', ...quiet }));
  let info = await readGgufFileInfo(file);
  let md = /** @type {any} */ (info.metadata);
  assert.equal(md.general.architecture, 'mobilellm-p1');
  const p1 = md['mobilellm-p1'];
  assert.equal(p1.block_count, 6);
  assert.equal(p1.embedding_length, 64);
  assert.equal(p1.feed_forward_length, 160);
  assert.equal(p1.attention.head_count, 4);
  assert.equal(p1.attention.head_count_kv, 2);
  assert.equal(p1.attention.sliding_window, 8);
  assert.deepEqual(p1.attention.sliding_window_pattern, [false, true, true, true, false, false], 'global on layers 0, 4 and the last');
  assert.equal(p1.rope.freq_base, 500000);
  assert.equal(p1.rope.freq_base_swa, undefined, 'one RoPE base when the config names no local one');
  assert.equal(p1.attention.qk_norm, undefined, 'no q/k norm unless use_qk_norm');
  assert.equal(p1.context_length, 512);
  assert.equal(md.mobilellm?.rope, undefined, 'RoPE on every layer');
  const nBase = ck.tokens.n_vocab - 9;
  assert.equal(md.tokenizer.ggml.pre, 'llama4', "Llama 4's split regex");
  assert.equal(md.tokenizer.ggml.bos_token_id, nBase, '<|begin_of_text|>');
  assert.equal(md.tokenizer.ggml.eos_token_id, nBase + 1, '<|end_of_text|>');
  assert.equal(md.tokenizer.ggml.eot_token_id, nBase + 7, '<|eot|>, the second of config.json eos_token_id');
  assert.equal(md.tokenizer.ggml.eom_token_id, nBase + 8, '<|eom|>, the third');
  assert.equal(md.tokenizer.chat_template, fs.readFileSync(path.join(ck.dir('pro_f32'), 'chat_template.jinja'), 'utf8'));
  const names = info.fullTensorInfo.map((t) => t.name);
  assert.ok(names.includes('blk.5.ffn_gate.weight') && !names.includes('output.weight'), 'dense FFN, tied head');
  // RoPE on the pairs as stored (Llama 4's rotation): attn_q holds q_proj's rows unpermuted.
  const st = fs.readFileSync(path.join(ck.dir('pro_f32'), 'model.safetensors'));
  const hlen = Number(st.readBigUInt64LE(0));
  const e = JSON.parse(st.subarray(8, 8 + hlen).toString())['model.layers.1.self_attn.q_proj.weight'];
  const hf = st.subarray(8 + hlen + e.data_offsets[0], 8 + hlen + e.data_offsets[1]);
  const t = info.fullTensorInfo.find((x) => x.name === 'blk.1.attn_q.weight');
  const off = Number(t.fileOffset);
  assert.ok(Buffer.compare(fs.readFileSync(file).subarray(off, off + hf.length), hf) === 0, 'attn_q bytes equal q_proj bytes');

  fs.writeFileSync(file, await convertHF(ck.dir('pro_local_base_bf16'), { type: 'bf16', ...quiet }));
  md = /** @type {any} */ ((await readGgufFileInfo(file)).metadata);
  assert.equal(md['mobilellm-p1'].rope.freq_base_swa, 100, 'rope_local_base_freq');
  assert.equal(md['mobilellm-p1'].attention.qk_norm, true);

  // The engine stops on all three of config.json's eos ids.
  const model = eng.loadModel(await convertHF(ck.dir('pro_f32'), { type: 'f32', ...quiet }));
  try {
    for (const id of [nBase + 1, nBase + 7, nBase + 8]) assert.ok(model.isEog(id), `id ${id} ends generation`);
    assert.ok(!model.isEog(nBase + 5), '<|header_start|> does not');
  } finally {
    model.free();
  }
});

test(`F32 and BF16 engine logits equal the Pro PyTorch reference at every position to five windows: max |diff| <= ${TOL} x logit range`, async (t) => {
  const seq = ck.tokens.seq40;
  const refs = referenceLogits(PRESETS.map((n) => ({ dir: ck.dir(n), tokens: seq })), PRO_REF);
  for (const [i, name] of PRESETS.entries()) {
    for (const type of name.endsWith('bf16') ? ['f32', 'bf16'] : ['f32']) {
      const worst = compareRows(engineLogits(eng, await convertHF(ck.dir(name), { type, ...quiet }), seq), refs[i], `${name} as ${type}`, TOL);
      t.diagnostic(`${name} as ${type}: max |diff| / range = ${worst.toExponential(2)}`);
    }
  }
});

test('the window, the local RoPE base and the q/k norm matter: the reference without each is far from the engine', async () => {
  const seq = ck.tokens.seq40;
  const ours = engineLogits(eng, await convertHF(ck.dir('pro_local_base_bf16'), { type: 'f32', ...quiet }), seq);
  const variants = [
    ['window', { layer_types: Array(6).fill('full_attention') }],
    ['local-base', { rope_local_base_freq: undefined }],
    ['qk-norm', { use_qk_norm: false }],
  ];
  const refs = referenceLogits(variants.map(([label, edit]) => ({ dir: variant('pro_local_base_bf16', label, edit), tokens: seq })), PRO_REF);
  const nVocab = refs[0].length / seq.length;
  for (const [i, [label]] of variants.entries()) {
    let worst = 0;
    for (let p = 0; p < seq.length; p++) worst = Math.max(worst, relMaxDiff(ours[p], refs[i].subarray(p * nVocab, (p + 1) * nVocab)));
    assert.ok(worst > 1000 * TOL, `without the ${label} the reference moves by only ${worst}`);
  }
});

test(`KV-cached decode to twelve windows (prefill 10, then one token at a time; ring caches) equals the full reference run (<= ${TOL} x range)`, async (t) => {
  const seq = ck.tokens.seq100;
  const refs = referenceLogits(PRESETS.map((n) => ({ dir: ck.dir(n), tokens: seq })), PRO_REF);
  for (const [i, name] of PRESETS.entries()) {
    const model = eng.loadModel(await convertHF(ck.dir(name), { type: 'f32', ...quiet }));
    try {
      const worst = compareRows(cachedDecodeLogits(model, seq), refs[i], `${name} decode`, TOL);
      t.diagnostic(`${name} decode: max |diff| / range = ${worst.toExponential(2)}`);
    } finally {
      model.free();
    }
  }
});

test(`layer sharing stays available: Pro's blocks each run twice (immediate) equal the reference, prompt and decode (<= ${TOL} x range)`, async (t) => {
  const seq = ck.tokens.seq40;
  const [ref] = referenceLogits([{ dir: ck.dir('pro_local_base_bf16'), tokens: seq, repeat: 2 }], PRO_REF);
  const gguf = await convertHF(ck.dir('pro_local_base_bf16'), { type: 'f32', shareRepeat: 2, ...quiet });
  let worst = compareRows(engineLogits(eng, gguf, seq), ref, 'shared x2', TOL);
  t.diagnostic(`shared x2 prompt: max |diff| / range = ${worst.toExponential(2)}`);
  const model = eng.loadModel(gguf);
  const ctx = model.newContext({ nCtx: 64, nBatch: 4 });
  try {
    const rows = [];
    for (const tok of seq) {
      ctx.eval([tok]);
      rows.push(ctx.logits(-1));
    }
    worst = compareRows(rows, ref, 'shared x2 decode', TOL);
    t.diagnostic(`shared x2 decode: max |diff| / range = ${worst.toExponential(2)}`);
  } finally {
    ctx.free();
    model.free();
  }
});

test('every output weight type converts, loads and stays within its quantization error of the reference', async (t) => {
  const seq = ck.tokens.seq40;
  const [ref] = referenceLogits([{ dir: ck.dir('pro_f32'), tokens: seq }], PRO_REF);
  const types = Object.keys(OUTPUT_TYPES).filter((ty) => ty !== 'f32' && ty !== 'bf16'); // exact, checked above
  await checkQuantizedTypes(t, eng, { dir: ck.dir('pro_f32'), seq, ref, types, convertHF, quiet });
});

test('the converter refuses Pro configs that contradict what it assumes, and int4 checkpoints, each with its reason', async () => {
  const cases = [
    [{ layer_types: ['full_attention', 'chunked_attention', 'sliding_attention', 'sliding_attention', 'full_attention', 'full_attention'] }, /not full_attention or sliding_attention/],
    [{ layer_types: ['full_attention'] }, /each of 6 layers/],
    [{ sliding_window: null }, /sliding_window must be a positive integer/],
    [{ num_local_experts: 16 }, /mixture-of-experts/],
    [{ rope_theta: undefined }, /no rope_theta/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling/],
    [{ use_qk_norm: 'yes' }, /use_qk_norm must be true or false/],
    [{ rope_local_base_freq: -1 }, /rope_local_base_freq must be a positive number/],
  ];
  for (const [edit, re] of cases) {
    await assert.rejects(convertHF(variant('pro_f32', 'refuse', edit), { type: 'f32', ...quiet }),
      (e) => e.name === 'ConvertError' && re.test(e.message), JSON.stringify(edit));
  }
  // Int4 checkpoints whose quantizer Q4_0 cannot hold exactly, or whose parameters are of
  // another kind, are refused naming the tensor.
  const q = 'model.layers.0.self_attn.q_proj.weight';
  const int4Cases = [
    [[[q + '_fake_quantizer.scale', 'F32', [64, 2], f32Bytes(128, (i) => (i === 5 ? 0.1 : 0.0625))]], /'model.layers.0.self_attn.q_proj.weight' has the scale 0.1.* not a positive float16 value/],
    [[[q + '_fake_quantizer.scale', 'F32', [64, 4], f32Bytes(256, () => 0.0625)]], /groups of 16 values, not a multiple of 32/],
    [[[q + '_fake_quantizer.scale', 'F32', [64, 2], f32Bytes(128, () => 0.0625)], [q + '_fake_quantizer.zero_point', 'F32', [64, 2], f32Bytes(128, (i) => (i === 3 ? 1 : 0))]], /non-zero zero point/],
    [[[q.replace('.weight', '.qweight'), 'F32', [2], f32Bytes(2, () => 1)]], /'model.layers.0.self_attn.q_proj.qweight' is a quantization parameter/],
  ];
  for (const [extra, re] of int4Cases) {
    const d = variant('pro_f32', 'int4-refuse', {});
    fs.renameSync(path.join(d, 'model.safetensors'), path.join(d, 'model-00001-of-00002.safetensors'));
    fs.writeFileSync(path.join(d, 'model-00002-of-00002.safetensors'), safetensorsBytes(extra));
    const st = fs.readFileSync(path.join(d, 'model-00001-of-00002.safetensors'));
    const names = Object.keys(JSON.parse(st.subarray(8, 8 + Number(st.readBigUInt64LE(0))).toString()));
    const weightMap = Object.fromEntries(names.map((n) => [n, 'model-00001-of-00002.safetensors']));
    for (const [n] of extra) weightMap[n] = 'model-00002-of-00002.safetensors';
    fs.writeFileSync(path.join(d, 'model.safetensors.index.json'), JSON.stringify({ weight_map: weightMap }));
    await assert.rejects(convertHF(d, { type: 'f32', ...quiet }),
      (e) => e.name === 'ConvertError' && e.code === 'unsupported' && re.test(e.message), String(re));
  }
});

/** n float32 values f(i), as bytes. @param {number} n @param {(i: number) => number} f */
function f32Bytes(n, f) {
  return new Uint8Array(Float32Array.from({ length: n }, (_, i) => f(i)).buffer);
}

test('an int4 checkpoint\'s fake-quantized matrices become Q4_0 holding exactly torch\'s weights, and run within activation rounding of the reference', async (t) => {
  const warnings = [];
  const gguf = await convertHF(ck.dir('pro_int4'), { type: 'f32', onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join(' '), /42 fake-quantized int4 matrices are written as Q4_0/);
  const file = path.join(work, 'int4.gguf');
  fs.writeFileSync(file, gguf);
  const info = await readGgufFileInfo(file);
  // torch's fake-quantized weights (tests/ref/pro_make_checkpoint.py) against the Q4_0 blocks, value for value
  const exp = fs.readFileSync(path.join(ck.dir('expected'), 'pro_int4-dequantized.safetensors'));
  const hlen = Number(exp.readBigUInt64LE(0));
  const header = JSON.parse(exp.subarray(8, 8 + hlen).toString());
  const ggufBytes = fs.readFileSync(file);
  let checked = 0;
  for (const [hfName, e] of Object.entries(header).filter(([n]) => n !== '__metadata__')) {
    const m = /^model\.layers\.(\d+)\.(self_attn|feed_forward)\.(\w+)_proj\.weight$/.exec(hfName);
    assert.ok(m, hfName);
    const ggufName = `blk.${m[1]}.${{ q: 'attn_q', k: 'attn_k', v: 'attn_v', o: 'attn_output', gate: 'ffn_gate', up: 'ffn_up', down: 'ffn_down' }[m[3]]}.weight`;
    const ti = info.fullTensorInfo.find((x) => x.name === ggufName);
    assert.equal(ti.ggmlType, 2, `${ggufName} is Q4_0`);
    const want = new Float32Array(exp.buffer.slice(exp.byteOffset + 8 + hlen + e.data_offsets[0], exp.byteOffset + 8 + hlen + e.data_offsets[1]));
    const blocks = ggufBytes.subarray(Number(ti.fileOffset), Number(ti.fileOffset) + want.length / 32 * 18);
    for (let b = 0; b < want.length / 32; b++) {
      const d = f16(blocks[b * 18] | (blocks[b * 18 + 1] << 8));
      for (let j = 0; j < 32; j++) {
        const nib = j < 16 ? blocks[b * 18 + 2 + j] & 15 : blocks[b * 18 + 2 + j - 16] >> 4;
        const got = Math.fround(d * (nib - 8));
        if (got !== want[b * 32 + j]) assert.fail(`${ggufName} value ${b * 32 + j}: ${got}, torch ${want[b * 32 + j]}`);
      }
    }
    checked++;
  }
  assert.equal(checked, 42);
  const seq = ck.tokens.seq40;
  const [ref] = referenceLogits([{ dir: ck.dir('pro_int4'), tokens: seq }], PRO_REF);
  const nVocab = ref.length / seq.length;
  let worst = 0;
  let same = 0;
  engineLogits(eng, gguf, seq).forEach((row, p) => {
    const r = ref.subarray(p * nVocab, (p + 1) * nVocab);
    worst = Math.max(worst, relMaxDiff(row, r));
    same += argmax(row) === argmax(r);
  });
  t.diagnostic(`int4 as Q4_0 against the fake-quantized reference: max |diff| / range = ${worst.toExponential(2)}, argmax ${same}/${seq.length}`);
  // The weights are exact; what remains is the Q8_0 rounding of the activations Q4_0 is dotted with.
  assert.ok(worst <= 0.05 && same >= 0.9 * seq.length, `${worst}, ${same}/${seq.length}`);
});

/** IEEE half bits to a number. @param {number} h */
function f16(h) {
  const e = (h >> 10) & 31, m = h & 1023, sgn = h & 0x8000 ? -1 : 1;
  if (e === 0) return sgn * m * 2 ** -24;
  return sgn * (1 + m / 1024) * 2 ** (e - 15);
}

/** Where the value of metadata key `key` of GGUF value type `type` starts in `bytes`. */
function valueAt(bytes, key, type) {
  const k = Buffer.from(key);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let at = buf.indexOf(k); at >= 0; at = buf.indexOf(k, at + 1)) {
    if (Number(buf.readBigUInt64LE(at - 8)) === k.length && buf.readUInt32LE(at + k.length) === type) return at + k.length + 4;
  }
  throw new Error(`no key ${key}`);
}

test('the engine refuses a mobilellm-p1 file whose windowed RoPE base is not a finite positive number', async () => {
  const gguf = Buffer.from(await convertHF(ck.dir('pro_local_base_bf16'), { type: 'f32', ...quiet }));
  const at = valueAt(gguf, archKey(GGUF_ARCHITECTURE.MOBILELLM_P1, GGUF_ARCH.ROPE_FREQ_BASE_SWA), 6);
  for (const bad of [-1, 0, Infinity, NaN]) {
    gguf.writeFloatLE(bad, at);
    assert.throws(() => eng.loadModel(gguf), (e) => e.code === 'format' && /rope\.freq_base_swa.*finite value > 0/.test(e.message), String(bad));
  }
  gguf.writeFloatLE(100, at);
  eng.loadModel(gguf).free();
});
