// quant_recipe.js — llama.cpp's per-tensor type choices for a file type ("q4_k_m", ...), as
// llama-quantize makes them without an importance matrix (src/llama-quant.cpp:
// llama_tensor_get_type, its _impl and tensor_type_fallback), for the llama architecture
// this converter writes (no experts, not Falcon, no 70B rule).
//
//   const types = planTensorTypes('q4_k_m', [{ name: 'blk.0.attn_v.weight', ne: [576, 192] }, ...],
//                                 { nLayer: 30, nHead: 9, nHeadKv: 3 });
//   types.get('blk.0.attn_v.weight')  // GGMLType.Q6_K

import { GGMLType, ggmlType, OUTPUT_TYPES } from '../../lib/ggml_types.js';

/** @param {number} t @returns {number} elements per block of ggml type t */
const ggmlBlockSize = (t) => /** @type {import('../../lib/ggml_types.js').GgmlTypeInfo} */ (ggmlType(t)).blockElems;

const T = GGMLType;

/**
 * File types: llama.cpp's general.file_type (llama_ftype) and its default tensor type
 * (llama_ftype_get_default_type). The single-type ones are lib/ggml_types.js's OUTPUT_TYPES;
 * the K mixes are llama.cpp's LLAMA_FTYPE_MOSTLY_Q3_K_S .. Q5_K_M.
 * @type {Readonly<Record<string, {ftype: number, base: number}>>}
 */
export const FILE_TYPES = Object.freeze({
  ...Object.fromEntries(Object.entries(OUTPUT_TYPES).map(([name, t]) => [name, Object.freeze({ ftype: /** @type {number} */ (t.ftype), base: t.id })])),
  q3_k_s: { ftype: 11, base: T.Q3_K },
  q3_k_m: { ftype: 12, base: T.Q3_K },
  q3_k_l: { ftype: 13, base: T.Q3_K },
  q4_k_s: { ftype: 14, base: T.Q4_K },
  q4_k_m: { ftype: 15, base: T.Q4_K },
  q5_k_s: { ftype: 16, base: T.Q5_K },
  q5_k_m: { ftype: 17, base: T.Q5_K },
});

const QUANTIZED = new Set([T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K, T.IQ4_NL, T.IQ4_XS]);

/** llama.cpp's tensor_get_category. @param {string} n */
function category(n) {
  if (n === 'output.weight') return 'output';
  if (n === 'token_embd.weight' || n === 'per_layer_token_embd.weight') return 'token_embd';
  for (const [key, cat] of [['attn_qkv.weight', 'attn_qkv'], ['attn_kv_b.weight', 'attn_kv_b'], ['attn_v.weight', 'attn_v'],
    ['attn_k.weight', 'attn_k'], ['attn_q.weight', 'attn_q'], ['attn_output.weight', 'attn_output'],
    ['ffn_up', 'ffn_up'], ['ffn_gate', 'ffn_gate'], ['ffn_down', 'ffn_down']]) {
    if (n.includes(key)) return cat;
  }
  return 'other';
}

const isAttnV = (c) => c === 'attn_v' || c === 'attn_qkv' || c === 'attn_kv_b';

/** llama.cpp's tensor_allows_quantization for this converter's tensors (ggml_n_dims >= 2). */
function allowsQuantization(name, ne) {
  let nDims = 1;
  for (let i = ne.length - 1; i >= 1; i--) if (ne[i] !== 1) { nDims = i + 1; break; }
  return nDims >= 2 && name.endsWith('weight') && !name.includes('_norm.weight');
}

/** llama-quantize's tensor order: by block number (-1 outside blocks), then by name. */
function layerOf(name) {
  const m = /^blk\.(\d+)\./.exec(name);
  return m ? Number(m[1]) : -1;
}

/**
 * The ggml type llama-quantize gives each tensor for file type `fileType` (a FILE_TYPES key).
 * Tensors it does not quantize (norms, 1-D) keep F32, as the converter writes them.
 * @param {string} fileType
 * @param {{name: string, ne: number[]}[]} tensors every tensor of the file (ne: ggml order, ne[0] = row length)
 * @param {{nLayer: number, nHead: number, nHeadKv: number}} hp nLayer: block_count
 * @returns {Map<string, number>}
 */
