// convert.js — Hugging Face checkpoint (config.json, safetensors, tokenizer) → GGUF (llama
// architecture plus this project's mobilellm.layer_share.* keys; llama4 for MobileLLM-R1's
// Llama4ForCausalLM, as llama.cpp's converter writes it), in plain JS.
//
//   import { convertToFile } from 'mobilellm-wasm/convert';
//   await convertToFile('MobileLLM-125M/', 'out.gguf', { type: 'q8_0' });
//
// Tensor data is produced lazily, one tensor at a time, while the file is written, so memory
// stays near one tensor's size on top of the header.

import { ConvertError } from './errors.js';
import { GGUFWriter, GGUFValueType } from './gguf_writer.js';
import { tensorBytes } from './quant.js';
import { addLlamaMeta } from './llama_meta.js';
import { FILE_TYPES, planTensorTypes } from './quant_recipe.js';
import { GGMLType, ggmlType } from '../../lib/ggml_types.js';
import { GGUF_KEY } from '../../lib/gguf_keys.js';
import { ggufPreTokenizer } from '../../lib/pre_tokenizers.js';
import { hparamsFromConfig, effectiveLayerOrder, SHARE_MODES, CONFIG_LIMITS } from './hf_config.js';
import { describeValue } from './describe.js';
import { parseSpmModel, ggufTokenType, GgufTokenType } from './spm_model.js';
import { SafetensorsFile, SafetensorsSet, memorySource } from './safetensors.js';
import { TorchBinFile } from './pytorch_bin.js';
import { nodeBuiltin } from '../../lib/node_builtin.js';
import { FAKE_QUANT_SCALE, FAKE_QUANT_ZERO_POINT, fakeQuantToQ4_0 } from './int4.js';

/** Output types (--type): llama.cpp's file types, each with its general.file_type and the
 * per-tensor type recipe of quant_recipe.js. */
export const OUTPUT_TYPES = FILE_TYPES;

/** The types quant.js encodes in JS; the others come from opts.quantizeRows (the engine's C). */
const JS_TYPES = new Set([GGMLType.F32, GGMLType.F16, GGMLType.BF16, GGMLType.Q8_0]);

/**
 * Whether converting to file type `typeName` (an OUTPUT_TYPES key) needs opts.quantizeRows.
 * @param {string} typeName
 */
export function needsQuantizer(typeName) {
  return Object.hasOwn(OUTPUT_TYPES, typeName) && !JS_TYPES.has(OUTPUT_TYPES[typeName].base);
}

/**
 * @typedef {object} ConvertOptions
 * @property {string} [type]        an OUTPUT_TYPES key: f32 | f16 | bf16 | q8_0 | q4_0 | q4_k_m | ... (default f16)
 * @property {(i: number, n: number, name: string) => void} [onTensor] called as tensor i of n is converted
 * @property {(type: number, data: Float32Array, nRows: number, nPerRow: number) => Uint8Array} [quantizeRows]
 *                                  the quantizer of the types quant.js does not encode (4/5/6-bit):
 *                                  the engine's, Engine.quantizeRows
 * @property {string} [name]        general.name (default: config _name_or_path or the directory name)
 * @property {number} [shareRepeat] override mobilellm.layer_share.repeat from config.json
 * @property {string} [shareMode]   override mobilellm.layer_share.mode (immediate | repeat_all | reverse)
 * @property {boolean} [unroll]     write every effective layer as its own block (weights copied,
 *                                  repeat 1): a file llama.cpp runs the same, since it ignores
 *                                  the layer_share keys
 * @property {(msg: string) => void} [onWarning] default console.warn
 */

/**
 * The files of a checkpoint, however they were obtained.
 * @typedef {object} CheckpointFiles
 * @property {string} label                     directory name or path, for messages
 * @property {(name: string) => boolean} has
 * @property {(name: string) => Uint8Array} read whole small file
 * @property {(name: string) => import('./safetensors.js').ByteSource} source  random access to a large file
 * @property {() => void} [close]              release what source() opened
 */

const dec = new TextDecoder();
/** Names of quantization parameters (torchao fake quantizers, GPTQ/AWQ and llm-compressor tensors). */
const QUANT_PARAM = /(fake_quant|\.(scales?|zero_points?|zeros|qweight|qzeros|g_idx|weight_scale|weight_zero_point|input_scale)$)/;
/** The most bytes of a file read whole (config and tokenizer files: tokenizer.json of a 200k vocabulary is ~20 MB). */
const MAX_SMALL_FILE = 256 << 20;

