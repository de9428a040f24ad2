// hf_config.js — Hugging Face config.json → the hyper-parameters a llama-architecture GGUF needs.
// Understands model_type "mobilellm" (share_embedding, layer_sharing), "llama" (which is also
// how SmolLM ships: tie_word_embeddings, num_key_value_heads, head_dim) and "llama4_text"
// (MobileLLM-R1's Llama4ForCausalLM: dense, q/k norm, RoPE on adjacent pairs; GGUF arch llama4),
// and MobileLLM-Pro's MobileLLMP1ForCausalLM (its Llama-4 text layout with local-global
// attention; GGUF arch mobilellm-p1, this project's key set: models/README.md).
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
  intermediate_size_mlp: 262144,
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
 * @property {number[]} eosIds     every id of config.json's eos_token_id (a number or a list)
 * @property {number|null} padId
 * @property {'llama'|'llama4'|'mobilellm-p1'} arch  the GGUF architecture
 * @property {Llama4Params|null} llama4 the llama4 extras (arch 'llama4')
 * @property {ProParams|null} pro      the mobilellm-p1 extras (arch 'mobilellm-p1')
 */

/**
 * MobileLLM-Pro's attention layout, from its config.json: layer_types (full_attention or
 * sliding_attention per layer) with sliding_window; the RoPE pattern and temperature read as
 * Llama 4's; q/k norm only where use_qk_norm says so; a windowed layers' RoPE base when the
 * config names one (rope_local_base_freq, Gemma 3's key).
 * @typedef {object} ProParams
 * @property {number} window            sliding_window (0 when no layer is windowed)
 * @property {number[]} swaLayers       per layer 1 = sliding_attention, 0 = full_attention
 * @property {number|null} ropeThetaSwa the windowed layers' RoPE base; null: rope_theta everywhere
 * @property {boolean} qkNorm           use_qk_norm
 * @property {number[]|null} ropeLayers per layer 1 = RoPE, 0 = none; null: RoPE on every layer
 * @property {number} tempScale         Llama 4's attention temperature of no-RoPE layers (0: none)
 * @property {number} tempLength
 */

/**
 * What llama.cpp's converter writes for a dense Llama-4 text model (MobileLLM-R1), and the
 * per-layer RoPE pattern and attention temperature of Hugging Face's Llama4TextAttention.
 * @typedef {object} Llama4Params
 * @property {number|null} expertCount       num_local_experts (0 or 1), written when present
 * @property {number|null} expertUsedCount   num_experts_per_tok, written when present
 * @property {number} expertFf               intermediate_size (the expert width llama.cpp records)
 * @property {number} moeStep                interleave_moe_layer_step (0)
 * @property {boolean} headDimGiven          config.json names head_dim (llama.cpp then writes key/value lengths)
 * @property {number[]|null} ropeLayers      per layer 1 = RoPE, 0 = none; null when every layer has RoPE
 * @property {number} tempScale              attention temperature of no-RoPE layers (0: none)
 * @property {number} tempLength             its floor_scale
 */

export const SHARE_MODES = /** @type {const} */ (['immediate', 'repeat_all', 'reverse']);

const SUPPORTED_TYPES = ['mobilellm', 'llama', 'llama4_text'];
/** Hugging Face's class of MobileLLM-Pro (its model_type is not relied on: the class decides). */
export const PRO_ARCHITECTURE = 'MobileLLMP1ForCausalLM';

/**
 * @param {Record<string, any>} cfg parsed config.json
 * @returns {HParams}
 */