export function planTensorTypes(fileType, tensors, hp) {
  const ft = Object.hasOwn(FILE_TYPES, fileType) ? FILE_TYPES[fileType] : undefined;
  if (!ft) throw new RangeError(`unknown file type '${fileType}'`);
  const ftype = fileType;
  const sorted = [...tensors].sort((a, b) => layerOf(a.name) - layerOf(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const tied = !tensors.some((t) => t.name === 'output.weight');
  const nGqa = Math.floor(hp.nHead / hp.nHeadKv);
  const nAttnV = tensors.filter((t) => isAttnV(category(t.name))).length;
  const nFfnDown = hp.nLayer;
  const qs = { iAttnV: 0, iFfnDown: 0 };
  const useMoreBits = (i, n) => i < Math.floor(n / 8) || i >= Math.floor((7 * n) / 8) || (i - Math.floor(n / 8)) % 3 === 2;

  /** llama_tensor_get_type_impl for the ftypes of FILE_TYPES (no imatrix, arch llama). */
  const impl = (type, t, cat) => {
    if (cat === 'output' || (tied && cat === 'token_embd')) {
      const nx = t.ne[0];
      if (nx % ggmlBlockSize(type) !== 0) type = T.Q8_0;
      else if (type !== T.Q8_0) type = T.Q6_K;
    } else if (cat === 'token_embd') {
      // (only the IQ1/IQ2/IQ3/TQ/Q2_0 file types change it)
    } else if (isAttnV(cat)) {
      if (ftype === 'q2_k') type = nGqa >= 4 ? T.Q4_K : T.Q3_K;
      else if (ftype === 'q3_k_m') type = qs.iAttnV < 2 ? T.Q5_K : T.Q4_K;
      else if (ftype === 'q3_k_l') type = T.Q5_K;
      else if ((ftype === 'iq4_nl' || ftype === 'iq4_xs') && nGqa >= 4) type = T.Q5_K;
      else if ((ftype === 'q4_k_m' || ftype === 'q5_k_m') && useMoreBits(qs.iAttnV, nAttnV)) type = T.Q6_K;
      else if (ftype === 'q4_k_s' && qs.iAttnV < 4) type = T.Q5_K;
      ++qs.iAttnV;
    } else if (cat === 'ffn_down') {
      const i = qs.iFfnDown, n = nFfnDown;
      if (ftype === 'q2_k') type = T.Q3_K;
      else if (ftype === 'q3_k_m') type = i < Math.floor(n / 16) ? T.Q5_K : T.Q4_K;
      else if (ftype === 'q3_k_l') type = T.Q5_K;
      else if (ftype === 'q4_k_m') { if (useMoreBits(i, n)) type = T.Q6_K; }
      else if (i < Math.floor(n / 8) && (ftype === 'iq4_nl' || ftype === 'iq4_xs')) type = T.Q5_K;
      else if (ftype === 'q5_k_m' && useMoreBits(i, n)) type = T.Q6_K;
      else if (ftype === 'q4_k_s' && i < Math.floor(n / 8)) type = T.Q5_K;
      ++qs.iFfnDown;
    } else if (cat === 'attn_output') {
      if (ftype === 'q2_k') type = T.Q3_K;
      else if (ftype === 'q3_k_m') type = T.Q4_K;
      else if (ftype === 'q3_k_l') type = T.Q5_K;
    } else if (cat === 'attn_qkv') {
      if (ftype === 'q3_k_m' || ftype === 'q3_k_l') type = T.Q4_K;
      else if (ftype === 'q4_k_m') type = T.Q5_K;
      else if (ftype === 'q5_k_m') type = T.Q6_K;
    }
    return type;
  };

  /** tensor_type_fallback: a row that is not whole blocks of the chosen type. */
  const fallback = (type, t) => {
    const ncols = t.ne[0];
    if (ncols % ggmlBlockSize(type) === 0) return type;
    const alt = { [T.IQ4_XS]: T.IQ4_NL, [T.Q2_K]: T.Q4_0, [T.Q3_K]: T.Q4_0, [T.Q4_K]: T.Q5_0, [T.Q5_K]: T.Q5_1, [T.Q6_K]: T.Q8_0 }[type] ?? type;
    return ncols % ggmlBlockSize(alt) === 0 ? alt : T.F16;
  };

  const out = new Map();
  for (const t of sorted) {
    if (!allowsQuantization(t.name, t.ne)) { out.set(t.name, T.F32); continue; }
    let type = ft.base;
    if (QUANTIZED.has(type)) {
      type = impl(type, t, category(t.name));
      type = fallback(type, t);
    }
    out.set(t.name, type);
  }
  return out;
}
