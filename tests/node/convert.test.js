// The HF → GGUF converter, checked against independent readers and references: node-llama-cpp's
// GGUF reader for the file, Debian's sentencepiece for the vocabulary, a numpy transcription of
// llama.cpp's permute for q/k, and llama.cpp itself running the converted file against the
// PyTorch reference forward pass.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo, getLlama } from 'node-llama-cpp';

import { convertHF, convertToFile, buildGGUF, memoryFiles } from '../../models/convert/convert.js';
import { LLAMA3_REGEX, LLAMA4_REGEX } from '../../lib/pre_tokenizers.js';
import { checkpoints, referenceLogits, scratchDir, python, relMaxDiff, argmax, llamaCppLogits, safetensorsBytes } from '../ref/fixtures.js';

const GGML = { F32: 0, F16: 1, Q8_0: 8 };
let ck;
let work;

before(() => {
  ck = checkpoints();
  work = scratchDir('convert-test');
});

after(() => fs.rmSync(work, { recursive: true, force: true }));

const quiet = { onWarning: () => {} };

/** Convert to a file in the scratch dir and read it back with node-llama-cpp's reader. */
async function convertAndRead(dir, opts, name) {
  const out = path.join(work, `${name}.gguf`);
  const { warnings } = await convertToFile(dir, out, { ...quiet, ...opts });
  const info = await readGgufFileInfo(out);
  const tensors = new Map(info.fullTensorInfo.map((t) => [t.name, t]));
  return { out, info, md: info.metadata, tensors, warnings };
}

/** Tensor data as float32 (F32 tensors only). */
function tensorF32(file, t) {
  const n = t.dimensions.reduce((a, b) => a * Number(b), 1);
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(n * 4);
  fs.readSync(fd, buf, 0, buf.length, Number(t.fileOffset));
  fs.closeSync(fd);
  return new Float32Array(buf.buffer, buf.byteOffset, n);
}

/** A copy of a fixture checkpoint with config.json edited / files removed or added. */
function variant(from, name, { config, remove = [], write = {} } = {}) {
  const d = path.join(work, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.cpSync(ck.dir(from), d, { recursive: true });
  if (config) {
    const p = path.join(d, 'config.json');
    fs.writeFileSync(p, JSON.stringify(config(JSON.parse(fs.readFileSync(p, 'utf8')))));
  }
  for (const f of remove) fs.rmSync(path.join(d, f));
  for (const [f, bytes] of Object.entries(write)) fs.writeFileSync(path.join(d, f), bytes);
  return d;
}

/** Every tensor of a fixture's model.safetensors, re-read: [name, dtype, shape, bytes][] */
function readSafetensors(file) {
  const b = fs.readFileSync(file);
  const n = Number(b.readBigUInt64LE(0));
  const header = JSON.parse(b.subarray(8, 8 + n).toString());
  return Object.entries(header).filter(([k]) => k !== '__metadata__')
    .map(([name, e]) => [name, e.dtype, e.shape, new Uint8Array(b.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]))]);
}

test('F32 conversion writes the llama hyper-parameters of config.json (read back by node-llama-cpp)', async () => {
  const { md, tensors } = await convertAndRead(ck.dir('untied_gqa'), { type: 'f32' }, 'untied_gqa');
  assert.equal(md.general.architecture, 'llama');
  assert.equal(md.general.name, 'untied_gqa');
  assert.equal(md.general.file_type, 0);
  const l = md.llama;
  assert.deepEqual(
    [l.context_length, l.embedding_length, l.block_count, l.feed_forward_length, l.attention.head_count,
      l.attention.head_count_kv, l.rope.dimension_count, l.rope.freq_base, l.vocab_size],
    [512, 64, 4, 160, 4, 2, 16, 10000, 408]);
  assert.equal(l.attention.layer_norm_rms_epsilon, Math.fround(1e-5));
  assert.equal(md.mobilellm.layer_share.repeat, 1);
  // 2 globals + output + 9 per block; HF [out, in] becomes ne [in, out]
  assert.equal(tensors.size, 3 + 9 * 4);
  const shape = (n) => tensors.get(n).dimensions.map(Number);
  assert.deepEqual(shape('token_embd.weight'), [64, 408]);
  assert.deepEqual(shape('output.weight'), [64, 408]);
  assert.deepEqual(shape('blk.3.attn_q.weight'), [64, 64]);
  assert.deepEqual(shape('blk.3.attn_k.weight'), [64, 32]);
  assert.deepEqual(shape('blk.3.attn_v.weight'), [64, 32]);
  assert.deepEqual(shape('blk.3.attn_output.weight'), [64, 64]);
  assert.deepEqual(shape('blk.3.ffn_gate.weight'), [64, 160]);
  assert.deepEqual(shape('blk.3.ffn_down.weight'), [160, 64]);
  assert.deepEqual(shape('blk.3.ffn_norm.weight'), [64]);
  for (const t of tensors.values()) assert.equal(t.ggmlType, GGML.F32, t.name);
});

