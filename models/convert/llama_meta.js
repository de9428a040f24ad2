// llama_meta.js — the general and hyperparameter metadata of a llama-architecture GGUF (plus
// this project's layer-sharing keys), written the one way the converter, the random-model tool
// and the test fixtures all write it.

import { GGUF_KEY, GGUF_ARCH, archKey } from '../../lib/gguf_keys.js';

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
 */

/**
 * @param {import('./gguf_writer.js').GGUFWriter} w
 * @param {LlamaMeta} m
 */
export function addLlamaMeta(w, m) {
  const k = (suffix) => archKey('llama', suffix);
  w.addString(GGUF_KEY.GENERAL_ARCHITECTURE, 'llama');
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
  if (m.headDim * m.nHead !== m.nEmbd) {
    w.addU32(k(GGUF_ARCH.KEY_LENGTH), m.headDim);
    w.addU32(k(GGUF_ARCH.VALUE_LENGTH), m.headDim);
  }
  if (m.shareRepeat !== undefined) {
    w.addU32(GGUF_KEY.SHARE_REPEAT, m.shareRepeat);
    w.addString(GGUF_KEY.SHARE_MODE, m.shareMode ?? 'immediate');
  }
}