export function hparamsFromConfig(cfg) {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new ConvertError('config.json does not hold a JSON object.');
  }
  const isPro = Array.isArray(cfg.architectures) && cfg.architectures.includes(PRO_ARCHITECTURE);
  const modelType = isPro ? String(cfg.model_type ?? 'mobilellm_p1')
    : cfg.model_type ?? (isMobileLLMArch(cfg) ? 'mobilellm' : isLlama4Arch(cfg) ? 'llama4_text' : '');
  if (!isPro && !SUPPORTED_TYPES.includes(modelType)) {
    throw new ConvertError(`config.json has model_type ${describeValue(modelType)}, which the converter does not support (${SUPPORTED_TYPES.join(', ')}).`, 'unsupported');
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
  /** @param {unknown} v @param {string} key */
  const optNumOf = (v, key) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0 || v > 3.4e38) {
      throw new ConvertError(`config.json key '${key}' must be a positive number that fits a float32, not ${describeValue(v)}.`);
    }
    return v;
  };
  /** @param {string} key @param {number} def */
  const optNum = (key, def) => (cfg[key] === undefined || cfg[key] === null ? def : optNumOf(cfg[key], key));

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
  // Newer transformers write rope_parameters {rope_type, rope_theta} in place of rope_theta.
  const ropeParams = cfg.rope_parameters;
  if (ropeParams != null) {
    if (typeof ropeParams !== 'object' || Array.isArray(ropeParams) || (ropeParams.rope_type ?? 'default') !== 'default') {
      throw new ConvertError(`config.json sets 'rope_parameters' (${describeValue(ropeParams)}); only plain RoPE (rope_type default) is supported.`, 'unsupported');
    }
    if (ropeParams.rope_theta != null && cfg.rope_theta != null && ropeParams.rope_theta !== cfg.rope_theta) {
      throw new ConvertError(`config.json gives rope_theta ${describeValue(cfg.rope_theta)} and rope_parameters.rope_theta ${describeValue(ropeParams.rope_theta)}, which disagree.`);
    }
  }

  const { repeat, mode } = layerShareFromConfig(cfg);
  const nLayer = posInt('num_hidden_layers');
  const nCtx = cfg.max_position_embeddings == null ? 2048 : posInt('max_position_embeddings');
  const llama4 = !isPro && modelType === 'llama4_text' ? llama4FromConfig(cfg, nLayer, nCtx, posInt) : null;
  const pro = isPro ? proFromConfig(cfg, nLayer) : null;
  if (pro && cfg.rope_theta == null && ropeParams?.rope_theta == null) {
    throw new ConvertError('config.json of MobileLLM-Pro has no rope_theta; its default is not known to the converter, so it will not guess one.', 'missing');
  }

  /** An id, or the first of a list of ids (Llama 3's eos_token_id lists several). @param {string} key */
  const optId = (key) => {
    const v = Array.isArray(cfg[key]) ? cfg[key][0] : cfg[key];
    return Number.isInteger(v) && v >= 0 ? v : null;
  };

  return {
    modelType,
    arch: pro ? 'mobilellm-p1' : llama4 ? 'llama4' : 'llama',
    llama4,
    pro,
    nVocab: posInt('vocab_size'),
    nEmbd,
    nFf: (llama4 || pro) && cfg.intermediate_size_mlp != null ? posInt('intermediate_size_mlp') : posInt('intermediate_size'),
    nHead,
    nHeadKv,
    headDim,
    nLayer,
    nCtx,
    // Llama 4's default base is 500000 (Hugging Face Llama4TextConfig); llama and MobileLLM's 10000.
    ropeTheta: ropeParams?.rope_theta != null ? optNumOf(ropeParams.rope_theta, 'rope_parameters.rope_theta')
      : optNum('rope_theta', modelType === 'llama4_text' ? 500000 : 10000),
    rmsEps: optNum('rms_norm_eps', 1e-5),
    // MobileLLM-Pro shares its embedding (model card, tech report) unless the config says otherwise.
    tied: cfg.share_embedding === true || cfg.tie_word_embeddings === true || (pro !== null && cfg.tie_word_embeddings !== false),
    shareRepeat: repeat,
    shareMode: mode,
    bosId: optId('bos_token_id'),
    eosId: optId('eos_token_id'),
    eosIds: (Array.isArray(cfg.eos_token_id) ? cfg.eos_token_id : [cfg.eos_token_id]).filter((v) => Number.isInteger(v) && v >= 0),
    padId: optId('pad_token_id'),
  };
}

/**
 * A Llama-4 text config as MobileLLM-R1 ships it, checked for what the llama4 GGUF and the
 * engine can express: dense (no experts, no MoE layers), full attention on every layer, q/k norm.
 * no_rope_layers' 1 means "this layer uses RoPE" (Hugging Face Llama4TextAttention.use_rope);
 * R1 lists 1 for every layer. Absent, Hugging Face's default leaves every no_rope_layer_interval-th
 * (4th) layer without RoPE.
 * @param {Record<string, any>} cfg
 * @param {number} nLayer
 * @param {number} nCtx
 * @param {(key: any) => number} posInt
 * @returns {Llama4Params}
 */
