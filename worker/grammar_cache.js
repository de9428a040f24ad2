// grammar_cache.js — compiled grammars kept by their GBNF text, so that generate() calls with the
// same grammar or JSON schema (a chat's response_format on every turn) compile it once. A few
// entries, least recently used dropped first; the owner frees them all with the model.

import { Grammar } from '../wasm_build/engine.js';

/** Grammars kept: a chat uses one, an app a handful. */
export const GRAMMAR_CACHE_SIZE = 4;

export class GrammarCache {
  /** @param {import('../wasm_build/engine.js').Model} model the model they are compiled against */
  constructor(model, size = GRAMMAR_CACHE_SIZE) {
    this.model = model;
    this.size = size;
    /** @type {Map<string, Grammar>} in order of use, the least recent first */
    this.entries = new Map();
  }

  /**
   * The compiled grammar of `text`, compiled now if it is not kept. It stays owned by the cache
   * and valid until the next get() (which may drop it) or free().
   * @param {string} text
   * @returns {Grammar}
   */
  get(text) {
    let g = this.entries.get(text);
    if (g) {
      this.entries.delete(text);
    } else {
      g = new Grammar(this.model, text); // a grammar that does not compile throws and is not kept
      while (this.entries.size >= this.size) {
        const [oldest, old] = this.entries.entries().next().value;
        this.entries.delete(oldest);
        old.free();
      }
    }
    this.entries.set(text, g);
    return g;
  }

  /** Free every kept grammar. */
  free() {
    for (const g of this.entries.values()) g.free();
    this.entries.clear();
  }
}