/**
 * HF [out, in] rows of q or k, half-split RoPE order → GGUF adjacent-pair order. Exactly
 * llama.cpp's LlamaModel.permute: reshape(n_head, 2, head_dim/2, in).swapaxes(1, 2), i.e.
 * GGUF row (h, 2j + t) is HF row (h, t * head_dim/2 + j).
 * @param {Float32Array} w row-major [rows, cols]
 * @param {number} rows
 * @param {number} cols
 * @param {number} nHead heads these rows are split into (n_head for q, n_head_kv for k)
 * @returns {Float32Array}
 */
export function permuteQK(w, rows, cols, nHead) {
  const headDim = rows / nHead;
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHead; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const src = (h * headDim + t * half + j) * cols;
        const dst = (h * headDim + 2 * j + t) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/**
 * Build the GGUF writer for a checkpoint (tensor data stays lazy until written).
 * @param {CheckpointFiles} files
 * @param {ConvertOptions} [opts]
 * @returns {{writer: GGUFWriter, warnings: string[]}}
 */
export function buildGGUF(files, opts = {}) {
  const typeName = String(opts.type ?? 'f16').toLowerCase();
  const out = Object.hasOwn(OUTPUT_TYPES, typeName) ? OUTPUT_TYPES[typeName] : undefined;
  if (!out) throw new ConvertError(`Output type '${opts.type}' is not one of ${Object.keys(OUTPUT_TYPES).join(', ')}.`, 'unsupported');
  /** @type {string[]} */
  const warnings = [];
  const warn = (msg) => { warnings.push(msg); (opts.onWarning ?? console.warn)(msg); };

  if (!files.has('config.json')) throw new ConvertError(`${files.label} has no config.json.`, 'missing');
  let cfg;
  const cfgBytes = files.read('config.json');
  try {
    cfg = JSON.parse(dec.decode(cfgBytes));
  } catch {
    throw new ConvertError(`${files.label}/config.json is not valid JSON.`);
  }
  const hp = hparamsFromConfig(cfg);
  if (opts.shareRepeat !== undefined) {
    if (!Number.isInteger(opts.shareRepeat) || opts.shareRepeat < 1 || opts.shareRepeat > CONFIG_LIMITS.shareRepeat) {
      throw new ConvertError(`shareRepeat must be an integer from 1 to ${CONFIG_LIMITS.shareRepeat}, not ${describeValue(opts.shareRepeat)}.`);
    }
    hp.shareRepeat = opts.shareRepeat;
  }
  if (opts.shareMode !== undefined) {
    if (!SHARE_MODES.includes(/** @type {any} */ (opts.shareMode))) throw new ConvertError(`shareMode ${describeValue(opts.shareMode)} is not one of ${SHARE_MODES.join(', ')}.`, 'unsupported');
    hp.shareMode = /** @type {any} */ (opts.shareMode);
  }

  // The sizes config.json claims must be the checkpoint's before any array is sized by them.
  const tensors = openWeights(files);
  checkAgainstTensors(hp, tensors);

  // Effective layer → stored block; unrolled files store that many blocks and repeat once.
  const order = opts.unroll ? effectiveLayerOrder(hp.nLayer, hp.shareRepeat, hp.shareMode) : [...Array(hp.nLayer).keys()];
  if (opts.unroll) {
    hp.shareRepeat = 1;
    hp.shareMode = 'immediate';
  }

  const tied = hp.tied || !tensors.has('lm_head.weight');

  const w = new GGUFWriter({ alignment: 32 });
  const name = opts.name ?? (typeof cfg._name_or_path === 'string' && cfg._name_or_path ? cfg._name_or_path.split('/').pop() : files.label.split(/[\\/]/).filter(Boolean).pop());
  addLlamaMeta(w, { ...hp, name: name || 'model', ftype: out.ftype, nLayer: order.length });
  if (out.base !== GGMLType.F32 && out.base !== GGMLType.F16 && out.base !== GGMLType.BF16) {
    w.addU32('general.quantization_version', 2); // ggml's GGML_QNT_VERSION, as llama-quantize writes
  }

  addVocab(w, files, hp);

  // ---- tensors: [HF name, GGUF name, expected HF shape, is a matrix/embedding, q/k head count]
  const qRows = hp.nHead * hp.headDim;
  const kvRows = hp.nHeadKv * hp.headDim;
  /** @type {[string, string, number[], boolean, number][]} */
  const plan = [
    ['model.embed_tokens.weight', 'token_embd.weight', [hp.nVocab, hp.nEmbd], true, 0],
    ['model.norm.weight', 'output_norm.weight', [hp.nEmbd], false, 0],
  ];
  if (!tied) plan.push(['lm_head.weight', 'output.weight', [hp.nVocab, hp.nEmbd], true, 0]);
  // Llama 4 rotates adjacent pairs as HF stores them (llama.cpp: undo_permute = False) and names
  // its dense MLP feed_forward; llama/MobileLLM q/k rows are permuted from HF's half-split RoPE.
  // MobileLLM-Pro is taken to rotate as Llama 4 does (its layout's origin; models/README.md) and
  // may name its MLP either way.
  const llama4 = hp.arch !== 'llama';
  const mlp = hp.arch === 'llama4' || (hp.arch === 'mobilellm-p1' && tensors.has('model.layers.0.feed_forward.gate_proj.weight'))
    ? 'feed_forward.' : 'mlp.';
  order.forEach((src, i) => {
    const p = `model.layers.${src}.`;
    const b = `blk.${i}.`;
    plan.push(
      [p + 'input_layernorm.weight', b + 'attn_norm.weight', [hp.nEmbd], false, 0],
      [p + 'self_attn.q_proj.weight', b + 'attn_q.weight', [qRows, hp.nEmbd], true, llama4 ? 0 : hp.nHead],
      [p + 'self_attn.k_proj.weight', b + 'attn_k.weight', [kvRows, hp.nEmbd], true, llama4 ? 0 : hp.nHeadKv],
      [p + 'self_attn.v_proj.weight', b + 'attn_v.weight', [kvRows, hp.nEmbd], true, 0],
      [p + 'self_attn.o_proj.weight', b + 'attn_output.weight', [hp.nEmbd, qRows], true, 0],
      [p + 'post_attention_layernorm.weight', b + 'ffn_norm.weight', [hp.nEmbd], false, 0],
      [p + mlp + 'gate_proj.weight', b + 'ffn_gate.weight', [hp.nFf, hp.nEmbd], true, 0],
      [p + mlp + 'up_proj.weight', b + 'ffn_up.weight', [hp.nFf, hp.nEmbd], true, 0],
      [p + mlp + 'down_proj.weight', b + 'ffn_down.weight', [hp.nEmbd, hp.nFf], true, 0],
    );
  });

  // Fake-quantized int4 matrices (MobileLLM-Pro's int4 checkpoints): written as Q4_0, exactly.
  /** @type {Map<string, {scale: string, zeroPoint: string|null}>} */
  const int4 = new Map();
  for (const [hfName, , , isMatrix] of plan) {
    if (isMatrix && tensors.has(hfName + FAKE_QUANT_SCALE)) {
      int4.set(hfName, { scale: hfName + FAKE_QUANT_SCALE, zeroPoint: tensors.has(hfName + FAKE_QUANT_ZERO_POINT) ? hfName + FAKE_QUANT_ZERO_POINT : null });
    }
  }
  if (int4.size > 0) warn(`${int4.size} fake-quantized int4 matrices are written as Q4_0, which holds them exactly; the output type applies to the other tensors.`);

  // Every checkpoint tensor must have a place: dropping one silently would change the model.
  const planned = new Set(plan.map((p) => p[0]));
  for (const q of int4.values()) {
    planned.add(q.scale);
    if (q.zeroPoint) planned.add(q.zeroPoint);
  }
  for (const n of tensors.names()) {
    if (planned.has(n) || n.endsWith('.rotary_emb.inv_freq')) continue; // inv_freq is recomputed from rope_theta
    if (n === 'lm_head.weight' && tied) continue; // with share_embedding the embedding is the head
    if (QUANT_PARAM.test(n)) {
      throw new ConvertError(`The checkpoint tensor '${n}' is a quantization parameter (an int4 or fake-quantized checkpoint such as MobileLLM-Pro's int4 ones), which the converter cannot map exactly; convert the BF16 checkpoint and choose --type q4_0 or another.`, 'unsupported');
    }
    throw new ConvertError(`The checkpoint tensor '${n}' has no place in a llama-architecture GGUF.`, 'missing');
  }

  // Per-tensor types as llama-quantize chooses them for this file type (quant_recipe.js).
  const types = planTensorTypes(typeName, plan.map((p) => ({ name: p[1], ne: [...p[2]].reverse() })),
    { nLayer: order.length, nHead: hp.nHead, nHeadKv: hp.nHeadKv });
  for (const [hfName, ggufName] of plan) if (int4.has(hfName)) types.set(ggufName, GGMLType.Q4_0);
  if (!opts.quantizeRows && plan.some((p) => !int4.has(p[0]) && !JS_TYPES.has(/** @type {number} */ (types.get(p[1]))))) {
    throw new ConvertError(`Output type '${typeName}' needs the engine's quantizer (convert through the package API or CLI).`, 'unsupported');
  }

  let done = 0;
  for (const [hfName, ggufName, shape, isMatrix, permuteHeads] of plan) {
    const e = tensors.entry(hfName);
    if (!e) throw new ConvertError(`The checkpoint has no tensor '${hfName}'.`, 'missing');
    if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
      throw new ConvertError(`The checkpoint tensor '${hfName}' has shape [${e.shape}], but config.json implies [${shape}].`);
    }
    if (!['F32', 'F16', 'BF16'].includes(e.dtype)) {
      throw new ConvertError(`The checkpoint tensor '${hfName}' has dtype ${e.dtype}, which the converter does not support (F32, F16, BF16).`, 'unsupported');
    }
    const ne = [...shape].reverse(); // HF [out, in] is ggml ne [in, out]
    const type = /** @type {number} */ (types.get(ggufName));
    const q4 = int4.get(hfName);
    if (q4) {
      const se = /** @type {NonNullable<ReturnType<typeof tensors.entry>>} */ (tensors.entry(q4.scale));
      const ze = q4.zeroPoint ? tensors.entry(q4.zeroPoint) : null;
      const groups = se.shape.length === 2 && se.shape[0] === shape[0] ? se.shape[1] : se.shape.length === 1 && se.shape[0] === shape[0] ? 1 : 0;
      if (groups < 1 || shape[1] % groups !== 0) {
        throw new ConvertError(`The int4 scale tensor '${q4.scale}' has shape [${se.shape}], not [${shape[0]}, groups] for the weight's [${shape}].`);
      }
      if (ze && (ze.shape.length !== se.shape.length || ze.shape.some((d, i) => d !== se.shape[i]))) {
        throw new ConvertError(`The int4 zero-point tensor '${q4.zeroPoint}' has shape [${ze.shape}], not its scale's [${se.shape}].`);
      }
      w.addTensor(ggufName, GGMLType.Q4_0, ne, () => {
        opts.onTensor?.(++done, plan.length, ggufName);
        let data = tensors.readF32(hfName).data;
        let scale = tensors.readF32(q4.scale).data;
        let zp = q4.zeroPoint ? tensors.readF32(q4.zeroPoint).data : null;
        if (permuteHeads) {
          data = permuteQK(data, shape[0], shape[1], permuteHeads);
          scale = permuteQK(scale, shape[0], groups, permuteHeads);
          if (zp) zp = permuteQK(zp, shape[0], groups, permuteHeads);
        }
        return fakeQuantToQ4_0(data, shape[0], shape[1], scale, groups, zp, hfName);
      });
      continue;
    }
    if (isMatrix && type === GGMLType.F16 && out.base !== GGMLType.F16) {
      warn(`Tensor '${ggufName}' has rows of ${ne[0]} values, not a multiple of 32, so it is stored as F16 instead of ${ggmlType(out.base)?.name}.`);
    }
    w.addTensor(ggufName, type, ne, () => {
      opts.onTensor?.(++done, plan.length, ggufName);
      let data = tensors.readF32(hfName).data;
      if (permuteHeads) data = permuteQK(data, shape[0], shape[1], permuteHeads);
      if (JS_TYPES.has(type)) return tensorBytes(type, data);
      try {
        return /** @type {NonNullable<ConvertOptions['quantizeRows']>} */ (opts.quantizeRows)(type, data, data.length / ne[0], ne[0]);
      } catch (e) {
        const why = String(e.message).replace(/^./, (c) => c.toLowerCase());
        throw new ConvertError(`The checkpoint tensor '${hfName}' cannot be quantized to ${ggmlType(type)?.name}: ${why}`);
      }
    });
  }
  return { writer: w, warnings };
}

