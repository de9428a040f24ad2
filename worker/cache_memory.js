// cache_memory.js — a cache store in memory, for loads with caching off (and where IndexedDB is
// missing); entries go when the page or process does. Same generation rules as the others.

import { EntryGoneError } from './cache_entry.js';

/** @typedef {import('./cache_entry.js').Store} Store */
/** @typedef {import('./cache_entry.js').EntryMeta} EntryMeta */

/** @implements {Store} */
export class MemoryStore {
  constructor() {
    this.kind = 'memory';
    /** @type {Map<string, {meta: EntryMeta, chunks: Uint8Array[]}>} */
    this.entries = new Map();
  }
  async getMeta(id) { const e = this.entries.get(id); return e ? structuredClone(e.meta) : null; }
  /** @param {EntryMeta} meta @param {{create?: boolean}} o */
  #check(meta, o) {
    const e = this.entries.get(meta.id);
    if (e ? e.meta.gen !== meta.gen : !o.create) throw new EntryGoneError(meta.id, 'being written');
    if (!e) this.entries.set(meta.id, { meta: structuredClone(meta), chunks: [] });
    return /** @type {{meta: EntryMeta, chunks: Uint8Array[]}} */ (this.entries.get(meta.id));
  }
  async putMeta(meta, o = {}) { this.#check(meta, o).meta = structuredClone(meta); }
  async putChunk(meta, index, bytes, o = {}) {
    const e = this.#check(meta, o);
    e.meta = structuredClone(meta);
    e.chunks[index] = bytes.slice();
  }
  async touch(meta) { const e = this.entries.get(meta.id); if (e && e.meta.gen === meta.gen) e.meta.lastUsed = Date.now(); }
  async getChunk(id, index, length, gen) {
    const e = this.entries.get(id);
    if (gen !== undefined && (!e || e.meta.gen !== (gen ?? undefined))) throw new EntryGoneError(id, 'being read');
    const c = e?.chunks[index];
    return c ? c.subarray(0, length) : new Uint8Array(0);
  }
  async deleteEntry(id) { this.entries.delete(id); }
  async list() {
    return [...this.entries.values()].map((e) => {
      let present = 0;
      while (e.chunks[present]) present++;
      const stored = Math.min(e.meta.stored, present * e.meta.chunkSize);
      return { ...structuredClone(e.meta), stored, complete: e.meta.complete && stored === e.meta.stored };
    });
  }
  async estimate() { return {}; }
  async probe() {}
  async lock() { return async () => {}; }
  async isLocked() { return false; }
}