function llama4FromConfig(cfg, nLayer, nCtx, posInt) {
  const count = (key) => {
    const v = cfg[key];
    if (v == null) return null;
    if (!Number.isInteger(v) || v < 0 || v > 1 << 16) throw new ConvertError(`config.json key '${key}' must be a small non-negative integer, not ${describeValue(v)}.`);
    return v;
  };
  const expertCount = count('num_local_experts');
  const moeStep = count('interleave_moe_layer_step') ?? 0;
  const moeLayers = cfg.moe_layers ?? [];
  if ((expertCount ?? 0) > 1 || moeStep > 0 || !Array.isArray(moeLayers) || moeLayers.length > 0) {
    throw new ConvertError(`config.json describes mixture-of-experts layers (num_local_experts ${describeValue(expertCount)}, interleave_moe_layer_step ${moeStep}), which are not supported: only the dense layout of MobileLLM-R1.`, 'unsupported');
  }
  if (cfg.use_qk_norm === false) {
    throw new ConvertError('config.json sets use_qk_norm false; the llama4 layout always normalizes q and k, so this model cannot be written as llama4.', 'unsupported');
  }
  const types = cfg.layer_types;
  if (types != null) {
    if (!Array.isArray(types) || types.length !== nLayer || types.some((t) => t !== 'full_attention')) {
      throw new ConvertError(`config.json layer_types ${describeValue(types)} is not full_attention on each of ${nLayer} layers; Llama 4's chunked attention is not supported.`, 'unsupported');
    }
  } else if (cfg.attention_chunk_size != null && !(Number.isInteger(cfg.attention_chunk_size) && cfg.attention_chunk_size >= nCtx)) {
    throw new ConvertError(`config.json has attention_chunk_size ${describeValue(cfg.attention_chunk_size)} below the context ${nCtx} and no layer_types; Llama 4's chunked attention is not supported.`, 'unsupported');
  }
  let rope = cfg.no_rope_layers;
  if (rope == null || (Array.isArray(rope) && rope.length === 0)) {
    const interval = cfg.no_rope_layer_interval == null ? 4 : posInt('no_rope_layer_interval');
    rope = Array.from({ length: nLayer }, (_, i) => ((i + 1) % interval !== 0 ? 1 : 0));
  }
  if (!Array.isArray(rope) || rope.length !== nLayer || rope.some((v) => v !== 0 && v !== 1 && v !== true && v !== false)) {
    throw new ConvertError(`config.json no_rope_layers must list 0 or 1 for each of ${nLayer} layers, not ${describeValue(rope)}.`);
  }
  const ropeLayers = rope.map((v) => (v === true || v === 1 ? 1 : 0));
  const allRope = ropeLayers.every((v) => v === 1);
  let tempScale = 0;
  let tempLength = 0;
  if (!allRope && cfg.attn_temperature_tuning !== false) { // Hugging Face's default is on
    tempScale = cfg.attn_scale ?? 0.1;
    tempLength = cfg.floor_scale ?? 8192;
    if (typeof tempScale !== 'number' || !Number.isFinite(tempScale) || Math.abs(tempScale) > 1e6) throw new ConvertError(`config.json attn_scale must be a finite number, not ${describeValue(tempScale)}.`);
    if (!Number.isInteger(tempLength) || tempLength < 1 || tempLength > 1 << 24) throw new ConvertError(`config.json floor_scale must be a positive integer, not ${describeValue(tempLength)}.`);
  }
  return {
    expertCount,
    expertUsedCount: count('num_experts_per_tok'),
    expertFf: posInt('intermediate_size'),
    moeStep,
    headDimGiven: cfg.head_dim != null,
    ropeLayers: allRope ? null : ropeLayers,
    tempScale,
    tempLength,
  };
}