/**
 * config.json against the tensors present: the embedding is [vocab_size, hidden_size] and the
 * blocks are model.layers.0 .. num_hidden_layers - 1, so a hostile number cannot size the
 * vocabulary arrays or the layer plan (every other shape is checked tensor by tensor later).
 * @param {import('./hf_config.js').HParams} hp
 * @param {SafetensorsSet | TorchBinFile} tensors
 */
function checkAgainstTensors(hp, tensors) {
  const emb = tensors.entry('model.embed_tokens.weight');
  if (!emb) throw new ConvertError("The checkpoint has no tensor 'model.embed_tokens.weight'.", 'missing');
  if (emb.shape.length !== 2 || emb.shape[0] !== hp.nVocab || emb.shape[1] !== hp.nEmbd) {
    throw new ConvertError(`The checkpoint tensor 'model.embed_tokens.weight' has shape [${emb.shape}], but config.json says vocab_size ${hp.nVocab} and hidden_size ${hp.nEmbd}.`);
  }
  let blocks = 0;
  for (const n of tensors.names()) {
    const m = /^model\.layers\.(\d{1,7})\./.exec(n);
    if (m) blocks = Math.max(blocks, Number(m[1]) + 1);
  }
  if (blocks !== hp.nLayer) {
    throw new ConvertError(`config.json says num_hidden_layers ${hp.nLayer}, but the checkpoint holds ${blocks} blocks (model.layers.N).`);
  }
}