test('tokenizer.ggml.* equals what sentencepiece reports, typed as llama.cpp maps piece types', async () => {
  const { md } = await convertAndRead(ck.dir('untied_gqa'), { type: 'f32' }, 'untied_gqa_vocab');
  // llama.cpp's _create_vocab_sentencepiece: IsUnknown 2, IsControl 3, IsUnused 5, IsByte 6, else 1
  const spm = JSON.parse(python(['-c', `
import json, sentencepiece as s
p = s.SentencePieceProcessor(model_file=${JSON.stringify(path.join(ck.dir('untied_gqa'), 'tokenizer.model'))})
t = lambda i: 2 if p.IsUnknown(i) else 3 if p.IsControl(i) else 5 if p.IsUnused(i) else 6 if p.IsByte(i) else 1
n = p.get_piece_size()
print(json.dumps({"pieces": [p.IdToPiece(i) for i in range(n)], "scores": [p.GetScore(i) for i in range(n)],
                  "types": [t(i) for i in range(n)], "bos": p.bos_id(), "eos": p.eos_id(), "unk": p.unk_id()}))`]));
  const g = md.tokenizer.ggml;
  assert.equal(g.model, 'llama');
  const n = spm.pieces.length;
  assert.deepEqual(g.tokens.slice(0, n), spm.pieces);
  assert.deepEqual(g.scores.slice(0, n), spm.scores.map(Math.fround));
  assert.deepEqual([...g.token_type.slice(0, n)], spm.types);
  assert.ok(spm.types.includes(6) && spm.types.includes(3), 'fixture has byte and control pieces');
  // vocab_size 408 > 400 pieces: llama.cpp's [PAD{i}] slots, UNUSED, score -10000
  assert.deepEqual(g.tokens.slice(n), Array.from({ length: 8 }, (_, i) => `[PAD${n + i}]`));
  assert.deepEqual([...g.token_type.slice(n)], Array(8).fill(5));
  assert.deepEqual([...g.scores.slice(n)], Array(8).fill(-10000));
  assert.deepEqual([g.bos_token_id, g.eos_token_id, g.unknown_token_id], [spm.bos, spm.eos, spm.unk]);
  assert.equal(g.padding_token_id, undefined, 'pad_id -1 in the model: no padding token');
  assert.equal(g.add_bos_token, true);
  assert.equal(g.add_space_prefix, true);
});

test('added_tokens_decoder in tokenizer_config.json retypes tokens as llama.cpp does (special: control, else user-defined)', async () => {
  const d = variant('untied_gqa', 'added_tokens', {
    write: { 'tokenizer_config.json': JSON.stringify({ added_tokens_decoder: {
      0: { content: '<unk>', special: true }, 4: { content: '<sep>', special: false }, 401: { content: '<|im_end|>', special: false },
    } }) },
  });
  const { md } = await convertAndRead(d, { type: 'f32' }, 'added_tokens');
  const g = md.tokenizer.ggml;
  assert.deepEqual([g.tokens[0], g.token_type[0], g.scores[0]], ['<unk>', 3, -1000]);
  assert.deepEqual([g.tokens[4], g.token_type[4], g.scores[4]], ['<sep>', 4, -1000]);
  assert.deepEqual([g.tokens[401], g.token_type[401]], ['<|im_end|>', 3], 'looks special');
});

