// cache_api.js — MobileLLM.cache: list, delete, clear, measure and read the entries of the model
// cache (IndexedDB in browsers, a directory in Node).

import { openStore } from './cache.js';
import { describeEntry } from './cache_entry.js';
import { readEntryInto } from './cache_reader.js';
import { FormatError, StateError, toApiError } from './errors.js';

/** The model cache (IndexedDB in browsers, a directory in Node): MobileLLM.cache. */
export const cacheApi = {
  /**
   * @param {{cacheDir?: string}} [o]
   */
  async list(o = {}) {
    const store = await openStore(o);
    return (await store.list()).map(describeEntry).sort((a, b) => a.key.localeCompare(b.key));
  },
  /** @param {string} key @param {{cacheDir?: string}} [o] @returns {Promise<boolean>} whether it existed */
  async delete(key, o = {}) {
    const store = await openStore(o);
    const had = !!(await store.getMeta(key));
    await store.deleteEntry(key);
    return had;
  },
  /** @param {{cacheDir?: string}} [o] @returns {Promise<number>} entries deleted */
  async clear(o = {}) {
    const store = await openStore(o);
    const all = await store.list();
    for (const m of all) await store.deleteEntry(m.id);
    return all.length;
  },
  /**
   * Bytes our entries use, and the storage quota / free space (null when unknown).
   * @param {{cacheDir?: string}} [o]
   */
  async usage(o = {}) {
    const store = await openStore(o);
    const all = await store.list();
    const est = await store.estimate();
    return {
      usage: all.reduce((s, m) => s + (m.stored ?? 0), 0), entries: all.length,
      quota: est.quota ?? null, free: est.free ?? null, store: store.kind,
    };
  },
  /**
   * A complete entry's bytes, checked against its checksums (export, tests).
   * @param {string} key @param {{cacheDir?: string}} [o] @returns {Promise<Uint8Array>}
   */
  async read(key, o = {}) {
    const store = await openStore(o);
    const meta = await store.getMeta(key);
    if (!meta?.complete) throw new StateError(`The cache has no complete entry '${key}'.`);
    const bytes = new Uint8Array(meta.size);
    try {
      await readEntryInto(store, meta, (off, len) => bytes.subarray(off, off + len));
    } catch (e) {
      throw e?.name === 'CorruptEntryError' ? new FormatError(e.message) : toApiError(e);
    }
    return bytes;
  },
};
