// ids.js — the deterministic benchmark prompt, shared by the page and the worker (the same
// ids `mobilellm bench` uses).
export function promptIds(P, nVocab = 32000, offset = 0) {
  return Array.from({ length: P }, (_, i) => 100 + (((offset + i) * 7919) % Math.max(1, nVocab - 100)));
}