test('blank special tokens in config.json fall back to bos 1 / eos 2 / unk 0', async () => {
  // tied_mha_f16's config.json has no bos_token_id / eos_token_id
  const cfg = JSON.parse(fs.readFileSync(path.join(ck.dir('tied_mha_f16'), 'config.json'), 'utf8'));
  assert.equal(cfg.bos_token_id, undefined);
  const { md } = await convertAndRead(ck.dir('tied_mha_f16'), { type: 'f32' }, 'tied_mha_f16');
  const g = md.tokenizer.ggml;
  assert.deepEqual([g.bos_token_id, g.eos_token_id, g.unknown_token_id], [1, 2, 0]);
});

test('without tokenizer.model, a GPT-2 BPE tokenizer.json (SmolLM style) becomes tokenizer.ggml.model gpt2', async () => {
  const vocab = { '<|endoftext|>': 0, a: 1, b: 2, 'Ġ': 3, ab: 4, 'Ġab': 5 };
  const tj = {
    model: { type: 'BPE', vocab, merges: ['a b', ['Ġ', 'ab']] },
    added_tokens: [{ id: 0, content: '<|endoftext|>', special: true }, { id: 6, content: 'plain', special: false }],
    pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Digits', individual_digits: true }, { type: 'ByteLevel' }] },
  };
  const d = variant('untied_gqa', 'gpt2_tok', {
    remove: ['tokenizer.model', 'tokenizer_config.json'],
    config: (c) => ({ ...c, model_type: 'llama', bos_token_id: 0, eos_token_id: 0 }),
    write: { 'tokenizer.json': JSON.stringify(tj) },
  });
  const { md } = await convertAndRead(d, { type: 'f32' }, 'gpt2_tok');
  const g = md.tokenizer.ggml;
  assert.equal(g.model, 'gpt2');
  assert.equal(g.pre, 'smollm');
  assert.deepEqual(g.tokens.slice(0, 8), ['<|endoftext|>', 'a', 'b', 'Ġ', 'ab', 'Ġab', 'plain', '[PAD7]']);
  assert.deepEqual([...g.token_type.slice(0, 8)], [3, 1, 1, 1, 1, 1, 4, 5]);
  assert.deepEqual(g.merges, ['a b', 'Ġ ab']);
  assert.deepEqual([g.bos_token_id, g.eos_token_id, g.add_bos_token], [0, 0, false]);
});

test('a Llama-3 tokenizer.json becomes pre llama-bpe with BOS added (its TemplateProcessing), a Llama-4 one pre llama4', async () => {
  // llama.cpp's converter: the pre-tokenizer by its regex (convert_hf_to_gguf get_vocab_base_pre:
  // "llama-bpe", "llama4"), add_bos_token from TemplateProcessing unless tokenizer_config sets it
  const vocab = { '<|begin_of_text|>': 0, a: 1, b: 2, 'Ġ': 3, ab: 4, 'Ġab': 5 };
  const split = (regex) => ({ type: 'Sequence', pretokenizers: [
    { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false }] });
  const template = { type: 'Sequence', processors: [{ type: 'ByteLevel' }, { type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }] }] };
  const cases = [
    [LLAMA3_REGEX, template, { bos_token: '<|begin_of_text|>' }, 'llama-bpe', true],
    [LLAMA3_REGEX, template, { bos_token: '<|begin_of_text|>', add_bos_token: false }, 'llama-bpe', false],
    [LLAMA4_REGEX, null, { bos_token: '<|begin_of_text|>' }, 'llama4', false],
  ];
  for (const [i, [regex, post, cfg, pre, addBos]] of cases.entries()) {
    const tj = { model: { type: 'BPE', vocab, merges: ['a b', 'Ġ ab'] }, added_tokens: [{ id: 0, content: '<|begin_of_text|>', special: true }],
      pre_tokenizer: split(regex), post_processor: post };
    const d = variant('untied_gqa', `llama3_tok${i}`, {
      remove: ['tokenizer.model', 'tokenizer_config.json'],
      config: (c) => ({ ...c, model_type: 'llama', bos_token_id: 0, eos_token_id: 0 }),
      write: { 'tokenizer.json': JSON.stringify(tj), 'tokenizer_config.json': JSON.stringify(cfg) },
    });
    const { md } = await convertAndRead(d, { type: 'f32' }, `llama3_tok${i}`);
    assert.deepEqual([md.tokenizer.ggml.pre, md.tokenizer.ggml.add_bos_token], [pre, addBos], `case ${i}`);
  }
});

