// memory.js — how much wasm memory a model may use in this browser. wasm32 addresses 4 GiB, but
// Safari on iPhone and iPad kills a page well below that (reports put it near 1.5 GB), losing
// everything in it; the engine refuses a model before growing past the limit instead, with a
// 'nomem' error naming the sizes, and the page lives on.

/** The wasm32 address space: the most any engine build can grow to. */
export const WASM32_BYTES = 2 ** 32;
/** What Safari on iOS / iPadOS reliably grants one page. */
export const MOBILE_SAFARI_BYTES = 1.5e9;

/**
 * The default `memoryLimit` here: mobile WebKit's, else the wasm32 space.
 * @param {{userAgent?: string}} [nav]
 * @returns {number}
 */
export function defaultMemoryLimit(nav = globalThis.navigator) {
  const ua = nav?.userAgent ?? '';
  return /\b(iPhone|iPad|iPod)\b/.test(ua) ? MOBILE_SAFARI_BYTES : WASM32_BYTES;
}

/**
 * Bytes a context of nCtx tokens adds: the f32 K and V caches of every effective layer
 * (src/forward.c), which dwarf its scratch.
 * @param {{nLayerEffective: number, nHeadKv: number, headDim: number}} info
 * @param {number} nCtx
 */
export function contextBytes(info, nCtx) {
  return 2 * 4 * info.nLayerEffective * nCtx * info.nHeadKv * info.headDim;
}
