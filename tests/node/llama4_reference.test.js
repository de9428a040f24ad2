// MobileLLM-R1's layout (GGUF architecture llama4, as llama.cpp's converter writes it) against the
// PyTorch reference (tests/ref/llama4_ref.py: a transcription of Hugging Face's Llama-4 text model,
// float64) on random R1-shaped checkpoints (tests/ref/make_llama4_checkpoint.py): the converter's
// file read back by node-llama-cpp's GGUF reader, every position's logits, the KV-cached decode
// path, a no-RoPE layer with Llama 4's attention temperature, and every output weight type.
// llama.cpp itself cannot be the reference: the build node-llama-cpp ships aborts on dense llama4
// files (issue 22).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertHF, OUTPUT_TYPES } from '../../models/convert/convert.js';
import { llama4Checkpoints, referenceLogits, relMaxDiff, scratchDir, engineLogits, LLAMA4_REF, compareRows, checkQuantizedTypes, cachedDecodeLogits } from '../ref/fixtures.js';

const TOL = 1e-5; // max |ours - ref| over a position's logits, as a fraction of that position's logit range
const EXACT = ['r1_gqa_f32', 'r1_mha_bf16', 'r1_nope_temp', 'r1_llama3_pre']; // F32 files of these hold the checkpoint's exact weights (the last with R1's llama-bpe tokenizer)
const quiet = { onWarning: () => {} };