/** @param {CheckpointFiles} files @returns {SafetensorsSet | TorchBinFile} */
function openWeights(files) {
  if (files.has('model.safetensors')) {
    return new SafetensorsSet([new SafetensorsFile(files.source('model.safetensors'), 'model.safetensors')]);
  }
  if (files.has('model.safetensors.index.json')) {
    let index;
    const indexBytes = files.read('model.safetensors.index.json');
    try {
      index = JSON.parse(dec.decode(indexBytes));
    } catch {
      throw new ConvertError(`${files.label}/model.safetensors.index.json is not valid JSON.`);
    }
    if (!index || typeof index.weight_map !== 'object' || index.weight_map === null || Array.isArray(index.weight_map)) {
      throw new ConvertError('model.safetensors.index.json has no weight_map.', 'missing');
    }
    const shards = [...new Set(Object.values(index.weight_map))];
    for (const s of shards) {
      // A shard is a file beside the index, never a path elsewhere ("../../secret").
      if (typeof s !== 'string' || !/^[\w][\w.-]{0,254}$/.test(s)) {
        throw new ConvertError(`model.safetensors.index.json names the shard ${describeValue(s)}, which is not a file name in the checkpoint.`);
      }
    }
    for (const s of shards) if (!files.has(s)) throw new ConvertError(`${files.label} has no ${s}, a shard named in model.safetensors.index.json.`, 'missing');
    return new SafetensorsSet(shards.map((s) => new SafetensorsFile(files.source(s), s)));
  }
  if (files.has('pytorch_model.bin')) {
    // torch.save zip; read through a restricted unpickler (pytorch_bin.js), tensors in place.
    return new TorchBinFile(files.source('pytorch_model.bin'), 'pytorch_model.bin');
  }
  throw new ConvertError(`${files.label} has no model.safetensors.`, 'missing');
}

