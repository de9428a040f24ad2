// llama_meta.js — the general and hyperparameter metadata of a llama-architecture GGUF (plus
// this project's layer-sharing keys), written the one way the converter, the random-model tool
// and the test fixtures all write it.

import { GGUF_KEY, GGUF_ARCH, archKey } from '../../lib/gguf_keys.js';
import { GGUFValueType } from './gguf_writer.js';

/**
 * @typedef {object} LlamaMeta
 * @property {string} name           general.name
 * @property {number} ftype          general.file_type (lib/ggml_types.js ftype)
 * @property {number} nCtx
 * @property {number} nEmbd
 * @property {number} nLayer         blocks stored in the file
 * @property {number} nFf
 * @property {number} nHead
 * @property {number} nHeadKv
 * @property {number} headDim        key/value lengths are written when nHead * headDim != nEmbd
 * @property {number} ropeTheta
 * @property {number} rmsEps
 * @property {number} nVocab
 * @property {number} [shareRepeat]  with shareMode: mobilellm.layer_share.* (left out when undefined)
 * @property {string} [shareMode]
 * @property {'llama'|'llama4'|'mobilellm-p1'} [arch] general.architecture, 'llama' when undefined
 * @property {import('./hf_config.js').ProParams|null} [pro] arch 'mobilellm-p1': the window, its
 *   per-block pattern, the windowed blocks' RoPE base, q/k norm, and the RoPE pattern (models/README.md)
 * @property {import('./hf_config.js').Llama4Params|null} [llama4] arch 'llama4': the keys llama.cpp's
 *   converter adds for a dense Llama-4 text model (MobileLLM-R1), and the RoPE pattern and
 *   attention temperature when some layer has no RoPE
 */

/**
 * @param {import('./gguf_writer.js').GGUFWriter} w
 * @param {LlamaMeta} m
 */
export function addLlamaMeta(w, m) {
  const arch = m.arch ?? 'llama';
  const k = (suffix) => archKey(arch, suffix);
  w.addString(GGUF_KEY.GENERAL_ARCHITECTURE, arch);
  w.addString(GGUF_KEY.GENERAL_NAME, m.name);
  w.addU32(GGUF_KEY.GENERAL_FILE_TYPE, m.ftype);
  w.addU32(k(GGUF_ARCH.CONTEXT_LENGTH), m.nCtx);
  w.addU32(k(GGUF_ARCH.EMBEDDING_LENGTH), m.nEmbd);
  w.addU32(k(GGUF_ARCH.BLOCK_COUNT), m.nLayer);
  w.addU32(k(GGUF_ARCH.FEED_FORWARD_LENGTH), m.nFf);
  w.addU32(k(GGUF_ARCH.HEAD_COUNT), m.nHead);
  w.addU32(k(GGUF_ARCH.HEAD_COUNT_KV), m.nHeadKv);
  w.addF32(k(GGUF_ARCH.ROPE_FREQ_BASE), m.ropeTheta);
  w.addF32(k(GGUF_ARCH.RMS_EPS), m.rmsEps);
  w.addU32(k(GGUF_ARCH.ROPE_DIMENSION_COUNT), m.headDim);
  w.addU32(k(GGUF_ARCH.VOCAB_SIZE), m.nVocab);
  const l4 = arch === 'llama4' ? m.llama4 : null;
  if (m.headDim * m.nHead !== m.nEmbd || l4?.headDimGiven) {
    w.addU32(k(GGUF_ARCH.KEY_LENGTH), m.headDim);
    w.addU32(k(GGUF_ARCH.VALUE_LENGTH), m.headDim);
  }
  if (l4) {
    if (l4.expertCount !== null) w.addU32(k(GGUF_ARCH.EXPERT_COUNT), l4.expertCount);
    if (l4.expertUsedCount !== null) w.addU32(k(GGUF_ARCH.EXPERT_USED_COUNT), l4.expertUsedCount);
    w.addU32(k(GGUF_ARCH.INTERLEAVE_MOE_LAYER_STEP), l4.moeStep);
    w.addU32(k(GGUF_ARCH.EXPERT_FEED_FORWARD_LENGTH), l4.expertFf);
    w.addU32(k(GGUF_ARCH.SLIDING_WINDOW), 0); // every layer full attention (llama.cpp: "for MobileLLM")
  }
  const pro = arch === 'mobilellm-p1' ? m.pro : null;
  if (pro) {
    w.addU32(k(GGUF_ARCH.SLIDING_WINDOW), pro.window);
    if (pro.window > 0) w.addArray(k(GGUF_ARCH.SLIDING_WINDOW_PATTERN), GGUFValueType.BOOL, pro.swaLayers.map(Boolean));
    if (pro.ropeThetaSwa !== null && pro.ropeThetaSwa !== m.ropeTheta) w.addF32(k(GGUF_ARCH.ROPE_FREQ_BASE_SWA), pro.ropeThetaSwa);
    if (pro.qkNorm) w.addBool(k(GGUF_ARCH.QK_NORM), true);
  }
  const extra = l4 ?? pro;
  if (extra?.ropeLayers) w.addArray(GGUF_KEY.ROPE_LAYERS, GGUFValueType.BOOL, extra.ropeLayers.map(Boolean));
  if (extra && extra.tempScale !== 0) {
    w.addF32(k(GGUF_ARCH.TEMPERATURE_SCALE), extra.tempScale);
    w.addU32(k(GGUF_ARCH.TEMPERATURE_LENGTH), extra.tempLength);
  }
  if (m.shareRepeat !== undefined) {
    w.addU32(GGUF_KEY.SHARE_REPEAT, m.shareRepeat);
    w.addString(GGUF_KEY.SHARE_MODE, m.shareMode ?? 'immediate');
  }
}
