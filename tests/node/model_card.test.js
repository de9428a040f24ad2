// The model card (Model.info's family, layout, attention pattern, RoPE, q/k norm, layer sharing,
// context, vocabulary, pre-tokenizer and weight-type mix; lib/model_card.js's words for them) on
// the bundled model, a converted MobileLLM-R1-shaped file and a windowed, layer-shared file:
// every value is checked against the file's own keys and tensor table as llama.cpp's GGUF reader
// (node-llama-cpp's readGgufFileInfo) reads them.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readGgufFileInfo } from 'node-llama-cpp';

import { Engine } from '../../wasm_build/engine.js';
import { convertHF, buildGGUF, dirFiles } from '../../models/convert/convert.js';
import { GGUFValueType } from '../../models/convert/gguf_writer.js';
import { GGUF_ARCH, archKey } from '../../lib/gguf_keys.js';
import { GGML_TYPES } from '../../lib/ggml_types.js';
import { modelFamily, FAMILIES } from '../../lib/model_family.js';
import { modelCard, layerRanges } from '../../lib/model_card.js';
import { checkpoints, llama4Checkpoints, scratchDir, ROOT } from '../ref/fixtures.js';

const quiet = { onWarning: () => {} };
let eng;
let work;

before(async () => {
  eng = await Engine.create();
  work = scratchDir('model-card-test');
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** The file's tensors grouped by type as llama.cpp's reader lists them: {type: {tensors, params}}. */
function typeMix(gguf) {
  const mix = {};
  for (const t of gguf.fullTensorInfo) {
    const name = GGML_TYPES.find((x) => x.id === t.ggmlType).name;
    mix[name] ??= { tensors: 0, params: 0 };
    mix[name].tensors++;
    mix[name].params += t.dimensions.reduce((a, b) => a * Number(b), 1);
  }
  return mix;
}

/** Load `file` in the engine and read it with llama.cpp's reader. */
async function both(file) {
  const gguf = await readGgufFileInfo(file);
  const model = eng.loadModel(fs.readFileSync(file));
  return { info: model.info, md: /** @type {any} */ (gguf.metadata), gguf, model };
}

function checkWeightTypes(info, gguf) {
  const mix = typeMix(gguf);
  assert.deepEqual(Object.fromEntries(info.weightTypes.map((t) => [t.type, { tensors: t.tensors, params: t.params }])), mix);
  assert.equal(info.weightTypes.reduce((s, t) => s + t.bytes, 0), info.weightBytes, 'the mix covers every weight byte');
  for (let i = 1; i < info.weightTypes.length; i++) assert.ok(info.weightTypes[i - 1].bytes >= info.weightTypes[i].bytes, 'most bytes first');
}

test('the family comes from one table: architecture first, then general.basename, then general.name', () => {
  assert.equal(modelFamily({ name: 'MobileLLM-125M' }), 'MobileLLM');
  assert.equal(modelFamily({ name: 'MobileLLM-1.5B-layer-share' }), 'MobileLLM');
  assert.equal(modelFamily({ name: 'MobileLLM R1 360M' }), 'MobileLLM-R1', "llama.cpp's converter spells names with spaces");
  assert.equal(modelFamily({ name: 'mobilellm_r1_950m_sft' }), 'MobileLLM-R1');
  assert.equal(modelFamily({ name: 'MobileLLM-Pro' }), 'MobileLLM-Pro');
  assert.equal(modelFamily({ architecture: 'mobilellm-p1', name: 'model' }), 'MobileLLM-Pro');
  assert.equal(modelFamily({ architecture: 'llama', basename: 'MobileLLM-R1', name: 'my finetune' }), 'MobileLLM-R1');
  assert.equal(modelFamily({ architecture: 'llama', name: 'SmolLM-135M' }), 'other');
  assert.equal(modelFamily({ architecture: 'llama', name: null }), 'other');
  assert.deepEqual(FAMILIES.map((f) => f.family), ['MobileLLM-Pro', 'MobileLLM-R1', 'MobileLLM']);
  assert.equal(layerRanges([0, 1, 2, 4, 6, 7]), '0-2, 4, 6-7');
});

test('the bundled model: its card from its own keys (a layer-shared llama layout, global attention)', async () => {
  const { info, md, gguf, model } = await both(path.join(ROOT, 'models/default.gguf'));
  try {
    assert.equal(info.architecture, md.general.architecture);
    assert.equal(info.name, md.general.name);
    assert.equal(info.family, 'other', `general.name '${md.general.name}' names no MobileLLM family`);
    assert.equal(info.nCtxTrain, md.llama.context_length);
    assert.equal(info.ropeTheta, md.llama.rope.freq_base);
    assert.equal(info.nVocab, md.tokenizer.ggml.tokens.length);
    assert.equal(info.preTokenizer, md.tokenizer.ggml.pre ?? null);
    const repeat = md.mobilellm?.layer_share?.repeat ?? 1;
    assert.equal(info.shareRepeat, repeat);
    assert.equal(info.nLayerEffective, md.llama.block_count * repeat);
    assert.equal(info.attention, 'global');
    assert.equal(info.slidingWindow, 0);
    assert.deepEqual(info.windowedLayers, []);
    assert.deepEqual(info.ropeLayers, [...Array(info.nLayerEffective).keys()]);
    assert.equal(info.qkNorm, false);
    checkWeightTypes(info, gguf);
    const card = modelCard(info);
    assert.equal(card.layout, 'llama');
    assert.equal(card.attention, 'global (every layer sees the whole context)');
    assert.equal(card.rope, `every layer, base ${md.llama.rope.freq_base}`);
    assert.match(card.layerSharing, new RegExp(`^each of ${md.llama.block_count} blocks runs x${repeat} `));
    assert.match(card.vocabulary, new RegExp(`^${info.nVocab} tokens, SentencePiece BPE`));
  } finally {
    model.free();
  }
});

test('an R1-shaped file (llama4, as the converter writes MobileLLM-R1): family, qk-norm, RoPE layers, llama-bpe', async () => {
  const ck = llama4Checkpoints();
  const file = path.join(work, 'r1.gguf');
  fs.writeFileSync(file, await convertHF(ck.dir('r1_llama3_pre'), { type: 'q8_0', name: 'MobileLLM-R1-360M', ...quiet }));
  let { info, md, gguf, model } = await both(file);
  try {
    assert.equal(md.general.name, 'MobileLLM-R1-360M');
    assert.equal(info.family, 'MobileLLM-R1');
    assert.equal(info.architecture, 'llama4');
    assert.equal(info.qkNorm, true);
    assert.equal(info.nCtxTrain, md.llama4.context_length);
    assert.equal(info.ropeTheta, md.llama4.rope.freq_base);
    assert.equal(info.attention, 'global', 'attention.sliding_window 0: every layer full attention');
    assert.equal(md.llama4.attention.sliding_window, 0);
    assert.deepEqual(info.ropeLayers, [...Array(md.llama4.block_count).keys()]);
    assert.equal(info.preTokenizer, md.tokenizer.ggml.pre);
    assert.equal(info.preTokenizer, 'llama-bpe');
    assert.equal(info.nVocab, md.tokenizer.ggml.tokens.length);
    assert.equal(info.tokenizer, 'gpt2');
    checkWeightTypes(info, gguf);
    assert.ok(info.weightTypes.some((t) => t.type === 'Q8_0'));
    const card = modelCard(info);
    assert.equal(card.family, 'MobileLLM-R1');
    assert.equal(card.rope, `every layer, base ${md.llama4.rope.freq_base}; q/k RMS norm after RoPE`);
    assert.match(card.vocabulary, /byte-level BPE \(GPT-2 style\), pre-tokenizer llama-bpe$/);
    assert.throws(() => model.layer(info.nLayerEffective), (e) => e.code === 'argument' && /layer 4 is outside 0\.\.3/.test(e.message));
  } finally {
    model.free();
  }

  // a no-RoPE layer (mobilellm.rope.layers): no RoPE and no q/k norm there
  fs.writeFileSync(file, await convertHF(ck.dir('r1_nope_temp'), { type: 'f32', ...quiet }));
  ({ info, md, gguf, model } = await both(file));
  try {
    const want = md.mobilellm.rope.layers.flatMap((on, i) => (on ? [i] : []));
    assert.deepEqual(info.ropeLayers, want);
    assert.equal(info.nRopeLayers, want.length);
    const off = md.mobilellm.rope.layers.indexOf(false);
    assert.deepEqual(model.layer(off), { block: off, rope: false, window: 0, qkNorm: false, ropeTheta: md.llama4.rope.freq_base });
    assert.equal(model.layer(0).qkNorm, true);
    assert.match(modelCard(info).rope, new RegExp(`^layers ${layerRanges(want)} \\(none on ${off}\\)`));
    checkWeightTypes(info, gguf);
  } finally {
    model.free();
  }
});

test('a windowed, layer-shared file: the window and which effective layers use it (local-global)', async () => {
  const ck = checkpoints();
  const files = await dirFiles(ck.dir('ls_tied_gqa'));
  const pattern = [true, false, true, true];
  try {
    const { writer } = buildGGUF(files, { type: 'f16', name: 'MobileLLM-125M-layer-share', ...quiet });
    writer.addU32(archKey('llama', GGUF_ARCH.SLIDING_WINDOW), 32);
    writer.addArray(archKey('llama', GGUF_ARCH.SLIDING_WINDOW_PATTERN), GGUFValueType.BOOL, pattern);
    fs.writeFileSync(path.join(work, 'swa.gguf'), writer.toBuffer());
  } finally {
    files.close?.();
  }
  const { info, md, gguf, model } = await both(path.join(work, 'swa.gguf'));
  try {
    assert.equal(info.family, 'MobileLLM');
    assert.equal(info.slidingWindow, md.llama.attention.sliding_window);
    const repeat = md.mobilellm.layer_share.repeat;
    assert.equal(md.mobilellm.layer_share.mode, 'immediate');
    // immediate sharing (DESIGN.md): effective layer l runs stored block floor(l / repeat)
    const want = [...Array(md.llama.block_count * repeat).keys()].filter((l) => md.llama.attention.sliding_window_pattern[Math.floor(l / repeat)]);
    assert.deepEqual(info.windowedLayers, want);
    assert.equal(info.nWindowedLayers, want.length);
    assert.equal(info.attention, 'local-global');
    for (let l = 0; l < info.nLayerEffective; l++) {
      assert.deepEqual(model.layer(l), { block: Math.floor(l / repeat), rope: true, window: want.includes(l) ? 32 : 0, qkNorm: false,
        ropeTheta: md.llama.rope.freq_base });
    }
    const global = [...Array(info.nLayerEffective).keys()].filter((l) => !want.includes(l));
    assert.equal(modelCard(info).attention,
      `local-global ${want.length}:${global.length}: ${want.length} layers see the last 32 positions, global layers ${layerRanges(global)}`);
    checkWeightTypes(info, gguf);
  } finally {
    model.free();
  }
});

test('a MobileLLM-Pro-shaped file (mobilellm-p1): family by architecture, local-global layers, the windowed layers\' RoPE base', async () => {
  const { proCheckpoints } = await import('../ref/fixtures.js');
  const file = path.join(work, 'pro.gguf');
  fs.writeFileSync(file, await convertHF(proCheckpoints().dir('pro_local_base_bf16'), { type: 'q8_0', ...quiet }));
  const { info, md, gguf, model } = await both(file);
  try {
    const p1 = md['mobilellm-p1'];
    assert.equal(info.architecture, 'mobilellm-p1');
    assert.equal(md.general.name, 'pro_local_base_bf16');
    assert.equal(info.family, 'MobileLLM-Pro', 'by architecture, whatever the name');
    assert.equal(info.slidingWindow, p1.attention.sliding_window);
    const want = p1.attention.sliding_window_pattern.flatMap((on, i) => (on ? [i] : []));
    assert.ok(want.length > 0 && want.length < p1.block_count);
    assert.deepEqual(info.windowedLayers, want);
    assert.equal(info.attention, 'local-global');
    assert.equal(info.qkNorm, Boolean(p1.attention.qk_norm ?? false));
    assert.equal(info.ropeTheta, p1.rope.freq_base);
    assert.notEqual(p1.rope.freq_base_swa, p1.rope.freq_base, 'this checkpoint has a local RoPE base');
    assert.equal(info.ropeThetaWindowed, p1.rope.freq_base_swa);
    assert.equal(model.layer(want[0]).ropeTheta, p1.rope.freq_base_swa);
    const global = [...Array(info.nLayerEffective).keys()].filter((l) => !want.includes(l));
    assert.equal(model.layer(global[0]).ropeTheta, p1.rope.freq_base);
    assert.match(modelCard(info).rope, new RegExp(`^every layer, base ${p1.rope.freq_base} \\(windowed layers ${p1.rope.freq_base_swa}\\)`));
    assert.match(modelCard(info).attention, new RegExp(`global layers ${layerRanges(global)}$`));
    checkWeightTypes(info, gguf);
  } finally {
    model.free();
  }
});