test('q/k rows are permuted exactly like llama.cpp convert_hf_to_gguf permute (n_head for q, n_head_kv for k)', async () => {
  const { out, tensors } = await convertAndRead(ck.dir('untied_gqa'), { type: 'f32' }, 'untied_gqa_perm');
  const refFile = path.join(work, 'qk.f32');
  python(['tests/ref/mobilellm_ref.py', ck.dir('untied_gqa'), '--permuted-qk', '1', '--out', refFile]);
  const b = fs.readFileSync(refFile);
  const ref = new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  const q = tensorF32(out, tensors.get('blk.1.attn_q.weight'));
  const k = tensorF32(out, tensors.get('blk.1.attn_k.weight'));
  assert.deepEqual(q, ref.subarray(0, q.length));
  assert.deepEqual(k, ref.subarray(q.length));
  // and the permutation is not the identity, so the check above means something
  const src = readSafetensors(path.join(ck.dir('untied_gqa'), 'model.safetensors'))
    .find((e) => e[0] === 'model.layers.1.self_attn.k_proj.weight')[3];
  assert.notDeepEqual(k, new Float32Array(src.buffer, src.byteOffset, src.length / 4));
  // other matrices keep the checkpoint's bytes
  const v = tensorF32(out, tensors.get('blk.1.attn_v.weight'));
  const vsrc = readSafetensors(path.join(ck.dir('untied_gqa'), 'model.safetensors'))
    .find((e) => e[0] === 'model.layers.1.self_attn.v_proj.weight')[3];
  assert.deepEqual(v, new Float32Array(vsrc.buffer.slice(vsrc.byteOffset, vsrc.byteOffset + vsrc.length)));
});

test('layer_sharing true becomes mobilellm.layer_share.repeat 2, mode immediate; false becomes repeat 1', async () => {
  const shared = await convertAndRead(ck.dir('ls_tied_gqa'), { type: 'f32' }, 'ls_tied_gqa');
  assert.equal(shared.md.mobilellm.layer_share.repeat, 2);
  assert.equal(shared.md.mobilellm.layer_share.mode, 'immediate');
  assert.equal(shared.md.llama.block_count, 4, 'block_count counts stored blocks');
  const plain = await convertAndRead(ck.dir('tied_mha_f16'), { type: 'f32' }, 'tied_mha_plain');
  assert.equal(plain.md.mobilellm.layer_share.repeat, 1);
  const other = await convertAndRead(variant('ls_tied_gqa', 'ls_share_layer', {
    config: (c) => { delete c.layer_sharing; c.share_layer = true; return c; },
  }), { type: 'f32', shareMode: 'reverse' }, 'ls_share_layer');
  assert.equal(other.md.mobilellm.layer_share.repeat, 2, "the 'share_layer' spelling");
  assert.equal(other.md.mobilellm.layer_share.mode, 'reverse');
});

test('unroll writes every effective layer as its own block in the sharing order', async () => {
  const { out, md, tensors } = await convertAndRead(ck.dir('ls_tied_gqa'), { type: 'f32', unroll: true, shareMode: 'reverse' }, 'ls_unrolled');
  assert.equal(md.llama.block_count, 8);
  assert.equal(md.mobilellm.layer_share.repeat, 1);
  const src = new Map(readSafetensors(path.join(ck.dir('ls_tied_gqa'), 'model.safetensors')).map((e) => [e[0], e[3]]));
  // reverse over 4 stored blocks: 0 1 2 3 3 2 1 0
  [0, 1, 2, 3, 3, 2, 1, 0].forEach((b, l) => {
    const want = src.get(`model.layers.${b}.mlp.up_proj.weight`);
    assert.deepEqual(tensorF32(out, tensors.get(`blk.${l}.ffn_up.weight`)),
      new Float32Array(want.buffer.slice(want.byteOffset, want.byteOffset + want.length)), `layer ${l}`);
  });
});