let ck;
let eng;
let work;
before(async () => {
  ck = llama4Checkpoints();
  work = scratchDir('llama4-reference-test');
  eng = await Engine.create();
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

test('the converter writes an R1 checkpoint as llama.cpp does: llama4 keys, dense FFN names, q/k rows not permuted', async () => {
  const file = path.join(work, 'r1.gguf');
  fs.writeFileSync(file, await convertHF(ck.dir('r1_gqa_f32'), { type: 'f32', ...quiet }));
  const info = await readGgufFileInfo(file);
  const md = /** @type {any} */ (info.metadata);
  assert.equal(md.general.architecture, 'llama4');
  const l4 = md.llama4;
  assert.equal(l4.block_count, 4);
  assert.equal(l4.feed_forward_length, 160, 'intermediate_size_mlp is the dense SwiGLU width');
  assert.equal(l4.expert_feed_forward_length, 320, 'intermediate_size is recorded as the expert width');
  assert.equal(l4.expert_count, 1);
  assert.equal(l4.expert_used_count, 1);
  assert.equal(l4.interleave_moe_layer_step, 0);
  assert.equal(l4.attention.sliding_window, 0);
  assert.equal(l4.attention.key_length, 16);
  assert.equal(l4.rope.dimension_count, 16);
  assert.equal(l4.rope.freq_base, 500000);
  assert.equal(md.mobilellm?.rope, undefined, 'no RoPE pattern when every layer has RoPE');
  assert.equal(md.tokenizer.ggml.model, 'gpt2');
  assert.equal(md.tokenizer.ggml.bos_token_id, 264, '<|begin_of_text|> from tokenizer_config.json');
  assert.equal(md.tokenizer.ggml.eos_token_id, 266, '<|eot_id|> from tokenizer_config.json');
  const names = info.fullTensorInfo.map((t) => t.name);
  assert.ok(names.includes('blk.3.ffn_gate.weight') && names.includes('blk.0.ffn_down.weight'));
  assert.ok(!names.includes('output.weight'), 'tied head');
  // Llama 4 rotates the pairs HF stores: attn_q holds q_proj's rows as they are.
  const st = fs.readFileSync(path.join(ck.dir('r1_gqa_f32'), 'model.safetensors'));
  const hlen = Number(st.readBigUInt64LE(0));
  const e = JSON.parse(st.subarray(8, 8 + hlen).toString())['model.layers.1.self_attn.q_proj.weight'];
  const hf = st.subarray(8 + hlen + e.data_offsets[0], 8 + hlen + e.data_offsets[1]);
  const t = info.fullTensorInfo.find((x) => x.name === 'blk.1.attn_q.weight');
  const off = Number(t.fileOffset);
  assert.ok(Buffer.compare(fs.readFileSync(file).subarray(off, off + hf.length), hf) === 0, 'attn_q bytes equal q_proj bytes');

  const pre = await convertHF(ck.dir('r1_llama3_pre'), { type: 'f32', ...quiet });
  fs.writeFileSync(file, pre);
  assert.equal((/** @type {any} */ ((await readGgufFileInfo(file)).metadata)).tokenizer.ggml.pre, 'llama-bpe',
    "Llama 3's split regex is llama.cpp's llama-bpe pre-tokenizer");
});

test('a no-RoPE layer is written as mobilellm.rope.layers with Llama 4\'s temperature keys', async () => {
  const file = path.join(work, 'nope.gguf');
  fs.writeFileSync(file, await convertHF(ck.dir('r1_nope_temp'), { type: 'f32', ...quiet }));
  const md = /** @type {any} */ ((await readGgufFileInfo(file)).metadata);
  assert.deepEqual(md.mobilellm.rope.layers, [true, true, false, true]);
  assert.ok(Math.abs(md.llama4.attention.temperature_scale - 0.1) < 1e-7);
  assert.equal(md.llama4.attention.temperature_length, 4);
});

test(`F32 engine logits equal the Llama-4 PyTorch reference at every position: max |diff| <= ${TOL} x logit range`, async (t) => {
  const seq = ck.tokens.seq40;
  const refs = referenceLogits(EXACT.map((n) => ({ dir: ck.dir(n), tokens: seq })), LLAMA4_REF);
  for (const [i, name] of EXACT.entries()) {
    const worst = compareRows(engineLogits(eng, await convertHF(ck.dir(name), { type: 'f32', ...quiet }), seq), refs[i], name, TOL);
    t.diagnostic(`${name}: max |diff| / range = ${worst.toExponential(2)}`);
  }
  // The BF16 checkpoint written as BF16 holds the same numbers.
  const worst = compareRows(engineLogits(eng, await convertHF(ck.dir('r1_mha_bf16'), { type: 'bf16', ...quiet }), seq), refs[1], 'r1_mha_bf16 as bf16', TOL);
  t.diagnostic(`r1_mha_bf16 as bf16: max |diff| / range = ${worst.toExponential(2)}`);
});

test('the q/k norm and the RoPE pattern matter: the reference without them is far from the engine', async () => {
  const seq = ck.tokens.seq40;
  const ours = engineLogits(eng, await convertHF(ck.dir('r1_nope_temp'), { type: 'f32', ...quiet }), seq);
  const variants = [['use_qk_norm', false], ['no_rope_layers', [1, 1, 1, 1]], ['attn_temperature_tuning', false]];
  const dirs = variants.map(([key, value]) => {
    const d = path.join(work, `variant-${key}`);
    fs.cpSync(ck.dir('r1_nope_temp'), d, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    cfg[key] = value;
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify(cfg));
    return d;
  });
  const refs = referenceLogits(dirs.map((dir) => ({ dir, tokens: seq })), LLAMA4_REF);
  const nVocab = refs[0].length / seq.length;
  for (const [i, [key]] of variants.entries()) {
    let worst = 0;
    for (let p = 0; p < seq.length; p++) worst = Math.max(worst, relMaxDiff(ours[p], refs[i].subarray(p * nVocab, (p + 1) * nVocab)));
    assert.ok(worst > 1000 * TOL, `changing ${key} moves the reference by only ${worst}`);
  }
});

test(`KV-cached decode (prefill 10, then one token at a time) equals the full reference run (<= ${TOL} x range)`, async (t) => {
  const seq = ck.tokens.seq100;
  const refs = referenceLogits(EXACT.map((n) => ({ dir: ck.dir(n), tokens: seq })), LLAMA4_REF);
  for (const [i, name] of EXACT.entries()) {
    const model = eng.loadModel(await convertHF(ck.dir(name), { type: 'f32', ...quiet }));
    try {
      const worst = compareRows(cachedDecodeLogits(model, seq), refs[i], `${name} decode`, TOL);
      t.diagnostic(`${name} decode: max |diff| / range = ${worst.toExponential(2)}`);
    } finally {
      model.free();
    }
  }
});

// Quantized files (fixtures.js QUANT_BOUNDS): this model's rows of 64 and 160 values are not whole
// 256-blocks, so the K and IQ4_XS types fall back to 32-block types as llama-quantize does.
// Measured on it: Q8_0 max |diff| / range 1.8e-2 with 39/40 argmax equal to the reference's; the
// 4- and 5-bit types 0.08-0.18 with 35-39/40.

test('every output weight type converts, loads and stays within its quantization error of the reference', async (t) => {
  const seq = ck.tokens.seq40;
  const [ref] = referenceLogits([{ dir: ck.dir('r1_gqa_f32'), tokens: seq }], LLAMA4_REF);
  const types = Object.keys(OUTPUT_TYPES).filter((ty) => ty !== 'f32' && ty !== 'bf16'); // exact, checked above
  await checkQuantizedTypes(t, eng, { dir: ck.dir('r1_gqa_f32'), seq, ref, types, convertHF, quiet });
});

test('the converter refuses what the llama4 layout cannot hold, each with its reason', async () => {
  const cases = [
    [{ num_local_experts: 16 }, /mixture-of-experts layers .* not supported/],
    [{ interleave_moe_layer_step: 1 }, /mixture-of-experts/],
    [{ moe_layers: [1, 3] }, /mixture-of-experts/],
    [{ layer_types: ['chunked_attention', 'full_attention', 'full_attention', 'full_attention'] }, /chunked attention is not supported/],
    [{ layer_types: null, attention_chunk_size: 128 }, /attention_chunk_size 128 below the context 512/],
    [{ use_qk_norm: false }, /use_qk_norm false/],
    [{ no_rope_layers: [1, 1, 2, 1] }, /no_rope_layers must list 0 or 1/],
    [{ rope_scaling: { rope_type: 'llama3', factor: 8 } }, /rope_scaling/],
    [{ rope_parameters: { rope_type: 'llama3', rope_theta: 500000, factor: 8 } }, /only plain RoPE/],
    [{ rope_parameters: { rope_type: 'default', rope_theta: 10000 } }, /disagree/],
  ];
  for (const [edit, re] of cases) {
    const d = path.join(work, 'refuse');
    fs.rmSync(d, { recursive: true, force: true });
    fs.cpSync(ck.dir('r1_gqa_f32'), d, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(d, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg, ...edit }));
    await assert.rejects(convertHF(d, { type: 'f32', ...quiet }), (e) => e.name === 'ConvertError' && re.test(e.message), JSON.stringify(edit));
  }
  // rope_parameters (newer transformers) carries the base as rope_theta did; absent, Llama 4's is 500000.
  const base = await convertHF(ck.dir('r1_gqa_f32'), { type: 'f32', ...quiet });
  for (const edit of [{ rope_theta: undefined, rope_parameters: { rope_type: 'default', rope_theta: 500000 } }, { rope_theta: undefined }]) {
    const dd = path.join(work, 'rope-params');
    fs.rmSync(dd, { recursive: true, force: true });
    fs.cpSync(ck.dir('r1_gqa_f32'), dd, { recursive: true });
    const c = JSON.parse(fs.readFileSync(path.join(dd, 'config.json'), 'utf8'));
    fs.writeFileSync(path.join(dd, 'config.json'), JSON.stringify({ ...c, ...edit }));
    assert.deepEqual(await convertHF(dd, { type: 'f32', ...quiet }), base, JSON.stringify(edit));
  }
  // Without layer_types, a chunk at least the context long is full attention; without
  // no_rope_layers, Hugging Face's default leaves every 4th layer without RoPE.
  const d = path.join(work, 'refuse');
  const cfg = JSON.parse(fs.readFileSync(path.join(ck.dir('r1_gqa_f32'), 'config.json'), 'utf8'));
  delete cfg.layer_types;
  delete cfg.no_rope_layers;
  fs.writeFileSync(path.join(d, 'config.json'), JSON.stringify({ ...cfg, attention_chunk_size: 512 }));
  const file = path.join(work, 'default-pattern.gguf');
  fs.writeFileSync(file, await convertHF(d, { type: 'f32', ...quiet }));
  const md = /** @type {any} */ ((await readGgufFileInfo(file)).metadata);
  assert.deepEqual(md.mobilellm.rope.layers, [true, true, true, false]);
});
