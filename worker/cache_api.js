// cache_api.js — MobileLLM.cache: list, delete, clear, evict, measure and read the entries of the
// model cache (IndexedDB in browsers, a directory in Node). Listings and usage count the bytes
// really stored. Deleting an entry another tab or process is downloading stops that download
// (its next write is refused, a 'cache' error there); deleting one it is loading fails that load
// with a 'cache' error; a model already loaded keeps working from its own in-memory copy.

import { openStore } from './cache.js';
import { describeEntry } from './cache_entry.js';
import { readEntryInto } from './cache_reader.js';
import { evictEntries } from './cache_evict.js';
import { ArgumentError, FormatError, StateError, toApiError } from './errors.js';

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
   * Make room: delete partial entries first, then complete ones least recently used first, until
   * the cache holds at most `keep` bytes (default 0); entries a tab or process is writing now are
   * left alone.
   * @param {{keep?: number, cacheDir?: string}} [o]
   * @returns {Promise<{evicted: string[], freedBytes: number, usage: number}>}
   */
  async evict(o = {}) {
    const keep = o.keep ?? 0;
    if (typeof keep !== 'number' || !Number.isFinite(keep) || keep < 0) {
      throw new ArgumentError('evict({ keep }) takes the bytes the cache may keep, a number of at least 0.');
    }
    const store = await openStore(o);
    return evictEntries(store, { keep });
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
