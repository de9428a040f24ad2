// hf_config.js — Hugging Face config.json → the hyper-parameters a llama-architecture GGUF needs.
// Understands model_type "mobilellm" (share_embedding, layer_sharing) and "llama" (which is also
// how SmolLM ships: tie_word_embeddings, num_key_value_heads, head_dim).
import { ConvertError } from './errors.js';
import { describeValue } from './describe.js';

/**
 * The largest value each config.json number may take, checked before anything is built from it.
 * Far above every model in the family (MobileLLM-Pro: vocab 202k, context 128k; 1.5B: 54 layers,
 * width 1600) and low enough that arrays sized by them fit in memory. headDim and shareRepeat
 * are the engine's own limits (src/model.c head dimension, src/model.h MLLM_MAX_SHARE_REPEAT).
 */
export const CONFIG_LIMITS = Object.freeze({
  num_hidden_layers: 1024,
  hidden_size: 65536,
  intermediate_size: 262144,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 4096,
  vocab_size: 1 << 21,
  max_position_embeddings: 1 << 24,
  shareRepeat: 16,
});

/**
 * @typedef {'immediate'|'repeat_all'|'reverse'} ShareMode
 * @typedef {object} HParams
 * @property {string} modelType
 * @property {number} nVocab
 * @property {number} nEmbd
 * @property {number} nFf
 * @property {number} nHead
 * @property {number} nHeadKv
 * @property {number} headDim
 * @property {number} nLayer      stored blocks (num_hidden_layers)
 * @property {number} nCtx
 * @property {number} ropeTheta
 * @property {number} rmsEps
 * @property {boolean} tied       the head is the embedding (share_embedding / tie_word_embeddings)
 * @property {number} shareRepeat how many times each stored block runs (1 = no sharing)
 * @property {ShareMode} shareMode
 * @property {number|null} bosId  from config.json, null when blank
 * @property {number|null} eosId
 * @property {number|null} padId
 */

export const SHARE_MODES = /** @type {const} */ (['immediate', 'repeat_all', 'reverse']);

const SUPPORTED_TYPES = ['mobilellm', 'llama'];

/**
 * @param {Record<string, any>} cfg parsed config.json
 * @returns {HParams}
 */
export function hparamsFromConfig(cfg) {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new ConvertError('config.json does not hold a JSON object.');
  }
  const modelType = cfg.model_type ?? (isMobileLLMArch(cfg) ? 'mobilellm' : '');
  if (!SUPPORTED_TYPES.includes(modelType)) {
    throw new ConvertError(`config.json has model_type ${describeValue(modelType)}, which the converter does not support (mobilellm, llama).`, 'unsupported');
  }

  /** @param {keyof typeof CONFIG_LIMITS} key */
  const posInt = (key) => {
    const v = cfg[key];
    const max = CONFIG_LIMITS[key];
    if (v === undefined || v === null) throw new ConvertError(`config.json is missing the key '${key}'.`, 'missing');
    if (!Number.isInteger(v) || v <= 0) throw new ConvertError(`config.json key '${key}' must be a positive integer, not ${describeValue(v)}.`);
    if (v > max) throw new ConvertError(`config.json key '${key}' is ${v}, beyond the ${max} the converter supports.`, 'unsupported');
    return v;
  };
  /** @param {string} key @param {number} def */
  const optNum = (key, def) => {
    const v = cfg[key];
    if (v === undefined || v === null) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 3.4e38) {
      throw new ConvertError(`config.json key '${key}' must be a positive number that fits a float32, not ${describeValue(v)}.`);
    }
    return v;
  };

  const nEmbd = posInt('hidden_size');
  const nHead = posInt('num_attention_heads');
  const nHeadKv = cfg.num_key_value_heads == null ? nHead : posInt('num_key_value_heads');
  if (nHead % nHeadKv !== 0) {
    throw new ConvertError(`config.json num_attention_heads ${nHead} is not a multiple of num_key_value_heads ${nHeadKv}.`);
  }
  let headDim;
  if (cfg.head_dim == null) {
    if (nEmbd % nHead !== 0) throw new ConvertError(`config.json hidden_size ${nEmbd} is not a multiple of num_attention_heads ${nHead} and no head_dim is given.`);
    headDim = nEmbd / nHead;
  } else {
    headDim = posInt('head_dim');
  }
  if (headDim % 2 !== 0) throw new ConvertError(`config.json head_dim ${headDim} is odd, which RoPE cannot rotate in pairs.`);

  // Features the llama graph has no place for: refuse rather than convert into a different model.
  const act = cfg.hidden_act ?? cfg.hidden_activation ?? 'silu';
  if (act !== 'silu') throw new ConvertError(`config.json hidden_act ${describeValue(act)} is not supported (only silu, for SwiGLU).`, 'unsupported');
  for (const key of ['attention_bias', 'mlp_bias']) {
    if (cfg[key] === true) throw new ConvertError(`config.json sets '${key}' true, but biases are not supported.`, 'unsupported');
  }
  if (cfg.rope_scaling != null) {
    throw new ConvertError(`config.json sets 'rope_scaling' (${describeValue(cfg.rope_scaling)}), which is not supported.`, 'unsupported');
  }

  const { repeat, mode } = layerShareFromConfig(cfg);

  /** @param {string} key */
  const optId = (key) => (Number.isInteger(cfg[key]) && cfg[key] >= 0 ? cfg[key] : null);

  return {
    modelType,
    nVocab: posInt('vocab_size'),
    nEmbd,
    nFf: posInt('intermediate_size'),
    nHead,
    nHeadKv,
    headDim,
    nLayer: posInt('num_hidden_layers'),
    nCtx: cfg.max_position_embeddings == null ? 2048 : posInt('max_position_embeddings'),
    ropeTheta: optNum('rope_theta', 10000),
    rmsEps: optNum('rms_norm_eps', 1e-5),
    tied: cfg.share_embedding === true || cfg.tie_word_embeddings === true,
    shareRepeat: repeat,
    shareMode: mode,
    bosId: optId('bos_token_id'),
    eosId: optId('eos_token_id'),
    padId: optId('pad_token_id'),
  };
}

