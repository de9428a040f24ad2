// ggml_types.js — the weight-type facts of the JS side, one row per ggml type id: name, block
// size, bytes per block, whether it is quantized, whether the engine computes with it, and
// whether the converter writes it (with llama.cpp's general.file_type for such a file). The
// engine's C table is the other source; tests/node/ggml_types.test.js holds the two equal and
// checks both against ggml itself.

/** [ggml type id, name, elements per block, bytes per block] of every type ggml defines. */
const GGML = [
  [0, 'F32', 1, 4], [1, 'F16', 1, 2], [2, 'Q4_0', 32, 18], [3, 'Q4_1', 32, 20], [6, 'Q5_0', 32, 22],
  [7, 'Q5_1', 32, 24], [8, 'Q8_0', 32, 34], [9, 'Q8_1', 32, 36], [10, 'Q2_K', 256, 84], [11, 'Q3_K', 256, 110],
  [12, 'Q4_K', 256, 144], [13, 'Q5_K', 256, 176], [14, 'Q6_K', 256, 210], [15, 'Q8_K', 256, 292],
  [16, 'IQ2_XXS', 256, 66], [17, 'IQ2_XS', 256, 74], [18, 'IQ3_XXS', 256, 98], [19, 'IQ1_S', 256, 50],
  [20, 'IQ4_NL', 32, 18], [21, 'IQ3_S', 256, 110], [22, 'IQ2_S', 256, 82], [23, 'IQ4_XS', 256, 136],
  [24, 'I8', 1, 1], [25, 'I16', 1, 2], [26, 'I32', 1, 4], [27, 'I64', 1, 8], [28, 'F64', 1, 8],
  [29, 'IQ1_M', 256, 56], [30, 'BF16', 1, 2], [34, 'TQ1_0', 256, 54], [35, 'TQ2_0', 256, 66],
  [39, 'MXFP4', 32, 17], [40, 'NVFP4', 64, 36], [41, 'Q1_0', 128, 18], [42, 'Q2_0', 64, 18],
];

/** The types the engine computes with (weights of other types are refused at load). */
const ENGINE = new Set(['F32', 'F16', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K',
  'IQ4_NL', 'IQ4_XS', 'BF16']);

/** The types the converter writes as a whole file (every quantizable tensor of that type, as
 * llama.cpp's recipe allows), with llama_ftype (general.file_type: LLAMA_FTYPE_MOSTLY_<name>,
 * ALL_F32 for F32). The mixed file types (q4_k_m, ...) are recipes: models/convert/quant_recipe.js. */
const FTYPE = { F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q6_K: 18, IQ4_NL: 25, IQ4_XS: 30,
  BF16: 32 };

/**
 * @typedef {object} GgmlTypeInfo
 * @property {number} id          ggml type id (as stored in GGUF tensor infos)
 * @property {string} name        ggml's name, upper case ('Q8_0')
 * @property {number} blockElems  elements per block (1 for plain number types)
 * @property {number} blockBytes  bytes per block
 * @property {boolean} quantized  values stored in blocks with shared scales
 * @property {boolean} engine     the engine computes with it
 * @property {number|null} ftype  general.file_type of a converted file of this type; null: not written
 */

/** @type {readonly GgmlTypeInfo[]} every ggml type, by id */
export const GGML_TYPES = Object.freeze(GGML.map(([id, name, blockElems, blockBytes]) => Object.freeze({
  id, name, blockElems, blockBytes, quantized: blockElems > 1, engine: ENGINE.has(name), ftype: FTYPE[name] ?? null,
})));

/** ggml type ids by name: GGMLType.Q8_0 === 8. */
export const GGMLType = Object.freeze(Object.fromEntries(GGML_TYPES.map((t) => [t.name, t.id])));

const BY_ID = new Map(GGML_TYPES.map((t) => [t.id, t]));

/** @param {number} id @returns {GgmlTypeInfo|null} the row of a ggml type id, null for ids ggml does not define */
export function ggmlType(id) {
  return BY_ID.get(id) ?? null;
}

/** Single-type output files of the converter by lower-case name ('q8_0'), in id order. */
export const OUTPUT_TYPES = Object.freeze(Object.fromEntries(
  GGML_TYPES.filter((t) => t.ftype !== null).map((t) => [t.name.toLowerCase(), t])));