/**
 * tokenizer.model (SentencePiece) → tokenizer.ggml.* "llama"; else tokenizer.json (GPT-2
 * byte-level BPE, e.g. SmolLM) → "gpt2".
 * @param {GGUFWriter} w
 * @param {CheckpointFiles} files
 * @param {import('./hf_config.js').HParams} hp
 */
function addVocab(w, files, hp) {
  const tokCfg = files.has('tokenizer_config.json') ? safeJSON(files, 'tokenizer_config.json') : {};
  if (files.has('tokenizer.model')) addSpmVocab(w, files, hp, tokCfg);
  else if (files.has('tokenizer.json')) addGpt2Vocab(w, files, hp, tokCfg);
  else throw new ConvertError(`${files.label} has no tokenizer.model.`, 'missing');
  const template = checkpointChatTemplate(files, tokCfg);
  if (template !== null) w.addString(GGUF_KEY.TOKENIZER_CHAT_TEMPLATE, template);
}

/**
 * The checkpoint's chat template, where transformers finds it: chat_template.jinja (the file
 * newer checkpoints ship) over tokenizer_config.json's chat_template, as its tokenizer loads them; then chat_template.json, the older file its processors read
 * ({"chat_template": ...}), which is all some checkpoints carry. null when none has one.
 * @param {CheckpointFiles} files
 * @param {Record<string, any>} tokCfg tokenizer_config.json
 * @returns {string|null}
 */
function checkpointChatTemplate(files, tokCfg) {
  if (files.has('chat_template.jinja')) return dec.decode(files.read('chat_template.jinja'));
  const fromConfig = chatTemplate(tokCfg.chat_template);
  if (fromConfig !== null || !files.has('chat_template.json')) return fromConfig;
  const json = safeJSON(files, 'chat_template.json');
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new ConvertError(`chat_template.json is ${describeValue(json)}, not an object with a chat_template.`);
  }
  return chatTemplate(json.chat_template, 'chat_template.json');
}

/**
 * tokenizer_config.json's chat_template: a string, or (transformers' named form) a list of
 * {name, template} whose 'default' entry is the chat template; null when there is none.
 * @param {unknown} v
 * @param {string} [where] the file it came from, for the error
 * @returns {string|null}
 */
export function chatTemplate(v, where = 'tokenizer_config.json') {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) {
    const d = v.find((t) => t && typeof t === 'object' && t.name === 'default');
    if (d && typeof d.template === 'string') return d.template;
    if (v.every((t) => t && typeof t === 'object' && typeof t.name === 'string' && typeof t.template === 'string')) return null;
  }
  throw new ConvertError(`${where} chat_template is ${describeValue(v)}, not a string or a list of {name, template}.`);
}