/**
 * MobileLLM-Pro's config.json (facebook/MobileLLM-Pro: 30 layers, layer_types full_attention on
 * layers 0, 4, ..., 28 and 29, sliding_attention elsewhere, sliding_window 512), checked for what
 * the mobilellm-p1 GGUF holds. What its published config does not say is assumed and refused
 * when a config says otherwise: dense layers (no experts), no q/k norm unless use_qk_norm is
 * true, RoPE on every layer unless no_rope_layers lists one without (1 = RoPE, as Llama 4),
 * layer_types only full_attention or sliding_attention (not Llama 4's chunked attention).
 * @param {Record<string, any>} cfg
 * @param {number} nLayer
 * @returns {ProParams}
 */
function proFromConfig(cfg, nLayer) {
  if ((cfg.num_local_experts ?? 0) > 1 || (cfg.interleave_moe_layer_step ?? 0) > 0 || (Array.isArray(cfg.moe_layers) && cfg.moe_layers.length > 0)) {
    throw new ConvertError(`config.json of MobileLLM-Pro describes mixture-of-experts layers (num_local_experts ${describeValue(cfg.num_local_experts)}, interleave_moe_layer_step ${describeValue(cfg.interleave_moe_layer_step)}), which are not supported.`, 'unsupported');
  }
  const types = cfg.layer_types;
  if (!Array.isArray(types) || types.length !== nLayer || types.some((t) => t !== 'full_attention' && t !== 'sliding_attention')) {
    throw new ConvertError(`config.json layer_types ${describeValue(types)} is not full_attention or sliding_attention on each of ${nLayer} layers, as MobileLLM-Pro's is.`, 'unsupported');
  }
  const swaLayers = types.map((t) => (t === 'sliding_attention' ? 1 : 0));
  let window = 0;
  if (swaLayers.includes(1)) {
    const w = cfg.sliding_window;
    if (!Number.isInteger(w) || w < 1 || w > 1 << 24) throw new ConvertError(`config.json sliding_window must be a positive integer for its sliding_attention layers, not ${describeValue(w)}.`);
    window = w;
  }
  if (cfg.use_qk_norm != null && typeof cfg.use_qk_norm !== 'boolean') throw new ConvertError(`config.json use_qk_norm must be true or false, not ${describeValue(cfg.use_qk_norm)}.`);
  let ropeThetaSwa = null;
  const local = cfg.rope_local_base_freq;
  if (local != null) {
    if (typeof local !== 'number' || !Number.isFinite(local) || local <= 0 || local > 3.4e38) throw new ConvertError(`config.json rope_local_base_freq must be a positive number that fits a float32, not ${describeValue(local)}.`);
    ropeThetaSwa = local;
  }
  let ropeLayers = null;
  let tempScale = 0;
  let tempLength = 0;
  const rope = cfg.no_rope_layers;
  if (rope != null && !(Array.isArray(rope) && rope.length === 0)) {
    if (!Array.isArray(rope) || rope.length !== nLayer || rope.some((v) => v !== 0 && v !== 1 && v !== true && v !== false)) {
      throw new ConvertError(`config.json no_rope_layers must list 0 or 1 for each of ${nLayer} layers, not ${describeValue(rope)}.`);
    }
    const r = rope.map((v) => (v === true || v === 1 ? 1 : 0));
    if (!r.every((v) => v === 1)) {
      ropeLayers = r;
      if (cfg.attn_temperature_tuning !== false) { // Hugging Face Llama 4's default is on
        tempScale = cfg.attn_scale ?? 0.1;
        tempLength = cfg.floor_scale ?? 8192;
        if (typeof tempScale !== 'number' || !Number.isFinite(tempScale) || Math.abs(tempScale) > 1e6) throw new ConvertError(`config.json attn_scale must be a finite number, not ${describeValue(tempScale)}.`);
        if (!Number.isInteger(tempLength) || tempLength < 1 || tempLength > 1 << 24) throw new ConvertError(`config.json floor_scale must be a positive integer, not ${describeValue(tempLength)}.`);
      }
    }
  }
  return { window, swaLayers, ropeThetaSwa, qkNorm: cfg.use_qk_norm === true, ropeLayers, tempScale, tempLength };
}

/** @param {Record<string, any>} cfg */
function isLlama4Arch(cfg) {
  return Array.isArray(cfg.architectures) && cfg.architectures.includes('Llama4ForCausalLM');
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