test('tied checkpoints have no output.weight and an unused lm_head.weight is ignored', async () => {
  const tied = await convertAndRead(ck.dir('ls_tied_gqa'), { type: 'f32' }, 'tied');
  assert.equal(tied.tensors.has('output.weight'), false);
  assert.equal(tied.tensors.size, 2 + 9 * 4);
  // untied_gqa carries lm_head.weight; saying share_embedding makes it the unused tensor of 600M+
  const d = variant('untied_gqa', 'share_with_lm_head', { config: (c) => ({ ...c, share_embedding: true }) });
  const r = await convertAndRead(d, { type: 'f32' }, 'share_with_lm_head');
  assert.equal(r.tensors.has('output.weight'), false);
  assert.equal(r.tensors.size, 2 + 9 * 4);
});

test('Q8_0: matrices and embeddings are Q8_0, norms stay F32, file_type 7', async () => {
  const { md, tensors, warnings } = await convertAndRead(ck.dir('untied_gqa'), { type: 'q8_0' }, 'q8');
  assert.equal(md.general.file_type, 7);
  assert.deepEqual(warnings, []);
  for (const t of tensors.values()) {
    assert.equal(t.ggmlType, t.name.endsWith('norm.weight') ? GGML.F32 : GGML.Q8_0, t.name);
  }
});

test('Q8_0 falls back to F16 for a tensor whose rows are not a multiple of 32, and says so', async () => {
  // intermediate_size 48: ffn_down rows (ne0 = 48) cannot be Q8_0 blocks
  const cfg = (c) => ({ ...c, intermediate_size: 48, num_hidden_layers: 1 });
  const all = readSafetensors(path.join(ck.dir('ls_tied_gqa'), 'model.safetensors'));
  const f32 = (n) => new Uint8Array(new Float32Array(n).map((_, i) => Math.sin(i) * 0.1).buffer);
  const entries = all.filter(([n]) => !/layers\.[1-9]\./.test(n)).map(([n, dt, shape, data]) => {
    if (/gate_proj|up_proj/.test(n)) return [n, 'F32', [48, 64], f32(48 * 64)];
    if (/down_proj/.test(n)) return [n, 'F32', [64, 48], f32(64 * 48)];
    return [n, dt, shape, data];
  });
  const d = variant('ls_tied_gqa', 'ffn48', { config: cfg, write: { 'model.safetensors': safetensorsBytes(entries) } });
  const { tensors, warnings } = await convertAndRead(d, { type: 'q8_0' }, 'ffn48');
  assert.equal(tensors.get('blk.0.ffn_down.weight').ggmlType, GGML.F16);
  assert.equal(tensors.get('blk.0.ffn_up.weight').ggmlType, GGML.Q8_0);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /'blk\.0\.ffn_down\.weight'.*48.*F16/);
});

test('a sharded checkpoint (model.safetensors.index.json) converts to the same bytes as one file', async () => {
  const all = readSafetensors(path.join(ck.dir('untied_gqa'), 'model.safetensors'));
  const half = Math.floor(all.length / 2);
  const shards = { 'model-00001-of-00002.safetensors': all.slice(0, half), 'model-00002-of-00002.safetensors': all.slice(half) };
  const weightMap = {};
  for (const [f, es] of Object.entries(shards)) for (const e of es) weightMap[e[0]] = f;
  const d = variant('untied_gqa', 'sharded', {
    remove: ['model.safetensors'],
    write: {
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
      ...Object.fromEntries(Object.entries(shards).map(([f, es]) => [f, safetensorsBytes(es)])),
    },
  });
  const a = await convertHF(d, { type: 'f16', name: 'x', ...quiet });
  const b = await convertHF(ck.dir('untied_gqa'), { type: 'f16', name: 'x', ...quiet });
  assert.ok(Buffer.from(a).equals(Buffer.from(b)));
});