/** @param {CheckpointFiles} files @param {string} name */
function safeJSON(files, name) {
  const bytes = files.read(name);
  try {
    const v = JSON.parse(dec.decode(bytes));
    return v && typeof v === 'object' ? v : {};
  } catch {
    throw new ConvertError(`${files.label}/${name} is not valid JSON.`);
  }
}

/** A boolean from a tokenizer config, or the default when absent or not a boolean. @param {unknown} v @param {boolean} def */
const flag = (v, def) => (typeof v === 'boolean' ? v : def);

/** llama.cpp's does_token_look_special. @param {string} t */
function looksSpecial(t) {
  return ['<pad>', '<mask>', '<2mass>', '[@BOS@]'].includes(t)
    || (t.startsWith('<|') && t.endsWith('|>'))
    || (t.startsWith('<｜') && t.endsWith('｜>'))
    || (t.startsWith('<unused') && t.endsWith('>'));
}

/**
 * Mirrors llama.cpp's _create_vocab_sentencepiece: vocab_size slots, pieces from the model,
 * added_tokens.json / added_tokens_decoder applied on top, the rest "[PAD{i}]" UNUSED.
 */
function addSpmVocab(w, files, hp, tokCfg) {
  const spm = parseSpmModel(files.read('tokenizer.model'));
  const n = hp.nVocab;
  if (spm.pieces.length > n) {
    throw new ConvertError(`tokenizer.model has ${spm.pieces.length} pieces but config.json vocab_size is ${n}.`);
  }
  const tokens = Array.from({ length: n }, (_, i) => `[PAD${i}]`);
  const scores = new Float32Array(n).fill(-10000);
  const types = new Int32Array(n).fill(GgufTokenType.UNUSED);
  for (let i = 0; i < spm.pieces.length; i++) {
    tokens[i] = spm.pieces[i];
    scores[i] = spm.scores[i];
    types[i] = ggufTokenType(spm.types[i]);
  }
  if (files.has('added_tokens.json')) {
    for (const [text, id] of Object.entries(safeJSON(files, 'added_tokens.json'))) {
      if (!Number.isInteger(id) || id < 0 || id >= n) continue; // llama.cpp ignores out-of-range ids
      tokens[id] = text;
      scores[id] = -1000;
      types[id] = GgufTokenType.USER_DEFINED;
    }
  }
  const decoder = tokCfg.added_tokens_decoder;
  if (decoder && typeof decoder === 'object') {
    for (const [idStr, t] of Object.entries(decoder)) {
      const id = Number(idStr);
      if (!Number.isInteger(id) || id < 0 || id >= n || typeof t?.content !== 'string') continue;
      if (t.special || looksSpecial(t.content)) {
        tokens[id] = t.content;
        types[id] = GgufTokenType.CONTROL;
      } else {
        tokens[id] = t.content.replaceAll('\u2581', ' '); // llama.cpp pre-normalizes user-defined spaces
        types[id] = GgufTokenType.USER_DEFINED;
      }
      scores[id] = -1000;
    }
  }
  w.addString(GGUF_KEY.TOKENIZER_MODEL, 'llama');
  w.addString(GGUF_KEY.TOKENIZER_PRE, 'default');
  w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, tokens);
  w.addArray(GGUF_KEY.TOKENIZER_SCORES, GGUFValueType.FLOAT32, scores);
  w.addArray(GGUF_KEY.TOKENIZER_TOKEN_TYPE, GGUFValueType.INT32, types);
  // MobileLLM's tokenizer config leaves the special tokens blank: fall back to the ids the
  // SentencePiece model was trained with, then to LLaMA's 1 / 2 / 0.
  const id = (v, def) => (Number.isInteger(v) && v >= 0 && v < n ? v : def);
  w.addU32(GGUF_KEY.TOKENIZER_BOS_ID, id(hp.bosId, id(spm.trainer.bosId, 1)));
  w.addU32(GGUF_KEY.TOKENIZER_EOS_ID, id(hp.eosId, id(spm.trainer.eosId, 2)));
  w.addU32(GGUF_KEY.TOKENIZER_UNK_ID, id(spm.trainer.unkId, 0));
  const pad = id(hp.padId, id(spm.trainer.padId, -1));
  if (pad >= 0) w.addU32(GGUF_KEY.TOKENIZER_PAD_ID, pad);
  w.addBool(GGUF_KEY.TOKENIZER_ADD_BOS, flag(tokCfg.add_bos_token, true));
  w.addBool(GGUF_KEY.TOKENIZER_ADD_EOS, flag(tokCfg.add_eos_token, false));
  w.addBool(GGUF_KEY.TOKENIZER_ADD_SPACE_PREFIX, spm.normalizer.addDummyPrefix);
}