/** @param {Record<string, any>} cfg */
function isMobileLLMArch(cfg) {
  return Array.isArray(cfg.architectures) && cfg.architectures.some((a) => typeof a === 'string' && /mobilellm/i.test(a));
}

/**
 * MobileLLM-LS checkpoints say `layer_sharing: true` (each block runs twice, immediately). Other
 * spellings seen in MobileLLM code (`share_layer`, `layer_share`) are accepted too; an integer
 * gives the repeat count directly. An optional `layer_sharing_mode` picks the order.
 * @param {Record<string, any>} cfg
 * @returns {{repeat: number, mode: ShareMode}}
 */
export function layerShareFromConfig(cfg) {
  let repeat = 1;
  for (const key of ['layer_sharing', 'share_layer', 'layer_share']) {
    const v = cfg[key];
    if (v === undefined || v === null || v === false) continue;
    if (v === true) repeat = 2;
    else if (Number.isInteger(v) && v >= 1 && v <= CONFIG_LIMITS.shareRepeat) repeat = v;
    else throw new ConvertError(`config.json key '${key}' must be true, false or a repeat count from 1 to ${CONFIG_LIMITS.shareRepeat}, not ${describeValue(v)}.`);
    break;
  }
  const mode = cfg.layer_sharing_mode ?? cfg.layer_share_mode ?? 'immediate';
  if (!SHARE_MODES.includes(mode)) {
    throw new ConvertError(`config.json layer sharing mode ${describeValue(mode)} is not one of ${SHARE_MODES.join(', ')}.`, 'unsupported');
  }
  return { repeat, mode };
}

/**
 * Stored block run at each effective layer (the engine's schedule, DESIGN.md): immediate
 * l / repeat; repeat_all l % n; reverse: pass p = l / n, j = l % n, p even ? j : n - 1 - j.
 * @param {number} nStored
 * @param {number} repeat
 * @param {ShareMode} mode
 * @returns {number[]}
 */
export function effectiveLayerOrder(nStored, repeat, mode) {
  return Array.from({ length: nStored * repeat }, (_, l) => {
    if (mode === 'immediate') return Math.floor(l / repeat);
    const j = l % nStored;
    if (mode === 'repeat_all') return j;
    return Math.floor(l / nStored) % 2 === 0 ? j : nStored - 1 - j;
  });
}
