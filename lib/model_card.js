// model_card.js — the model card's lines in words, from a model's info (Model.info: the engine's
// facts plus the file's names): family, layout, attention pattern, RoPE, q/k norm, layer
// sharing, context, vocabulary and tokenizer, weight-type mix. The demo page shows them and
// `mobilellm info` prints them as its "card".

/** Sorted layer indices as ranges: [0, 1, 2, 4, 6, 7] -> "0-2, 4, 6-7". */
export function layerRanges(ids) {
  const out = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === ids[j] + 1) j++;
    out.push(j === i ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j;
  }
  return out.join(', ');
}

/** Indices 0..n-1 not in `ids` (sorted). */
function others(ids, n) {
  const s = new Set(ids);
  return Array.from({ length: n }, (_, i) => i).filter((i) => !s.has(i));
}

/** @param {number} n @param {string} one */
const count = (n, one) => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * @param {{nLayerEffective: number, attention: string, slidingWindow: number, windowedLayers: number[]}} info
 * @returns {string}
 */
export function describeAttention(info) {
  const n = info.nLayerEffective;
  if (info.attention === 'global') return `global (every layer sees the whole context)`;
  if (info.attention === 'local') return `local: every layer sees the last ${info.slidingWindow} positions`;
  const global = others(info.windowedLayers, n);
  return `local-global ${info.windowedLayers.length}:${global.length}: ${count(info.windowedLayers.length, 'layer')} see the last ${info.slidingWindow} positions, ` +
    `global layers ${layerRanges(global)}`;
}

/**
 * @param {{nLayerEffective: number, ropeLayers: number[], ropeTheta: number, ropeThetaWindowed?: number|null, qkNorm: boolean}} info
 * @returns {string}
 */
export function describeRope(info) {
  const n = info.nLayerEffective, k = info.ropeLayers.length;
  const where = k === n ? 'every layer' : k === 0 ? 'no layer' : `layers ${layerRanges(info.ropeLayers)} (none on ${layerRanges(others(info.ropeLayers, n))})`;
  const base = !k ? '' : info.ropeThetaWindowed == null ? `, base ${info.ropeTheta}`
    : `, base ${info.ropeTheta} (windowed layers ${info.ropeThetaWindowed})`;
  return `${where}${base}${info.qkNorm ? '; q/k RMS norm after RoPE' : ''}`;
}

/** @param {{weightTypes: {type: string, tensors: number, bytes: number}[], weightBytes: number}} info */
export function describeWeightTypes(info) {
  const total = info.weightTypes.reduce((s, t) => s + t.bytes, 0) || 1;
  return info.weightTypes.map((t) => `${t.type} ${(100 * t.bytes / total).toFixed(1)}% (${count(t.tensors, 'tensor')})`).join(' · ');
}

const TOKENIZERS = { llama: 'SentencePiece BPE (LLaMA)', gpt2: 'byte-level BPE (GPT-2 style)' };

/**
 * The card as label -> text, in display order.
 * @param {Record<string, any>} info Model.info
 * @returns {Record<string, string>}
 */
export function modelCard(info) {
  const share = info.shareRepeat > 1
    ? `each of ${info.nLayerStored} blocks runs x${info.shareRepeat} (${info.shareMode}): ${info.nLayerEffective} layers`
    : 'none';
  return {
    family: info.family,
    layout: info.architecture ?? 'unknown',
    attention: describeAttention(info),
    rope: describeRope(info),
    layerSharing: share,
    context: `${info.nCtxTrain} tokens (trained)`,
    vocabulary: `${info.nVocab} tokens, ${TOKENIZERS[info.tokenizer] ?? info.tokenizer}${info.preTokenizer ? `, pre-tokenizer ${info.preTokenizer}` : ''}`,
    weights: describeWeightTypes(info),
  };
}