/** GPT-2 style byte-level BPE from tokenizer.json (SmolLM and most small llama-arch models). */
function addGpt2Vocab(w, files, hp, tokCfg) {
  const tj = safeJSON(files, 'tokenizer.json');
  const model = tj.model;
  if (!model || model.type !== 'BPE' || typeof model.vocab !== 'object' || model.vocab === null || Array.isArray(model.vocab) || !Array.isArray(model.merges)) {
    throw new ConvertError('tokenizer.json is not a BPE tokenizer with vocab and merges.');
  }
  const n = hp.nVocab;
  const tokens = Array.from({ length: n }, (_, i) => `[PAD${i}]`);
  const types = new Int32Array(n).fill(GgufTokenType.UNUSED);
  for (const [text, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || id < 0 || id >= n) throw new ConvertError(`tokenizer.json token '${text}' has id ${id}, outside config.json vocab_size ${n}.`);
    tokens[id] = text;
    types[id] = GgufTokenType.NORMAL;
  }
  if (tj.added_tokens != null && !Array.isArray(tj.added_tokens)) throw new ConvertError('tokenizer.json added_tokens is not a list.');
  for (const t of tj.added_tokens ?? []) {
    if (!Number.isInteger(t?.id) || t.id < 0 || t.id >= n) continue;
    if (typeof t.content !== 'string') throw new ConvertError(`tokenizer.json added token ${t.id} has content ${describeValue(t.content)}, not a string.`);
    tokens[t.id] = t.content;
    types[t.id] = t.special || looksSpecial(t.content) ? GgufTokenType.CONTROL : GgufTokenType.USER_DEFINED;
  }
  const merges = model.merges.map((m, i) => {
    if (typeof m === 'string') return m;
    if (Array.isArray(m) && m.length === 2 && m.every((x) => typeof x === 'string')) return m.join(' ');
    throw new ConvertError(`tokenizer.json merge ${i} is ${describeValue(m)}, not a string or a pair of strings.`);
  });
  // llama.cpp's name for the split: SmolLM's digits, Llama 3's or Llama 4's regex, else GPT-2's
  w.addString(GGUF_KEY.TOKENIZER_MODEL, 'gpt2');
  w.addString(GGUF_KEY.TOKENIZER_PRE, ggufPreTokenizer(tj.pre_tokenizer));
  w.addArray(GGUF_KEY.TOKENIZER_TOKENS, GGUFValueType.STRING, tokens);
  w.addArray(GGUF_KEY.TOKENIZER_TOKEN_TYPE, GGUFValueType.INT32, types);
  w.addArray(GGUF_KEY.TOKENIZER_MERGES, GGUFValueType.STRING, merges);
  // As llama.cpp's SpecialVocab: tokenizer_config.json's bos/eos token text first, config.json's ids after.
  const byText = (v) => {
    const text = typeof v === 'string' ? v : typeof v?.content === 'string' ? v.content : null;
    const t = text === null ? undefined : (tj.added_tokens ?? []).find((a) => a?.content === text && Number.isInteger(a.id) && a.id >= 0 && a.id < n);
    return t ? t.id : null;
  };
  const bos = byText(tokCfg.bos_token) ?? hp.bosId;
  const eos = byText(tokCfg.eos_token) ?? hp.eosId;
  if (bos !== null && bos < n) w.addU32(GGUF_KEY.TOKENIZER_BOS_ID, bos);
  if (eos !== null && eos < n) w.addU32(GGUF_KEY.TOKENIZER_EOS_ID, eos);
  if (hp.padId !== null && hp.padId < n) w.addU32(GGUF_KEY.TOKENIZER_PAD_ID, hp.padId);
  if (hp.arch === 'mobilellm-p1') {
    // Pro stops on several ids (config.json eos_token_id): Llama 4's <|eot|> and <|eom|> go into
    // the end-of-turn and end-of-message keys, which the engine stops on as on eos.
    for (const e of hp.eosIds) {
      if (e >= n) continue;
      if (tokens[e] === '<|eot|>' || tokens[e] === '<|eot_id|>') w.addU32(GGUF_KEY.TOKENIZER_EOT_ID, e);
      else if (tokens[e] === '<|eom|>' || tokens[e] === '<|eom_id|>') w.addU32(GGUF_KEY.TOKENIZER_EOM_ID, e);
    }
  }
  w.addBool(GGUF_KEY.TOKENIZER_ADD_BOS, flag(tokCfg.add_bos_token, templateAddsBos(tj, tokCfg)));
  w.addBool(GGUF_KEY.TOKENIZER_ADD_EOS, flag(tokCfg.add_eos_token, false));
}

