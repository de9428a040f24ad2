// cache_memory.js — a cache store in memory, for loads with caching off (and where IndexedDB is
// missing); entries go when the page or process does.

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
  async putMeta(meta) {
    const e = this.entries.get(meta.id);
    if (e) e.meta = structuredClone(meta); else this.entries.set(meta.id, { meta: structuredClone(meta), chunks: [] });
  }
  async putChunk(meta, index, bytes) {
    await this.putMeta(meta);
    this.entries.get(meta.id).chunks[index] = bytes.slice();
  }
  async getChunk(id, index, length) {
    const c = this.entries.get(id)?.chunks[index];
    return c ? c.subarray(0, length) : new Uint8Array(0);
  }
  async deleteEntry(id) { this.entries.delete(id); }
  async list() { return [...this.entries.values()].map((e) => structuredClone(e.meta)); }
  async estimate() { return {}; }
}