test('in-memory files (the browser path, unaligned tensor offsets) convert to the same bytes as the directory', async () => {
  const dir = ck.dir('ls_untied_mha_bf16');
  const entries = readSafetensors(path.join(dir, 'model.safetensors'));
  // an unpadded header one byte off 4-alignment: every tensor's data starts at an odd address
  let st;
  for (let pad = 0; !st || (8 + st.readUInt32LE(0)) % 2 === 0; pad++) st = safetensorsBytes(entries, { pad: 'x'.repeat(pad) });
  const map = { 'model.safetensors': new Uint8Array(st) };
  for (const f of ['config.json', 'tokenizer.model', 'tokenizer_config.json']) map[f] = new Uint8Array(fs.readFileSync(path.join(dir, f)));
  const a = buildGGUF(memoryFiles(map, 'ls_untied_mha_bf16'), { type: 'q8_0', ...quiet }).writer.toBuffer();
  const b = await convertHF(dir, { type: 'q8_0', ...quiet });
  assert.ok(Buffer.from(a).equals(Buffer.from(b)));
});

test('errors are one sentence naming the missing file, key, tensor or unsupported dtype', async () => {
  const fails = async (dir, re) => {
    await assert.rejects(convertHF(dir, { type: 'f32', ...quiet }), (e) => {
      assert.match(e.message, re);
      assert.equal(e.message.trim().split(/(?<=\.)\s+(?=[A-Z])/).length, 1, `one sentence: ${e.message}`);
      return true;
    });
  };
  await fails(variant('untied_gqa', 'no_config', { remove: ['config.json'] }), /has no config\.json\.$/);
  await fails(variant('untied_gqa', 'no_key', { config: (c) => { delete c.hidden_size; return c; } }),
    /config\.json is missing the key 'hidden_size'\./);
  await fails(variant('untied_gqa', 'no_tok', { remove: ['tokenizer.model'] }), /has no tokenizer\.model\.$/);
  await fails(variant('untied_gqa', 'no_weights', { remove: ['model.safetensors'] }), /has no model\.safetensors\.$/);
  const all = readSafetensors(path.join(ck.dir('untied_gqa'), 'model.safetensors'));
  const noUp = all.filter((e) => e[0] !== 'model.layers.2.mlp.up_proj.weight');
  await fails(variant('untied_gqa', 'no_tensor', { write: { 'model.safetensors': safetensorsBytes(noUp) } }),
    /has no tensor 'model\.layers\.2\.mlp\.up_proj\.weight'\./);
  const i32 = all.map((e) => (e[0] === 'model.norm.weight' ? [e[0], 'I32', e[2], e[3]] : e));
  await fails(variant('untied_gqa', 'i32', { write: { 'model.safetensors': safetensorsBytes(i32) } }),
    /tensor 'model\.norm\.weight' has dtype I32, which the converter does not support \(F32, F16, BF16\)\./);
  await fails(variant('untied_gqa', 'gelu', { config: (c) => ({ ...c, model_type: 'gpt2' }) }),
    /model_type 'gpt2', which the converter does not support/);
});

test('llama.cpp (f32 KV cache) runs converted files like the PyTorch reference: max |diff| <= 1e-5 x logit range', async (t) => {
  // Unshared checkpoints as they are; layer-shared ones unrolled (llama.cpp ignores layer_share).
  // F16 and BF16 checkpoints too, so the dtype paths of the reader are covered.
  const cases = [['untied_gqa', {}], ['tied_mha_f16', {}], ['ls_tied_gqa', { unroll: true }],
    ['ls_untied_mha_bf16', { unroll: true, shareMode: 'repeat_all' }]];
  const seq = ck.tokens.seq40;
  const refs = referenceLogits(cases.map(([n, o]) => ({ dir: ck.dir(n), tokens: seq, mode: o.shareMode })));
  const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  for (const [i, [name, opts]] of cases.entries()) {
    const out = path.join(work, `${name}.llamacpp.gguf`);
    await convertToFile(ck.dir(name), out, { type: 'f32', ...opts, ...quiet });
    const rows = await llamaCppLogits(llama, out, seq, { f32Kv: true });
    const nVocab = refs[i].length / seq.length;
    let worst = 0;
    for (let p = 0; p < seq.length; p++) {
      const ref = refs[i].subarray(p * nVocab, (p + 1) * nVocab);
      worst = Math.max(worst, relMaxDiff(rows[p], ref));
      assert.equal(argmax(rows[p]), argmax(ref), `${name} position ${p}`);
    }
    assert.ok(worst <= 1e-5, `${name}: max |diff| / range = ${worst}`);
    t.diagnostic(`${name}: llama.cpp vs reference max |diff| / range = ${worst.toExponential(2)}`);
  }
});