/**
 * Whether tokenizer.json's post-processor puts the BOS token before the text, read as
 * llama.cpp's converter reads it (gguf-py SpecialVocab): a TemplateProcessing whose "single"
 * template has more than one entry and starts with a special token that is tokenizer_config's
 * bos_token or cls_token, or any special token when the config lacks either. Llama 3's
 * tokenizer.json adds <|begin_of_text|> so; tokenizer_config's add_bos_token, when set, wins.
 */
function templateAddsBos(tj, tokCfg) {
  const text = (v) => (typeof v === 'string' ? v : typeof v?.content === 'string' ? v.content : null);
  const pp = tj.post_processor;
  const procs = Array.isArray(pp?.processors) ? pp.processors : [pp];
  for (const p of procs) {
    if (p?.type !== 'TemplateProcessing' || !Array.isArray(p.single) || p.single.length < 2) continue;
    const first = p.single[0]?.SpecialToken?.id;
    if (typeof first !== 'string') continue;
    const bos = text(tokCfg.bos_token), cls = text(tokCfg.cls_token);
    // a missing bos_token or cls_token is taken from the template, so then it matches
    return bos === null || cls === null || first === bos || first === cls;
  }
  return false;
}

/**
 * A checkpoint held in memory: file name → bytes (e.g. from a browser file picker).
 * @param {Record<string, Uint8Array>} map
 * @param {string} [label]
 * @returns {CheckpointFiles}
 */
export function memoryFiles(map, label = 'the checkpoint') {
  return {
    label,
    has: (n) => Object.prototype.hasOwnProperty.call(map, n),
    read: (n) => map[n],
    source: (n) => memorySource(map[n]),
  };
}

/**
 * A checkpoint directory on disk (Node). Large files are read per tensor, never whole.
 * @param {string} dir
 * @returns {Promise<CheckpointFiles>}
 */
export async function dirFiles(dir) {
  const fs = await nodeBuiltin('fs');
  const path = await nodeBuiltin('path');
  let st;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new ConvertError(`The checkpoint directory ${dir} does not exist.`, 'missing');
  }
  if (!st.isDirectory()) throw new ConvertError(`${dir} is not a directory.`);
  const p = (n) => path.join(dir, n);
  /** @type {number[]} */
  const fds = [];
  return {
    close: () => { for (const fd of fds.splice(0)) fs.closeSync(fd); },
    label: dir,
    has: (n) => fs.existsSync(p(n)) && fs.statSync(p(n)).isFile(),
    read: (n) => {
      const size = fs.statSync(p(n)).size;
      if (size > MAX_SMALL_FILE) throw new ConvertError(`${p(n)} is ${size} bytes, more than the ${MAX_SMALL_FILE} a ${n} can need.`);
      return new Uint8Array(fs.readFileSync(p(n)));
    },
    source: (n) => {
      const fd = fs.openSync(p(n), 'r');
      fds.push(fd);
      const size = fs.fstatSync(fd).size;
      return {
        size,
        read(offset, length) {
          const buf = new Uint8Array(length);
          for (let done = 0; done < length;) {
            const got = fs.readSync(fd, buf, done, length - done, offset + done);
            if (got === 0) throw new ConvertError(`${p(n)} ended early while reading at byte ${offset + done}.`);
            done += got;
          }
          return buf;
        },
      };
    },
  };
}

/**
 * Convert a checkpoint directory to GGUF bytes in memory.
 * @param {string} dir
 * @param {ConvertOptions} [opts]
 * @returns {Promise<Uint8Array>}
 */
export async function convertHF(dir, opts = {}) {
  const files = await dirFiles(dir);
  try {
    return buildGGUF(files, opts).writer.toBuffer();
  } finally {
    files.close?.();
  }
}

/**
 * Convert a checkpoint directory to a GGUF file, streaming tensor by tensor. The file appears
 * under its name only when complete.
 * @param {string} dir
 * @param {string} outPath
 * @param {ConvertOptions} [opts]
 * @returns {Promise<{warnings: string[]}>}
 */
export async function convertToFile(dir, outPath, opts = {}) {
  const fs = await nodeBuiltin('fs/promises');
  const files = await dirFiles(dir);
  const tmp = `${outPath}.partial`;
  try {
    const { writer, warnings } = buildGGUF(files, opts);
    await writer.writeFile(tmp);
    await fs.rename(tmp, outPath);
    return { warnings };
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  } finally {
    files.close?.();
  }
}
